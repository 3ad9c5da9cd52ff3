"""Files shaped like the exports of the tools operators come from (headers as each tool
documents its export; the people are made up) produce exactly the right records: every field
the file offers and the workspace holds is mapped to the right column (a salutation is not a
job title, an empty "Assistant's Phone" is not the phone, "E-mail 2 Address" is the
secondary email), and opt-outs keep their meaning. Checked field by field in the database.
"""

from __future__ import annotations

import csv
import io

import pytest

from crm import importing
from crm.importing import read_table
from tests import factories

FIELDS = ("first_name", "middle_name", "last_name", "title", "email", "secondary_email",
          "phone", "mobile", "city", "country_code", "description", "newsletter_opt_in")
BLANK = dict.fromkeys(FIELDS, "") | {"country_code": None, "newsletter_opt_in": True}


def person(**values) -> dict:
    return BLANK | values


# (tool, entity, header row, rows, company of each record, the records it must produce)
CORPUS = [
    ("Outlook", "contact",
     ["Title", "First Name", "Middle Name", "Last Name", "Suffix", "Company", "Department",
      "Job Title", "Business Street", "Business City", "Business Country/Region",
      "Assistant's Phone", "Business Phone", "Home Phone", "Mobile Phone", "E-mail Address",
      "E-mail 2 Address", "E-mail 3 Address", "Notes"],
     [["Mr.", "John", "Q", "Smith", "", "Acme Corp", "Sales", "Sales Director", "1 Main St",
       "Boston", "United States", "", "+1 617 555 0100", "", "+1 617 555 0101",
       "john@acme.example", "j.smith@home.example", "", "Met at the fair"],
      ["Ms.", "Jane", "", "Doe", "", "Beta Inc", "", "CEO", "", "Austin", "United States",
       "", "+1 512 555 0100", "+1 512 555 0199", "", "jane@beta.example", "", "", ""]],
     ["Acme Corp", "Beta Inc"],
     [person(first_name="John", middle_name="Q", last_name="Smith", title="Sales Director",
             email="john@acme.example", secondary_email="j.smith@home.example",
             phone="+1 617 555 0100", mobile="+1 617 555 0101", city="Boston",
             country_code="US", description="Met at the fair"),
      person(first_name="Jane", last_name="Doe", title="CEO", email="jane@beta.example",
             phone="+1 512 555 0100", city="Austin", country_code="US")]),
    ("Salesforce report", "lead",
     ["Salutation", "First Name", "Last Name", "Title", "Company / Account", "Email",
      "Phone", "Mobile", "Lead Source", "City", "Country", "Email Opt Out", "Description"],
     [["Mr.", "Anna", "Adler", "Head of IT", "Adler AG", "anna@adler.example",
       "+49 30 1234567", "+49 170 1234567", "", "Berlin", "Germany", "1", "Call back"],
      ["Ms.", "Bea", "Brandt", "CFO", "Brandt KG", "bea@brandt.example", "", "", "",
       "Hamburg", "Germany", "0", ""]],
     ["Adler AG", "Brandt KG"],
     [person(first_name="Anna", last_name="Adler", title="Head of IT",
             email="anna@adler.example", phone="+49 30 1234567", mobile="+49 170 1234567",
             city="Berlin", country_code="DE", description="Call back",
             newsletter_opt_in=False),
      person(first_name="Bea", last_name="Brandt", title="CFO", email="bea@brandt.example",
             city="Hamburg", country_code="DE")]),
    ("Salesforce data loader", "lead",
     ["ID", "SALUTATION", "FIRSTNAME", "LASTNAME", "TITLE", "COMPANY", "EMAIL", "PHONE",
      "MOBILEPHONE", "CITY", "COUNTRY", "HASOPTEDOUTOFEMAIL", "OWNERID", "DESCRIPTION"],
     [["00Q5g00000AbCdE", "Dr.", "Carl", "Conrad", "CTO", "Conrad GmbH", "carl@conrad.example",
       "+49 89 555", "+49 171 555 0000", "München", "DE", "true", "0055g00000XyZab", ""],
      ["00Q5g00000AbCdF", "", "Dora", "Dietz", "", "Dietz OHG", "dora@dietz.example", "", "",
       "", "AT", "false", "0055g00000XyZab", "New"]],
     ["Conrad GmbH", "Dietz OHG"],
     [person(first_name="Carl", last_name="Conrad", title="CTO", email="carl@conrad.example",
             phone="+49 89 555", mobile="+49 171 555 0000", city="München", country_code="DE",
             newsletter_opt_in=False),
      person(first_name="Dora", last_name="Dietz", email="dora@dietz.example",
             country_code="AT", description="New")]),
    ("Google Contacts", "contact",
     ["First Name", "Middle Name", "Last Name", "Nickname", "Notes", "E-mail 1 - Label",
      "E-mail 1 - Value", "E-mail 2 - Label", "E-mail 2 - Value", "Phone 1 - Label",
      "Phone 1 - Value", "Organization Name", "Organization Title", "Address 1 - City",
      "Address 1 - Country"],
     [["Emil", "", "Engel", "Em", "Vegan", "* Work", "emil@engel.example", "Home",
       "emil@home.example", "Mobile", "+43 660 1234567", "Engel Bau", "Owner", "Wien",
       "Österreich"]],
     ["Engel Bau"],
     [person(first_name="Emil", last_name="Engel", title="Owner", email="emil@engel.example",
             secondary_email="emil@home.example", phone="+43 660 1234567", city="Wien",
             country_code="AT", description="Vegan")]),
    ("HubSpot", "contact",
     ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number",
      "Company Name", "Job Title", "City", "Country/Region", "Create Date",
      "Marketing contact status", "Unsubscribed from all email"],
     [["51", "Fritz", "Fuchs", "fritz@fuchs.example", "+41 44 555 00 00", "", "Fuchs AG",
       "Buyer", "Zürich", "Switzerland", "2025-01-03 10:00", "Marketing contact", "false"],
      ["52", "Gina", "Graf", "gina@graf.example", "", "", "Graf SA", "", "Genève",
       "Switzerland", "2025-01-04 10:00", "Marketing contact", "true"]],
     ["Fuchs AG", "Graf SA"],
     [person(first_name="Fritz", last_name="Fuchs", title="Buyer", email="fritz@fuchs.example",
             phone="+41 44 555 00 00", city="Zürich", country_code="CH"),
      person(first_name="Gina", last_name="Graf", email="gina@graf.example", city="Genève",
             country_code="CH", newsletter_opt_in=False)]),
    ("Zoho CRM", "lead",
     ["Record Id", "Salutation", "First Name", "Last Name", "Title", "Email",
      "Secondary Email", "Phone", "Mobile", "Company", "City", "Country", "Email Opt Out",
      "Created Time", "Description"],
     [["zcrm_1", "Mrs.", "Hanna", "Horn", "Manager", "hanna@horn.example",
       "h@horn-privat.example", "+31 20 555 0000", "", "Horn BV", "Amsterdam", "Netherlands",
       "false", "2025-02-01 09:00:00", ""]],
     ["Horn BV"],
     [person(first_name="Hanna", last_name="Horn", title="Manager", email="hanna@horn.example",
             secondary_email="h@horn-privat.example", phone="+31 20 555 0000",
             city="Amsterdam", country_code="NL")]),
    ("Pipedrive", "contact",
     ["Person - Name", "Person - First name", "Person - Last name", "Person - Email - Work",
      "Person - Phone - Work", "Person - Organization", "Person - Job title",
      "Person - Marketing status"],
     [["Ida Iversen", "Ida", "Iversen", "ida@iversen.example", "+45 33 55 00 00",
       "Iversen ApS", "Founder", "Unsubscribed"]],
     ["Iversen ApS"],
     [person(first_name="Ida", last_name="Iversen", title="Founder", email="ida@iversen.example",
             phone="+45 33 55 00 00", newsletter_opt_in=False)]),
    ("Mailchimp (unsubscribed audience)", "contact",
     ["Email Address", "First Name", "Last Name", "Company", "MEMBER_RATING", "OPTIN_TIME",
      "UNSUB_TIME", "UNSUB_CAMPAIGN_TITLE", "UNSUB_REASON", "LEID", "TAGS"],
     [["jan@jansen.example", "Jan", "Jansen", "Jansen NV", "2", "2024-05-01 10:00:00",
       "2025-03-03 09:12:44", "Spring news", "No longer interested", "123", ""]],
     ["Jansen NV"],
     [person(first_name="Jan", last_name="Jansen", email="jan@jansen.example",
             newsletter_opt_in=False)]),
    ("Dynamics 365", "contact",
     ["Full Name", "First Name", "Last Name", "Email", "Business Phone", "Mobile Phone",
      "Company Name", "Job Title", "Address 1: City", "Address 1: Country/Region",
      "Created On", "Do not allow Bulk Emails"],
     [["Karl Koch", "Karl", "Koch", "karl@koch.example", "+49 40 555", "", "Koch SE",
       "Purchaser", "Hamburg", "Germany", "1/15/2025 10:00 AM", "Do Not Allow"]],
     ["Koch SE"],
     [person(first_name="Karl", last_name="Koch", title="Purchaser", email="karl@koch.example",
             phone="+49 40 555", city="Hamburg", country_code="DE", newsletter_opt_in=False)]),
    ("Odoo", "contact",
     ["Name", "Email", "Phone", "Mobile", "Company", "Job Position", "City", "Country",
      "Blacklist"],
     [["Lena Lang", "lena@lang.example", "+33 1 55 00 00 00", "", "Lang SARL", "Directrice",
       "Paris", "France", "False"]],
     ["Lang SARL"],
     [person(first_name="Lena", last_name="Lang", title="Directrice", email="lena@lang.example",
             phone="+33 1 55 00 00 00", city="Paris", country_code="FR")]),
    ("Apple Contacts (vCard to CSV)", "contact",
     ["First name", "Last name", "Organization", "Title", "Email (work)", "Phone (work)",
      "Phone (mobile)", "Note"],
     [["Mia", "Mayer", "Mayer & Söhne", "Partner", "mia@mayer.example", "+49 211 555",
       "+49 172 555 0000", "Golf"]],
     ["Mayer & Söhne"],
     [person(first_name="Mia", last_name="Mayer", title="Partner", email="mia@mayer.example",
             phone="+49 211 555", mobile="+49 172 555 0000", description="Golf")]),
    ("Django CRM", "lead",
     ["first_name", "middle_name", "last_name", "title", "email", "secondary_email", "phone",
      "mobile", "company_name", "city_name", "country", "massmail", "description"],
     [["Nils", "", "Nord", "Engineer", "nils@nord.example", "", "+46 8 555 000", "",
       "Nord AB", "Stockholm", "Sweden", "False", "Trial"]],
     ["Nord AB"],
     [person(first_name="Nils", last_name="Nord", title="Engineer", email="nils@nord.example",
             phone="+46 8 555 000", city="Stockholm", country_code="SE", description="Trial",
             newsletter_opt_in=False)]),
]


def as_csv(headers: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([headers, *rows])
    return buffer.getvalue().encode()


def stored(db, entity: str, user_id: int) -> list[dict]:
    table = {"lead": "leads", "contact": "contacts"}[entity]
    rows = db.fetch_all(f"SELECT {', '.join(FIELDS)} FROM {table} WHERE created_by = ? "
                        "ORDER BY id", (user_id,))
    return [{k: ("" if v is None and k != "country_code" else v) for k, v in r.items()}
            for r in rows]


@pytest.mark.parametrize(("tool", "entity", "headers", "rows", "companies", "expected"),
                         CORPUS, ids=[c[0] for c in CORPUS])
def test_another_tools_export_produces_exactly_its_records(db, tool, entity, headers, rows,
                                                           companies, expected):
    world = factories.world(db)
    user = world.users["sales_east"]
    table = read_table(as_csv(headers, rows), f"{tool}.csv")
    mapping = importing.guess_mapping(entity, table.headers, table.frame)
    preview = importing.validate(user, db, entity, table, mapping)
    assert preview.problems == [], (tool, mapping)
    importing.commit(user, db, entity, preview)
    assert stored(db, entity, user.id) == expected, (tool, mapping)
    if entity == "lead":
        names = [r["company_name"] for r in db.fetch_all(
            "SELECT company_name FROM leads WHERE created_by = ? ORDER BY id", (user.id,))]
    else:
        names = [r["name"] for r in db.fetch_all(
            "SELECT co.name FROM contacts c JOIN companies co ON co.id = c.company_id "
            "WHERE c.created_by = ? ORDER BY c.id", (user.id,))]
    assert names == companies, tool
