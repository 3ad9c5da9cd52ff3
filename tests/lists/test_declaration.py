"""A list is declared once: its columns say their label, kind and how the grid and an export
show them, and the grid's editable columns and every export's cells follow from that."""

from __future__ import annotations

import pytest

from crm.identity.entities import Entity
from crm.lists.export import ExportColumn
from crm.lists.listing import Column, ListSpec
from crm.pipeline.requests import REQUESTS
from crm.records.kinds import LISTS, PEOPLE_LISTS

ALL = (*LISTS.values(), REQUESTS)


def _spec(**changes) -> ListSpec:
    values = dict(entity=Entity.LEAD, alias="l", joins="", filters=(),
                  default_sort="name", default_descending=False,
                  columns=(Column("id", "ID", "l.id", kind="int", width=9),
                           Column("name", "Name", "l.last_name", width=26),
                           Column("vip", "VIP", "l.vip", sortable=False, kind="bool", width=6,
                                  editable=True)),
                  grid=("name", "vip"), export=("id", "vip", "name"))
    return ListSpec(**{**values, **changes})


def test_the_export_and_the_grid_follow_from_the_columns():
    spec = _spec()
    assert spec.export_columns == (ExportColumn("id", "ID", "int", 9),
                                   ExportColumn("vip", "VIP", "bool", 6),
                                   ExportColumn("name", "Name", "text", 26))
    assert [c.label for c in spec.grid_columns] == ["Name", "VIP"]
    assert spec.grid_editable == ("vip",)


def test_an_owner_column_is_exported_as_text():
    manager = Column("manager", "Assigned manager", "ow.full_name", kind="owner", width=22)
    assert manager.export_column() == ExportColumn("manager", "Assigned manager", "text", 22)


@pytest.mark.parametrize("changes", [{"grid": ("name", "shoe_size")},
                                     {"export": ("id", "Name")}])
def test_a_misspelt_column_fails_when_the_list_is_declared(changes):
    with pytest.raises(KeyError):
        _spec(**changes)


def test_an_unknown_kind_fails_when_the_column_is_declared():
    with pytest.raises(ValueError, match="unknown column kind 'money' for 'amount'"):
        Column("amount", "Amount", "d.amount", kind="money")


@pytest.mark.parametrize("spec", ALL, ids=[s.noun_plural for s in ALL])
def test_every_list_names_its_columns_once_and_edits_only_what_it_shows(spec):
    keys = [c.key for c in spec.columns]
    assert len(keys) == len(set(keys))
    assert len(spec.grid) == len(set(spec.grid)) and len(spec.export) == len(set(spec.export))
    assert spec.export[0] == "id"  # an export can always be matched back to its records
    assert set(spec.grid_editable) <= set(spec.grid)
    assert not {name for name, _ in spec.extra_sql} & set(keys)  # nothing selected twice


def test_the_registry_holds_each_list_under_its_kind():
    assert {e: s.noun_plural for e, s in LISTS.items()} == {
        Entity.LEAD: "leads", Entity.CONTACT: "contacts", Entity.COMPANY: "companies"}
    assert list(PEOPLE_LISTS) == [Entity.LEAD, Entity.CONTACT]
    assert all(s.table == e.table for e, s in LISTS.items())
