"""Demo commercial requests: a few dozen per department, so the Requests page shows every
case "Create deal" handles. Some come from existing contacts and open leads (they match),
some from new people at known companies (a contact is created), some from unknown companies
(a lead is created). Deterministic, and a fraction of a second at any demo size."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from crm.access import Condition
from crm.common.clock import now
from crm.common.names import ascii_fold
from crm.pipeline.requests import insert_request, refresh_match_hints
from crm.storage.db import Session

PER_KIND = 6  # requests of each kind per department
_SUBJECTS = (
    ("Quote for 200 units", "Could you send us a quote for 200 units, delivered next month?"),
    ("Price list", "Please send your current price list and delivery terms."),
    ("Becoming a distributor", "We distribute in our region and would like to carry your "
                               "products. Who can we talk to?"),
    ("Product demo", "We would like a demonstration for our engineering team."),
    ("Spare parts", "We need spare parts for a machine bought in 2021. Serial number "
                    "attached."),
    ("Service contract", "What would a yearly service contract cost for three sites?"),
)
_NEW_PEOPLE = (("Mara", "Lindqvist"), ("Jonas", "Ferreira"), ("Aiko", "Tanaka"),
               ("Omar", "Haddad"), ("Lucía", "Romero"), ("Pieter", "de Vries"))
_NEW_COMPANIES = ("Bluefin Robotics", "Kestrel Foods", "Polaris Hydraulics",
                  "Amberline Textiles", "Corvid Analytics", "Tidewater Logistics")


def add_demo_requests(tx: Session) -> int:
    """Add the demo requests to a freshly loaded demo database; returns how many."""
    sources = {r["name"]: r["id"] for r in tx.fetch_all("SELECT id, name FROM lead_sources")}
    channel_source = (("form", "Website form"), ("manual", "Email request"),
                      ("manual", "Phone call"), ("import", "Trade show"))
    added = 0
    for department in tx.fetch_all("SELECT id FROM departments ORDER BY id"):
        for n, person in enumerate(_people(tx, department["id"])):
            subject, message = _SUBJECTS[n % len(_SUBJECTS)]
            channel, source = channel_source[n % len(channel_source)]
            row = {**person, "subject": subject, "message": message,
                   "lead_source_id": sources.get(source), "department_id": department["id"],
                   "newsletter_opt_in": n % 3 == 0}
            insert_request(tx, None, row, channel, hints=False,
                           received_at=now() - timedelta(hours=7 * n + department["id"]))
            added += 1
    refresh_match_hints(tx, Condition("TRUE"))
    return added


def _people(tx: Session, department_id: int) -> list[dict[str, Any]]:
    """Who writes in: existing contacts and open leads, new people at known companies, and
    people from companies nobody knows yet."""
    contacts = tx.fetch_all(
        "SELECT c.first_name, c.last_name, c.email, c.phone, co.name AS company_name, "
        "c.country_code, c.city FROM contacts c JOIN companies co ON co.id = c.company_id "
        "WHERE c.department_id = ? AND c.email <> '' ORDER BY c.id LIMIT ?",
        (department_id, PER_KIND))
    leads = tx.fetch_all(
        "SELECT first_name, last_name, email, phone, company_name, country_code, city "
        "FROM leads WHERE department_id = ? AND converted_at IS NULL AND email <> '' "
        "ORDER BY id DESC LIMIT ?", (department_id, PER_KIND))
    known = tx.fetch_all(
        "SELECT name, website, country_code, city FROM companies WHERE department_id = ? "
        "AND website <> '' ORDER BY id LIMIT ?", (department_id, PER_KIND))
    newcomers = []
    for (first, last), at in zip(_NEW_PEOPLE, known, strict=False):
        domain = at["website"].split("//")[-1].removeprefix("www.").split("/")[0]
        newcomers.append({"first_name": first, "last_name": last,
                          "email": ascii_fold(f"{first}.{last}@{domain}").lower().replace(" ", ""),
                          "phone": "", "company_name": at["name"],
                          "country_code": at["country_code"], "city": at["city"]})
    strangers = [{"first_name": first, "last_name": last, "email": "",
                  "phone": f"+1 555 01{department_id}{n}", "company_name": name,
                  "country_code": None, "city": ""}
                 for n, ((first, last), name) in enumerate(zip(_NEW_PEOPLE, _NEW_COMPANIES,
                                                                strict=True))]
    return [*contacts, *leads, *newcomers, *strangers]
