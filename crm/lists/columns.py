"""Columns that every kind of record has: ID, assigned manager, country, date added.
Declared once here, for leads, contacts, companies and requests alike."""

from __future__ import annotations

from crm.identity.roles import OWNER_LABEL
from crm.lists.listing import Column


def id_column(alias: str) -> Column:
    return Column("id", "ID", f"{alias}.id", never_null=True, kind="int", width=9)


def manager_column(alias: str, *, editable: bool = True) -> Column:
    """The assigned manager; `editable`: chosen in the grid among those who may own it."""
    return Column("manager", OWNER_LABEL, "ow.full_name",
                  sort_sql=("lower(ow.full_name)",),
                  sort_joins=f"LEFT JOIN users ow ON ow.id = {alias}.owner_id",
                  kind="owner" if editable else "text", width=22, editable=editable)


def country_column(alias: str) -> Column:
    return Column("country", "Country", "cn.name",
                  sort_joins=f"LEFT JOIN countries cn ON cn.code = {alias}.country_code")


def added_column(alias: str, label: str = "Date added",
                 grid_format: str = "YYYY-MM-DD") -> Column:
    return Column("created_at", label, f"{alias}.created_at", never_null=True,
                  kind="datetime", width=17, grid_format=grid_format)
