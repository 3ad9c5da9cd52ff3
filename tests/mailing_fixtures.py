"""People for the mailing tests: subscribed (with their 'subscribed' event, as the app
records it). The settings a test needs (signing key, public URL, an outbox of its own) are the
`mail_env` fixture of tests/conftest.py."""

from __future__ import annotations

from crm.access import Entity
from tests import factories

SMTP_SETTINGS = ("CRM_SMTP_HOST", "CRM_SMTP_PORT", "CRM_SMTP_USER", "CRM_SMTP_PASSWORD",
                 "CRM_SMTP_SECURITY", "CRM_MAIL_FROM", "CRM_MAIL_RATE",
                 "CRM_MAIL_UNSUBSCRIBE_MAILTO")
PUBLIC_URL = "https://crm.example"


def subscribe(db, entity: Entity | str, entity_id: int) -> None:
    """The 'subscribed' event a person added through the app has."""
    db.execute("INSERT INTO subscription_events (entity, entity_id, event, occurred_at, "
               "source) VALUES (?, ?, 'subscribed', ?, 'test')",
               (Entity(entity).value, entity_id, factories.STAMP))


def contact(db, w, last_name: str, email: str, *, department: str = "east",
            company: str = "east", first_name: str = "Anna", **values) -> int:
    owner = w.users["sales_east" if department == "east" else "sales_west"]
    department_id = w.east if department == "east" else w.west
    contact_id = factories.contact(db, last_name, w.companies[company], department_id, owner,
                                   first_name=first_name, email=email, **values)
    if values.get("newsletter_opt_in", True):
        subscribe(db, Entity.CONTACT, contact_id)
    return contact_id


def lead(db, w, last_name: str, email: str, *, department: str = "east",
         first_name: str = "Lena", **values) -> int:
    owner = w.users["sales_east" if department == "east" else "sales_west"]
    department_id = w.east if department == "east" else w.west
    lead_id = factories.lead(db, last_name, department_id, owner, first_name=first_name,
                             email=email, **values)
    if values.get("newsletter_opt_in", True):
        subscribe(db, Entity.LEAD, lead_id)
    return lead_id


def mailing_world(db):
    """factories.world, its people with the 'subscribed' event the app would have written."""
    w = factories.world(db)
    for contact_id in w.contacts.values():
        subscribe(db, Entity.CONTACT, contact_id)
    for lead_id in w.leads.values():
        subscribe(db, Entity.LEAD, lead_id)
    return w
