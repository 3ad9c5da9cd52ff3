"""Reference data every installation needs: the ISO 3166 country list and starter vocabularies.

Vocabularies (industries, company types, lead sources) are editable afterwards; these are the
values a new sales organisation expects to find.
"""

from __future__ import annotations

import pycountry

from crm.db import Session

INDUSTRIES = [
    "Agriculture", "Automotive", "Chemicals", "Construction", "Consumer goods", "Education",
    "Energy", "Financial services", "Food and beverage", "Healthcare", "Hospitality",
    "Information technology", "Logistics", "Machinery", "Media", "Mining", "Pharmaceuticals",
    "Public sector", "Retail", "Telecommunications", "Textiles",
]
COMPANY_TYPES = ["Distributor", "Dealer", "Reseller", "End customer", "Competitor", "Partner"]
LEAD_SOURCES = [
    "Website form", "Email request", "Phone call", "Trade show", "Referral", "Advertising",
    "Social media", "Manual entry", "Import",
]


def apply(tx: Session) -> None:
    for country in pycountry.countries:
        name = getattr(country, "common_name", None) or country.name
        tx.execute(
            "INSERT INTO countries (code, alpha3, name) VALUES (?, ?, ?)",
            (country.alpha_2, country.alpha_3, name),
        )
    for table, names in (
        ("industries", INDUSTRIES),
        ("company_types", COMPANY_TYPES),
        ("lead_sources", LEAD_SOURCES),
    ):
        for name in names:
            tx.execute(f"INSERT INTO {table} (name) VALUES (?)", (name,))
