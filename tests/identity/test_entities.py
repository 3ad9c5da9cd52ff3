"""A kind of record names its table and nouns once; a kind without records of its own, or a
kind that is not a person where a person is expected, is a caller's mistake, not a query."""

from __future__ import annotations

import pytest

from crm.identity.entities import PEOPLE, RECORDS, Entity, person_table


def test_each_kind_of_record_names_its_table_and_nouns():
    assert [(e.table, e.noun, e.plural, e.title) for e in RECORDS] == [
        ("leads", "lead", "leads", "Lead"), ("contacts", "contact", "contacts", "Contact"),
        ("companies", "company", "companies", "Company"),
        ("requests", "request", "requests", "Request"), ("deals", "deal", "deals", "Deal")]
    assert [person_table(e) for e in PEOPLE] == ["leads", "contacts"]
    assert person_table("contact") == "contacts"


@pytest.mark.parametrize("entity", [Entity.SEGMENT, Entity.TAG, Entity.USER])
def test_a_kind_without_records_of_its_own_has_no_table(entity):
    with pytest.raises(KeyError, match="not a kind of record with a table"):
        _ = entity.table


@pytest.mark.parametrize("entity", [Entity.COMPANY, Entity.REQUEST, Entity.DEAL, "segment"])
def test_only_leads_and_contacts_are_people(entity):
    with pytest.raises(KeyError, match="is not a person"):
        person_table(entity)
