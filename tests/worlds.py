"""The worlds that several test modules share, each built once here: the page tests and the
service tests of the same feature see the same records, described beside the code that makes
them. Each builds on tests.factories.world (East and West, a user of every role).

Not a test module: a module's `world` fixture calls one of these.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from crm.access import Entity
from crm.lists.listing import ListQuery
from crm.storage import search
from crm.storage.db import Database
from tests import factories
from tests.factories import World

# The segments world's saved queries: contacts never mailed ("red"), and the VIPs.
RED = ListQuery(filters={"newsletter": ("not_mailed",)})
VIP = ListQuery(filters={"vip": ("yes",)})


def leads(db: Database) -> World:
    """East: Eastlead (no country) plus Adler (DE, VIP), Becker (FR), Conrad (DE, the newest).
    West: Westlead plus Wagner (DE, VIP)."""
    w = factories.world(db)
    sales, sales2 = w.users["sales_east"], w.users["sales_east_2"]
    base = datetime(2026, 3, 1, 9, 0)
    specs = [
        # last name, first name, department, owner, country, vip, company
        ("Adler", "Anna", w.east, sales, "DE", True, "Adler Maschinenbau"),
        ("Becker", "Bernd", w.east, sales, "FR", False, "Boulangerie Becker"),
        ("Conrad", "Clara", w.east, sales2, "DE", False, "Conrad Elektronik"),
        ("Wagner", "Wim", w.west, w.users["sales_west"], "DE", True, "Wagner Logistics"),
    ]
    for n, (last, first, department, owner, country, vip, company) in enumerate(specs, 1):
        stamp = base + timedelta(days=n)
        w.leads[last] = factories.lead(
            db, last, department, owner, first_name=first, country_code=country, vip=vip,
            email=f"{first.lower()}@{last.lower()}.example", company_name=company,
            created_at=stamp, updated_at=stamp)
    with db.transaction() as tx:
        search.refresh(tx, Entity.LEAD)
    return w


def segments(db: Database) -> World:
    """Contacts by newsletter status and VIP: East: Eastone (sales.east, red, VIP), Easttwo
    (sales.east2, red), Eastthree (sales.east, gray). West: Westone (sales.west, red, VIP),
    Westsuper (super.operator, turquoise)."""
    w = factories.world(db)
    w.contacts["east_three"] = factories.contact(
        db, "Eastthree", w.companies["east"], w.east, w.users["sales_east"],
        newsletter_opt_in=False)
    with db.transaction() as tx:
        tx.execute("UPDATE contacts SET vip = TRUE WHERE id IN (?, ?)",
                   (w.contacts["east_mine"], w.contacts["west"]))
        tx.execute("UPDATE contacts SET last_mailed_at = ? WHERE id = ?",
                   (datetime(2026, 2, 1), w.contacts["west_super"]))
    return w


def overview(db: Database) -> World:
    """Leads (besides Eastlead and Westlead of 2026-01-15, open, no country or source):

    | lead | dept | owner        | added            | country | source       | status       | VIP |
    | L1   | East | sales.east   | 2026-02-03       | DE      | Website form | converted    | yes |
    | L2   | East | sales.east2  | 2026-02-20       | DE      | Trade show   | disqualified |     |
    | L3   | East | sales.east   | 2026-03-05       | FR      | Website form | open         |     |
    | L4   | West | sales.west   | 2026-02-10       | GB      | Website form | converted*   |     |
    | L5   | West | (unassigned) | 2026-03-31 23:30 | GB      | —            | open         |     |
    (* also disqualified: converted wins)

    Contacts (besides the world's four of 2026-01-15) and newsletter status:
    East: Eastone red; Easttwo gray (operator, 2026-02-05); C1 turquoise, VIP (2026-02-11);
    C2 gray (unsubscribe link, 2026-03-10; added 2026-03-02).
    West: Westone gray (import, 2026-03-20); Westsuper red; C3 turquoise, VIP (2026-03-15).
    L3 (a lead) also unsubscribed by link on 2026-03-12.
    """
    w = factories.world(db)
    source = {r["name"]: r["id"] for r in db.fetch_all("SELECT id, name FROM lead_sources")}
    w.sources = source
    u = w.users
    leads = [
        ("L1", w.east, u["sales_east"], datetime(2026, 2, 3, 9), "DE", "Website form",
         {"converted_at": datetime(2026, 3, 1), "vip": True}),
        ("L2", w.east, u["sales_east_2"], datetime(2026, 2, 20, 9), "DE", "Trade show",
         {"disqualified": True}),
        ("L3", w.east, u["sales_east"], datetime(2026, 3, 5, 9), "FR", "Website form", {}),
        ("L4", w.west, u["sales_west"], datetime(2026, 2, 10, 9), "GB", "Website form",
         {"disqualified": True, "converted_at": datetime(2026, 2, 28)}),
        ("L5", w.west, None, datetime(2026, 3, 31, 23, 30), "GB", None, {}),
    ]
    for name, department, owner, added, country, lead_source, extra in leads:
        w.leads[name] = factories.lead(
            db, name, department, owner, created_at=added, updated_at=added,
            country_code=country, lead_source_id=source.get(lead_source), **extra)
    east, west = w.companies["east"], w.companies["west"]
    w.contacts["C1"] = factories.contact(
        db, "C1", east, w.east, u["sales_east"], created_at=datetime(2026, 2, 11),
        updated_at=datetime(2026, 2, 11), last_mailed_at=datetime(2026, 2, 20), vip=True)
    w.contacts["C2"] = factories.contact(
        db, "C2", east, w.east, u["sales_east"], created_at=datetime(2026, 3, 2),
        updated_at=datetime(2026, 3, 2), newsletter_opt_in=False,
        unsubscribed_at=datetime(2026, 3, 10))
    w.contacts["C3"] = factories.contact(
        db, "C3", west, w.west, u["sales_west"], created_at=datetime(2026, 3, 15),
        updated_at=datetime(2026, 3, 15), last_mailed_at=datetime(2026, 3, 20), vip=True)
    with db.transaction() as tx:
        for contact in ("east_other", "west"):
            tx.execute("UPDATE contacts SET newsletter_opt_in = FALSE WHERE id = ?",
                       (w.contacts[contact],))
        events = [
            ("contact", w.contacts["east_other"], "unsubscribed", datetime(2026, 2, 5),
             "operator"),
            ("contact", w.contacts["C2"], "unsubscribed", datetime(2026, 3, 10),
             "unsubscribe link"),
            ("contact", w.contacts["west"], "unsubscribed", datetime(2026, 3, 20), "import:7"),
            ("contact", w.contacts["C1"], "subscribed", datetime(2026, 2, 11), "manual entry"),
            ("contact", w.contacts["C2"], "resubscribed", datetime(2026, 1, 20), "operator"),
            ("lead", w.leads["L3"], "unsubscribed", datetime(2026, 3, 12), "unsubscribe link"),
        ]
        for entity, entity_id, event, when, where in events:
            tx.execute("INSERT INTO subscription_events (entity, entity_id, event, occurred_at, "
                       "source) VALUES (?, ?, ?, ?, ?)", (entity, entity_id, event, when, where))
    return w
