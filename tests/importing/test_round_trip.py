"""An export of the Leads list imports back with the same records and values: names (middle
names included), email, phone as typed (also one starting with "+"), company, assigned
manager, country, newsletter consent (an unsubscribe stays one), VIP, disqualified and the
date added; from .xlsx and from .csv (whose formula guard comes off on the way in).

The same for the Contacts list, with each contact's company (created again from its name and
country) and the phone as stored (the list shows the mobile where there is no phone; the
export does not).

An unassigned record is exported as "Unassigned" and comes back unassigned (a blank owner
cell would give it to the importer). A contact's tags go out in one cell and come back as
the same tags."""

from __future__ import annotations

import io
from datetime import datetime

import pytest

from crm import importing
from crm.importing import read_table
from crm.lists import list_export
from crm.records import leads
from tests import factories

FIELDS = ("first_name", "middle_name", "last_name", "email", "phone", "company_name",
          "owner_id", "country_code", "newsletter_opt_in", "vip", "disqualified", "created_at")


def records(db, department: int) -> list[tuple]:
    return [tuple(r[f] for f in FIELDS) for r in db.fetch_all(
        f"SELECT {', '.join(FIELDS)} FROM leads WHERE department_id = ? ORDER BY email",
        (department,))]


ROLES = ["sales_east", "operator_east", "company_manager", "super_operator", "admin"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("who", ROLES)
def test_an_exported_lead_list_imports_back_exactly(db, fmt, who):
    """Exported and imported back by each role that may do both (the records belong to two
    East sales managers: the file names them, so the rows go back to them)."""
    world = factories.world(db)
    owner, colleague = world.users["sales_east"], world.users["sales_east_2"]
    db.execute("DELETE FROM leads")  # the world's own: an empty workspace but its users
    stamp = datetime(2025, 6, 1, 14, 30)
    for n, (first, middle, last, phone, country, optin, vip, manager) in enumerate([
            ("Anna", "Maria", "Berg", "+49 30 1234567", "DE", True, True, owner),
            ("Bo", "", "Li", "-0043 1 555", "AT", False, False, colleague),
            ("Chloé", "", "Dupont", "+33 1 23 45 67 89", "FR", True, False, owner),
            ("Dan", "", "Evans", "(020) 7946 0018", None, False, False, None)]):
        factories.lead(db, last, world.east, manager, first_name=first, middle_name=middle,
                       email=f"{first.lower()}@{last.lower()}.example", phone=phone,
                       company_name=f"{last} & Co", country_code=country,
                       newsletter_opt_in=optin, vip=vip, disqualified=n == 3,
                       created_at=stamp.replace(day=n + 1), updated_at=stamp)
    before = records(db, world.east)

    user = world.users[who]
    buffer = io.BytesIO()
    list_export.export(user, db, leads.LEADS, buffer, fmt=fmt)
    db.execute("DELETE FROM leads")
    table = read_table(buffer.getvalue(), f"leads.{fmt}")
    # Where unassigned rows go, as the wizard asks users who see every department.
    preview = importing.validate(user, db, "lead", table,
                                 importing.guess_mapping("lead", table.headers, table.frame),
                                 importing.ImportOptions(department_id=world.east))
    assert preview.problems == []
    importing.commit(user, db, "lead", preview)
    assert records(db, world.east) == before


CONTACT_FIELDS = ("first_name", "middle_name", "last_name", "email", "phone", "mobile",
                  "owner_id", "country_code", "newsletter_opt_in", "vip", "created_at")


def contact_records(db, department: int) -> list[tuple]:
    return [(*(r[f] for f in CONTACT_FIELDS), r["company"], r["tags"]) for r in db.fetch_all(
        f"SELECT {', '.join('c.' + f for f in CONTACT_FIELDS)}, co.name AS company, "
        "(SELECT string_agg(t.name, '|' ORDER BY t.name) FROM contact_tags x JOIN tags t "
        "ON t.id = x.tag_id WHERE x.contact_id = c.id) AS tags "
        "FROM contacts c JOIN companies co ON co.id = c.company_id "
        "WHERE c.department_id = ? ORDER BY c.email", (department,))]


def empty(db) -> None:
    for table in ("contact_tags", "contacts", "company_industries", "companies", "tags"):
        db.execute(f"DELETE FROM {table}")


# Contacts are exported by the people they are assigned to (the seeds' rule: an export of
# contacts holds only your own), so the round trip is theirs; for the other roles see below.
CONTACT_ROLES = ["sales_east", "operator_east"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("who", CONTACT_ROLES)
def test_an_exported_contact_list_imports_back_exactly(db, fmt, who):
    from crm.records import contacts, tags

    world = factories.world(db)
    user = world.users[who]
    empty(db)
    stamp = datetime(2025, 6, 1, 14, 30)
    for n, (first, middle, last, phone, mobile, company, country, optin, vip, tagged) in \
            enumerate([
                ("Anna", "Maria", "Berg", "+49 30 1234567", "+49 170 1", "Berg & Co", "DE",
                 True, True, ["Key account", "Trade show 2026"]),
                ("Bo", "", "Li", "-0043 1 555", "", "Li Trading", "AT", False, False, []),
                ("Chloé", "", "Dupont", "", "+33 6 12 34 56 78", "Berg & Co", "DE", True,
                 False, ["Press"])]):
        company_id = db.scalar("SELECT id FROM companies WHERE name = ?", (company,)) or \
            factories.company(db, company, world.east, user, country=country)
        contact = factories.contact(
            db, last, company_id, world.east, user, first_name=first, middle_name=middle,
            email=f"{first.lower()}@{last.lower()}.example", phone=phone, mobile=mobile,
            country_code=country, newsletter_opt_in=optin, vip=vip,
            created_at=stamp.replace(day=n + 1), updated_at=stamp)
        for name in tagged:
            db.execute("INSERT INTO contact_tags (contact_id, tag_id) VALUES (?, ?)",
                       (contact, tags.create_tag(user, db, name)))
    before = contact_records(db, world.east)

    buffer = io.BytesIO()
    assert list_export.export(user, db, contacts.CONTACTS, buffer,
                              fmt=fmt) == 3
    empty(db)
    table = read_table(buffer.getvalue(), f"contacts.{fmt}")
    preview = importing.validate(user, db, "contact", table,
                                 importing.guess_mapping("contact", table.headers, table.frame))
    assert preview.problems == []
    importing.commit(user, db, "contact", preview)
    assert contact_records(db, world.east) == before


@pytest.mark.parametrize("who", ["company_manager", "super_operator", "admin"])
def test_roles_that_see_every_department_export_only_the_contacts_assigned_to_them(db, who):
    """The seeds' rule for contacts: an export holds only the contacts assigned to you. These
    roles are seldom assigned any (an import cannot assign them records), so their export is
    not a way to take the company's contacts round; the Leads round trip above is theirs."""
    from crm.records import contacts

    world = factories.world(db)
    user = world.users[who]
    buffer = io.BytesIO()
    exported = list_export.export(user, db, contacts.CONTACTS, buffer,
                                  fmt="csv")
    assert exported == db.scalar("SELECT count(*) FROM contacts WHERE owner_id = ?", (user.id,))
    assert exported < db.scalar("SELECT count(*) FROM contacts")
