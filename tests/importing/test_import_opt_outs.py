"""Opt-outs are never lost: the opt-out and consent columns other tools export map to the
newsletter status with the right polarity, an opt-out wins over an opt-in column, and a
value that cannot be read refuses its row rather than subscribing it.

Headers as the tools document their exports; the people are made up.
"""

from __future__ import annotations

import pytest

from crm import importing
from crm.importing import read_table
from tests import factories

# (tool, header row, rows): in every file Anna opted out and Ben did not.
EXPORTS = [
    ("Salesforce report", ["First Name", "Last Name", "Email", "Company", "Email Opt Out"],
     [["Anna", "Adler", "anna@adler.example", "Adler AG", "1"],
      ["Ben", "Bauer", "ben@bauer.example", "Bauer KG", "0"]]),
    ("Salesforce data loader", ["FIRSTNAME", "LASTNAME", "EMAIL", "COMPANY",
                                "HASOPTEDOUTOFEMAIL"],
     [["Anna", "Adler", "anna@adler.example", "Adler AG", "true"],
      ["Ben", "Bauer", "ben@bauer.example", "Bauer KG", "false"]]),
    ("Zoho CRM", ["First Name", "Last Name", "Email", "Company", "Email Opt Out"],
     [["Anna", "Adler", "anna@adler.example", "Adler AG", "true"],
      ["Ben", "Bauer", "ben@bauer.example", "Bauer KG", "false"]]),
    ("Dynamics 365", ["First Name", "Last Name", "Email", "Company Name",
                      "Do not allow Bulk Emails"],
     [["Anna", "Adler", "anna@adler.example", "Adler AG", "Do Not Allow"],
      ["Ben", "Bauer", "ben@bauer.example", "Bauer KG", "Allow"]]),
    ("HubSpot", ["First Name", "Last Name", "Email", "Company Name",
                 "Unsubscribed from all email"],
     [["Anna", "Adler", "anna@adler.example", "Adler AG", "true"],
      ["Ben", "Bauer", "ben@bauer.example", "Bauer KG", ""]]),
    ("Mailchimp (all contacts)", ["Email Address", "First Name", "Last Name", "Company",
                                  "UNSUB_TIME"],
     [["anna@adler.example", "Anna", "Adler", "Adler AG", "2025-11-03 09:12:44"],
      ["ben@bauer.example", "Ben", "Bauer", "Bauer KG", ""]]),
    ("Odoo", ["Name", "Email", "Company", "Blacklist"],
     [["Anna Adler", "anna@adler.example", "Adler AG", "True"],
      ["Ben Bauer", "ben@bauer.example", "Bauer KG", "False"]]),
    ("German CRM", ["Vorname", "Nachname", "E-Mail", "Firma", "Newsletter abgemeldet"],
     [["Anna", "Adler", "anna@adler.example", "Adler AG", "ja"],
      ["Ben", "Bauer", "ben@bauer.example", "Bauer KG", "nein"]]),
    ("two opt-out columns", ["FIRSTNAME", "LASTNAME", "EMAIL", "COMPANY", "HASOPTEDOUTOFEMAIL",
                             "Do Not Email"],
     [["Anna", "Adler", "anna@adler.example", "Adler AG", "false", "true"],
      ["Ben", "Bauer", "ben@bauer.example", "Bauer KG", "false", "false"]]),
    ("opt-in and opt-out side by side", ["First Name", "Last Name", "Email", "Company",
                                         "Email Opt In", "Email Opt Out"],
     [["Anna", "Adler", "anna@adler.example", "Adler AG", "yes", "yes"],
      ["Ben", "Bauer", "ben@bauer.example", "Bauer KG", "yes", "no"]]),
]


def csv(headers: list[str], rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(f'"{cell}"' for cell in row)
                     for row in [headers, *rows]).encode()


def imported(db, user, entity: str, data: bytes):
    table = read_table(data, "export.csv")
    preview = importing.validate(user, db, entity, table,
                                 importing.guess_mapping(entity, table.headers))
    return preview, table


@pytest.mark.parametrize("entity", ["lead", "contact"])
@pytest.mark.parametrize(("tool", "headers", "rows"), EXPORTS, ids=[e[0] for e in EXPORTS])
def test_an_opt_out_in_another_tools_export_is_kept(db, entity, tool, headers, rows):
    world = factories.world(db)
    user = world.users["sales_east"]
    preview, _ = imported(db, user, entity, csv(headers, rows))
    assert not preview.problems, (tool, preview.problems)
    importing.commit(user, db, entity, preview)
    table = {"lead": "leads", "contact": "contacts"}[entity]
    status = {r["email"]: r["newsletter_opt_in"] for r in db.fetch_all(
        f"SELECT email, newsletter_opt_in FROM {table} WHERE email LIKE '%@%.example' "
        "AND created_by = ?", (user.id,))}
    assert status == {"anna@adler.example": False, "ben@bauer.example": True}, tool
    suppressed = [r["address"] for r in db.fetch_all("SELECT address FROM suppressions")]
    assert suppressed == ["anna@adler.example"], tool


def test_an_opt_out_that_cannot_be_read_refuses_its_row(db):
    world = factories.world(db)
    user = world.users["sales_east"]
    preview, _ = imported(db, user, "lead", csv(
        ["First Name", "Last Name", "Email", "Company", "Email Opt Out"],
        [["Anna", "Adler", "anna@adler.example", "Adler AG", "maybe later"],
         ["Ben", "Bauer", "ben@bauer.example", "Bauer KG", "no"]]))
    assert [(p.row, p.column, p.message) for p in preview.problems] == [
        (2, "Email Opt Out", "“maybe later” does not say whether the person opted out "
                             "(yes/no, or the date they did)")]
    before = db.scalar("SELECT count(*) FROM leads")
    with pytest.raises(importing.ImportRefused):
        importing.commit(user, db, "lead", preview)
    assert db.scalar("SELECT count(*) FROM leads") == before
