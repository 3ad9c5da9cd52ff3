"""Reference data every installation needs: the ISO 3166 country list and starter vocabularies.

Vocabularies (industries, company types, lead sources) are editable afterwards; these are the
values a new sales organisation expects to find.
"""

from __future__ import annotations

import pycountry

from crm.storage.db import Session

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
    countries = [
        (c.alpha_2, c.alpha_3, getattr(c, "common_name", None) or c.name)
        for c in pycountry.countries
    ]
    _insert_many(tx, "countries (code, alpha3, name)", countries)
    for table, names in (
        ("industries", INDUSTRIES),
        ("company_types", COMPANY_TYPES),
        ("lead_sources", LEAD_SOURCES),
    ):
        _insert_many(tx, f"{table} (name)", [(name,) for name in names])


def _insert_many(tx: Session, target: str, rows: list[tuple]) -> None:
    """One multi-row INSERT: far faster than a statement per row on both backends."""
    marks = ", ".join("(" + ", ".join("?" for _ in rows[0]) + ")" for _ in rows)
    tx.execute(f"INSERT INTO {target} VALUES {marks}", [v for row in rows for v in row])
