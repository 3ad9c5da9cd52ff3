"""Figures for the first page: what the signed-in user's scope holds."""

from __future__ import annotations

from dataclasses import dataclass

from crm.access import Entity, scope
from crm.db import Database
from crm.newsletter import NewsletterStatus, status_sql
from crm.users import User


@dataclass(frozen=True)
class ScopeFigures:
    leads: int
    open_leads: int
    contacts: int
    companies: int
    vip_contacts: int
    contact_status: dict[NewsletterStatus, int]


def scope_figures(user: User, db: Database) -> ScopeFigures:
    """Counts inside the user's scope only; computed in SQL."""
    leads = scope(user, Entity.LEAD)
    contacts = scope(user, Entity.CONTACT)
    companies = scope(user, Entity.COMPANY)
    with db.transaction() as tx:
        lead_row = tx.fetch_one(
            "SELECT count(*) AS total, "
            "count(*) FILTER (WHERE NOT disqualified AND converted_at IS NULL) AS open "
            f"FROM leads WHERE {leads.sql}",
            leads.params,
        )
        contact_rows = tx.fetch_all(
            f"SELECT {status_sql()} AS status, count(*) AS n, "
            "count(*) FILTER (WHERE vip) AS vip "
            f"FROM contacts WHERE {contacts.sql} GROUP BY 1",
            contacts.params,
        )
        company_count = tx.scalar(f"SELECT count(*) FROM companies WHERE {companies.sql}",
                                  companies.params)
    by_status = {s: 0 for s in NewsletterStatus}
    for row in contact_rows:
        by_status[NewsletterStatus(row["status"])] = int(row["n"])
    return ScopeFigures(
        leads=int(lead_row["total"]),
        open_leads=int(lead_row["open"] or 0),
        contacts=sum(by_status.values()),
        companies=int(company_count),
        vip_contacts=sum(int(r["vip"]) for r in contact_rows),
        contact_status=by_status,
    )

