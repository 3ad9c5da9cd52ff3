"""List filters that every kind of record has: department, assigned manager, country, lead
source, date added. Declared once here, for leads, contacts, companies and requests alike."""

from __future__ import annotations

from crm.access import sees_several_departments
from crm.lists.listing import Filter, date_range_filter


def department_filter(alias: str) -> Filter:
    """Only for roles that see several departments (the access policy says who)."""
    return Filter(key="department", label="Department", value_sql=f"{alias}.department_id",
                  label_sql="dp.name",
                  option_joins=f"JOIN departments dp ON dp.id = {alias}.department_id",
                  parse=int, shown=sees_several_departments, option_order="label")


def manager_filter(alias: str) -> Filter:
    return Filter(key="manager", label="Assigned manager", value_sql=f"{alias}.owner_id",
                  label_sql="ow.full_name",
                  option_joins=f"LEFT JOIN users ow ON ow.id = {alias}.owner_id",
                  parse=int, nullable=True, none_label="Unassigned", option_order="label")


def country_filter(alias: str) -> Filter:
    return Filter(key="country", label="Country", value_sql=f"{alias}.country_code",
                  label_sql="cn.name",
                  option_joins=f"LEFT JOIN countries cn ON cn.code = {alias}.country_code",
                  nullable=True, none_label="No country")


def source_filter(alias: str) -> Filter:
    """Where the record came from (web form, trade show, …): a bar of the overview opens it."""
    return Filter(key="source", label="Lead source", sentence_label="lead source",
                  value_sql=f"{alias}.lead_source_id", label_sql="ls.name",
                  option_joins=f"LEFT JOIN lead_sources ls ON ls.id = {alias}.lead_source_id",
                  parse=int, nullable=True, none_label="No source", option_order="label")


def added_filter(alias: str) -> Filter:
    """Date added, as a range of days: what an overview chart's period opens in the list."""
    return date_range_filter("added", "Date added", f"{alias}.created_at", "added")
