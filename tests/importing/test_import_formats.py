"""Files shaped like the exports of the tools operators come from (`tests/importing/corpus`:
headers, file type and encoding as each tool documents its export; the people are made up)
produce exactly the right records: every field the file offers and the workspace holds is
mapped to the right column (a salutation is not a job title, an empty "Assistant's Phone" is
not the phone, "E-mail 2 Address" is the secondary email), and opt-outs keep their meaning.
Checked field by field in the database.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crm import importing
from crm.importing import read_table
from tests import factories

CORPUS_FOLDER = Path(__file__).parent / "corpus"
FIELDS = ("first_name", "middle_name", "last_name", "title", "email", "secondary_email",
          "phone", "mobile", "city", "country_code", "description", "newsletter_opt_in")
BLANK = dict.fromkeys(FIELDS, "") | {"country_code": None, "newsletter_opt_in": True,
                                     "tags": ""}


def person(**values) -> dict:
    return BLANK | values


# (tool, entity, the file in tests/importing/corpus, company of each record, the records it
# must produce)
CORPUS = [
    ("Outlook", "contact",  # Outlook writes Windows-1252
     "outlook-contacts.csv",
     ["Acme Corp", "Beta Inc"],
     [person(first_name="John", middle_name="Q", last_name="Smith", title="Sales Director",
             email="john@acme.example", secondary_email="j.smith@home.example",
             phone="+1 617 555 0100", mobile="+1 617 555 0101", city="Boston",
             country_code="US", description="Met at the Messe München", tags="Golf|Key customer"),
      person(first_name="Jane", last_name="Doe", title="CEO", email="jane@beta.example",
             phone="+1 512 555 0100", city="Austin", country_code="US")]),
    ("Salesforce report", "lead",
     "salesforce-leads-report.csv",
     ["Adler AG", "Brandt KG"],
     [person(first_name="Anna", last_name="Adler", title="Head of IT",
             email="anna@adler.example", phone="+49 30 1234567", mobile="+49 170 1234567",
             city="Berlin", country_code="DE", description="Call back",
             newsletter_opt_in=False),
      person(first_name="Bea", last_name="Brandt", title="CFO", email="bea@brandt.example",
             city="Hamburg", country_code="DE")]),
    ("Salesforce data loader", "lead",
     "salesforce-data-loader-leads.csv",
     ["Conrad GmbH", "Dietz OHG"],
     [person(first_name="Carl", last_name="Conrad", title="CTO", email="carl@conrad.example",
             phone="+49 89 555", mobile="+49 171 555 0000", city="München", country_code="DE",
             newsletter_opt_in=False),
      person(first_name="Dora", last_name="Dietz", email="dora@dietz.example",
             country_code="AT", description="New")]),
    ("Google Contacts", "contact",
     "google-contacts.csv",
     ["Engel Bau"],
     [person(first_name="Emil", last_name="Engel", title="Owner", email="emil@engel.example",
             secondary_email="emil@home.example", phone="+43 660 1234567", city="Wien",
             country_code="AT", description="Vegan", tags="Builders|Vienna fair")]),
    ("HubSpot", "contact",
     "hubspot-contacts.xlsx",
     ["Fuchs AG", "Graf SA"],
     [person(first_name="Fritz", last_name="Fuchs", title="Buyer", email="fritz@fuchs.example",
             phone="+41 44 555 00 00", city="Zürich", country_code="CH"),
      person(first_name="Gina", last_name="Graf", email="gina@graf.example", city="Genève",
             country_code="CH", newsletter_opt_in=False)]),
    ("Zoho CRM", "lead",
     "zoho-leads.csv",
     ["Horn BV"],
     [person(first_name="Hanna", last_name="Horn", title="Manager", email="hanna@horn.example",
             secondary_email="h@horn-privat.example", phone="+31 20 555 0000",
             city="Amsterdam", country_code="NL")]),
    ("Pipedrive", "contact",
     "pipedrive-people.csv",
     ["Iversen ApS"],
     [person(first_name="Ida", last_name="Iversen", title="Founder", email="ida@iversen.example",
             phone="+45 33 55 00 00", newsletter_opt_in=False)]),
    ("Mailchimp (unsubscribed audience)", "contact",
     "mailchimp-unsubscribed_members_export.csv",
     ["Jansen NV"],
     [person(first_name="Jan", last_name="Jansen", email="jan@jansen.example",
             newsletter_opt_in=False, tags="Customer|Trade fair")]),
    ("Dynamics 365", "contact",
     "dynamics-365-contacts.xlsx",
     ["Koch SE"],
     [person(first_name="Karl", last_name="Koch", title="Purchaser", email="karl@koch.example",
             phone="+49 40 555", city="Hamburg", country_code="DE", newsletter_opt_in=False)]),
    ("Odoo", "contact",
     "odoo-contacts.xlsx",
     ["Lang SARL"],
     [person(first_name="Lena", last_name="Lang", title="Directrice", email="lena@lang.example",
             phone="+33 1 55 00 00 00", city="Paris", country_code="FR",
             tags="Partner program|Wholesale")]),
    ("Apple Contacts (vCard to CSV)", "contact",
     "apple-contacts-vcard-to-csv.csv",
     ["Mayer & Söhne"],
     [person(first_name="Mia", last_name="Mayer", title="Partner", email="mia@mayer.example",
             phone="+49 211 555", mobile="+49 172 555 0000", description="Golf")]),
    ("Django CRM", "lead",
     "django-crm-leads.csv",
     ["Nord AB"],
     [person(first_name="Nils", last_name="Nord", title="Engineer", email="nils@nord.example",
             phone="+46 8 555 000", city="Stockholm", country_code="SE", description="Trial",
             newsletter_opt_in=False)]),
]


def stored(db, entity: str, user_id: int) -> list[dict]:
    """Each record's fields, and its tags as "A|B" in name order ("" for a lead)."""
    table = {"lead": "leads", "contact": "contacts"}[entity]
    tags = ("(SELECT string_agg(t.name, '|' ORDER BY t.name) FROM contact_tags x JOIN tags t "
            "ON t.id = x.tag_id WHERE x.contact_id = r.id)" if entity == "contact" else "''")
    rows = db.fetch_all(f"SELECT {', '.join('r.' + f for f in FIELDS)}, {tags} AS tags "
                        f"FROM {table} r WHERE created_by = ? ORDER BY id", (user_id,))
    return [{k: ("" if v is None and k != "country_code" else v) for k, v in r.items()}
            for r in rows]


@pytest.mark.parametrize(("tool", "entity", "file", "companies", "expected"),
                         CORPUS, ids=[c[0] for c in CORPUS])
def test_another_tools_export_produces_exactly_its_records(db, tool, entity, file, companies,
                                                           expected):
    world = factories.world(db)
    user = world.users["sales_east"]
    table = read_table((CORPUS_FOLDER / file).read_bytes(), file)
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
