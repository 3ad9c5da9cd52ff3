"""Filters as small kinds: each says the SQL a choice adds (bound parameters only) and the
words it means; a value that cannot be read matches nothing rather than everything."""

from __future__ import annotations

from datetime import datetime

from crm.lists.filters import (
    DATE_RANGE,
    NONE_VALUE,
    OPTIONS,
    DateRangeFilter,
    ExistsFilter,
    Filter,
    flag_filter,
)
from crm.storage.db import Condition

COUNTRY = Filter(key="country", label="Country", value_sql="l.country_code",
                 label_sql="cn.name", nullable=True, none_label="No country")
MANAGER = Filter(key="manager", label="Assigned manager", value_sql="l.owner_id",
                 label_sql="ow.full_name", parse=int, nullable=True)
VIP = flag_filter("vip", "VIP", "l.vip", "VIP", "Not VIP")
TAG = ExistsFilter(key="tag", label="Tags", sentence_label="tag", value_sql="x.tag_id",
                   parse=int, exists_sql="EXISTS (SELECT 1 FROM contact_tags x WHERE "
                                         "x.contact_id = c.id AND x.tag_id IN ({marks}))")
ADDED = DateRangeFilter(key="added", label="Date added", value_sql="l.created_at",
                        words_label="added")


def test_values_with_counts_match_a_list_of_values_and_none():
    assert COUNTRY.widget == OPTIONS
    assert COUNTRY.condition(["DE", "FR"]) == Condition("l.country_code IN (?, ?)", ("DE", "FR"))
    assert COUNTRY.condition([NONE_VALUE]) == Condition("l.country_code IS NULL")
    assert COUNTRY.condition(["DE", NONE_VALUE]) == Condition(
        "((l.country_code IN (?)) OR (l.country_code IS NULL))", ("DE",))
    assert COUNTRY.condition([]) is None
    assert COUNTRY.sentence(["DE", "FR"], {"DE": "Germany", "FR": "France"}) == (
        "country is Germany or France")


def test_a_value_that_cannot_be_read_matches_nothing():
    assert MANAGER.condition(["twelve"]) == Condition("FALSE")
    assert MANAGER.condition(["12"]) == Condition("l.owner_id IN (?)", (12,))


def test_a_flag_names_its_value_and_both_values_mean_everything():
    assert VIP.condition(["yes"]) == Condition("l.vip = ?", (True,))
    assert VIP.condition(["no"]) == Condition("l.vip = ?", (False,))
    assert VIP.condition(["yes", "no"]) == Condition("TRUE")
    assert VIP.condition(["maybe"]) == Condition("FALSE")
    assert VIP.sentence(["yes"], {"yes": "VIP"}) == "VIP"
    assert VIP.sentence(["no"], {"no": "Not VIP"}) == "not VIP"


def test_values_through_another_table_are_matched_by_a_sub_query():
    assert TAG.condition(["3", "4"]) == Condition(
        "EXISTS (SELECT 1 FROM contact_tags x WHERE x.contact_id = c.id AND "
        "x.tag_id IN (?, ?))", (3, 4))
    assert TAG.sentence(["3"], {"3": "Fair"}) == "tag is Fair"


def test_a_period_matches_whole_days_and_says_so():
    assert ADDED.widget == DATE_RANGE
    assert ADDED.condition(["2026-01-01..2026-01-31"]) == Condition(
        "(l.created_at >= ?) AND (l.created_at < ?)",
        (datetime(2026, 1, 1), datetime(2026, 2, 1)))
    assert ADDED.condition(["2026-03-01.."]) == Condition("l.created_at >= ?",
                                                          (datetime(2026, 3, 1),))
    assert ADDED.condition(["2026-02-01..2026-01-01"]) == Condition("FALSE")
    assert ADDED.sentence(["2026-01-01..2026-01-31"], {}) == "added from 2026-01-01 to 2026-01-31"
    assert ADDED.sentence(["..2026-01-31", "2026-03-05..2026-03-05"], {}) == (
        "added until 2026-01-31 or added on 2026-03-05")
