"""List filters, as small kinds (after Datasette's filters.py), and the filters every kind
of record has.

A filter is declared as data on its list (`ListSpec.filters`). Its kind says how the user
chooses (values with counts, or a period), the SQL a choice adds (bound parameters only) and
the words it means, so a page can say "1,234 leads where country is France and VIP is yes":

- `Filter`: values with counts; matches `value_sql IN (…)` (and "none" where nullable);
- `FlagFilter`: yes / no on a boolean column; the sentence names the value alone ("VIP");
- `ExistsFilter`: values reached through another table (tags, industries), matched by a
  sub-query;
- `DateRangeFilter`: the day a timestamp falls on, from–to, chosen with a date picker.

Values travel as strings (they live in the URL); `parse` turns them into SQL values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

from crm.access import sees_several_departments
from crm.common.errors import Refusal
from crm.identity.roles import OWNER_LABEL
from crm.identity.user import User
from crm.storage.db import Condition

NONE_VALUE = "none"  # the option for "no value" (for instance: no assigned manager)
RANGE = ".."  # a date range travels as "2026-01-01..2026-03-31" (either end may be open)
OPTIONS, DATE_RANGE = "options", "date_range"  # how a filter is chosen: Filter.widget
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2100, 12, 31)  # a date filter's widest period


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    count: int


@dataclass(frozen=True, kw_only=True)
class Filter:
    """Values with counts, matched by `value_sql IN (…)`.

    `value_sql` is the expression whose values the filter offers and matches; `label_sql`
    names a value for people; `option_joins` adds what the labels need, and `option_from`
    replaces "<table> <alias>" when the options come from elsewhere.
    """

    widget: ClassVar[str] = OPTIONS

    key: str
    label: str
    value_sql: str
    label_sql: str = ""
    option_joins: str = ""
    option_from: str | None = None
    parse: Callable[[str], Any] = str
    nullable: bool = False
    none_label: str = "None"
    shown: Callable[[User], bool] = lambda user: True
    option_order: str = "count"  # or "label"
    sentence_label: str = ""  # how the sentence names the filter, when not its label

    def match(self, parsed: list[Any]) -> Condition:
        """The condition for the chosen values (parsed, never empty)."""
        marks = ", ".join("?" for _ in parsed)
        return Condition(f"{self.value_sql} IN ({marks})", tuple(parsed))

    def condition(self, values: Sequence[str]) -> Condition | None:
        wanted = [v for v in values if v != NONE_VALUE]
        try:
            parsed = [self.parse(v) for v in wanted]
        except (TypeError, ValueError):
            parsed = []
        parts: list[Condition] = []
        if parsed:
            parts.append(self.match(parsed))
        if self.nullable and NONE_VALUE in values:
            parts.append(Condition(f"{self.value_sql} IS NULL"))
        if not parts:
            return Condition("FALSE") if values else None
        if len(parts) == 1:
            return parts[0]
        return Condition(f"(({parts[0].sql}) OR ({parts[1].sql}))",
                         parts[0].params + parts[1].params)

    def sentence(self, values: Sequence[str], labels: dict[str, str]) -> str:
        names = [labels.get(v, v) for v in values]
        label = (self.sentence_label or self.label).lower()
        if len(names) == 1:
            return f"{label} is {names[0]}"
        return f"{label} is {', '.join(names[:-1])} or {names[-1]}"


@dataclass(frozen=True, kw_only=True)
class FlagFilter(Filter):
    """Yes or no on a boolean `column`; both chosen is everything. The sentence names the
    value alone: "VIP", "not VIP", "disqualified"."""

    column: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "parse", _yes_no)

    def match(self, parsed: list[Any]) -> Condition:
        if len(set(parsed)) != 1:
            return Condition("TRUE")
        return Condition(f"{self.column} = ?", (parsed[0] == "yes",))

    def sentence(self, values: Sequence[str], labels: dict[str, str]) -> str:
        return " or ".join(_sentence_case(labels.get(v, v)) for v in values)


@dataclass(frozen=True, kw_only=True)
class ExistsFilter(Filter):
    """Values reached through another table: `exists_sql` is the condition with `{marks}` where
    the chosen values' placeholders go, e.g. "EXISTS (SELECT 1 FROM contact_tags x WHERE
    x.contact_id = c.id AND x.tag_id IN ({marks}))"."""

    exists_sql: str

    def match(self, parsed: list[Any]) -> Condition:
        return Condition(self.exists_sql.format(marks=", ".join("?" for _ in parsed)),
                         tuple(parsed))


@dataclass(frozen=True, kw_only=True)
class DateRangeFilter(Filter):
    """The day the timestamp `value_sql` falls on, as from–to ranges of days (either end may
    be open), chosen with a date picker: no options to count."""

    widget: ClassVar[str] = DATE_RANGE

    words_label: str  # "added" in "added from 2026-01-01 to 2026-03-31"

    def __post_init__(self) -> None:
        object.__setattr__(self, "parse", parse_date_range)
        object.__setattr__(self, "label_sql", self.label_sql or self.value_sql)

    def match(self, parsed: list[Any]) -> Condition:
        parts = [date_range_condition(self.value_sql, start, end) for start, end in parsed]
        combined = parts[0]
        for part in parts[1:]:
            combined = Condition(f"({combined.sql}) OR ({part.sql})",
                                 combined.params + part.params)
        return combined

    def sentence(self, values: Sequence[str], labels: dict[str, str]) -> str:
        return date_range_words(self.words_label, values)


def _yes_no(value: str) -> str:
    if value not in ("yes", "no"):
        raise ValueError(value)
    return value


def _sentence_case(text: str) -> str:
    """"Not VIP" -> "not VIP", "Disqualified" -> "disqualified", "VIP" stays."""
    first, _, rest = text.partition(" ")
    if first.isupper():
        return text
    return " ".join(filter(None, [first.lower(), rest]))


def parse_date_range(text: str) -> tuple[date | None, date | None]:
    """"2026-01-01..2026-03-31" into its first and last day (inclusive); one end may be open."""
    first, separator, last = text.partition(RANGE)
    if not separator or not (first or last):
        raise Refusal(f"not a date range: {text!r}")
    start = date.fromisoformat(first) if first else None
    end = date.fromisoformat(last) if last else None
    if start and end and start > end:
        raise Refusal(f"the range {text!r} ends before it starts")
    if any(day is not None and not FIRST_DAY <= day <= LAST_DAY for day in (start, end)):
        raise Refusal(f"the range {text!r} lies outside {FIRST_DAY}..{LAST_DAY}")
    return start, end


def date_range_value(start: date | None, end: date | None) -> str:
    """The URL form of a range of days (inverse of `parse_date_range`)."""
    return f"{start.isoformat() if start else ''}{RANGE}{end.isoformat() if end else ''}"


def date_range_condition(column: str, start: date | None, end: date | None) -> Condition:
    """Timestamps from the first day's midnight up to (not including) the day after the last:
    the one definition of "in this period" for lists and charts alike."""
    parts = []
    if start is not None:
        parts.append(Condition(f"{column} >= ?", (datetime.combine(start, time()),)))
    if end is not None:
        parts.append(Condition(f"{column} < ?",
                               (datetime.combine(end + timedelta(days=1), time()),)))
    if not parts:
        return Condition("TRUE")
    return parts[0] if len(parts) == 1 else parts[0] & parts[1]


def date_range_words(label: str, values: Sequence[str]) -> str:
    """"added from 2026-01-01 to 2026-03-31", "added since …", "added until …"."""
    phrases = []
    for value in values:
        try:
            start, end = parse_date_range(value)
        except ValueError:
            continue
        if start and end:
            phrases.append(f"{label} on {start}" if start == end
                           else f"{label} from {start} to {end}")
        else:
            phrases.append(f"{label} since {start}" if start else f"{label} until {end}")
    return " or ".join(phrases) or f"{label} in no valid period"


# ------------------------------------------------------- what every kind of record has


def department_filter(alias: str) -> Filter:
    """Only for roles that see several departments (the access policy says who)."""
    return Filter(key="department", label="Department", value_sql=f"{alias}.department_id",
                  label_sql="dp.name",
                  option_joins=f"JOIN departments dp ON dp.id = {alias}.department_id",
                  parse=int, shown=sees_several_departments, option_order="label")


def manager_filter(alias: str) -> Filter:
    return Filter(key="manager", label=OWNER_LABEL, value_sql=f"{alias}.owner_id",
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


def added_filter(alias: str) -> DateRangeFilter:
    """Date added, as a range of days: what an overview chart's period opens in the list."""
    return DateRangeFilter(key="added", label="Date added", value_sql=f"{alias}.created_at",
                           words_label="added")


def flag_filter(key: str, label: str, column: str, yes: str, no: str) -> FlagFilter:
    """A yes/no filter on a boolean column ("VIP" / "Not VIP")."""
    return FlagFilter(
        key=key, label=label,
        value_sql=f"CASE WHEN {column} THEN 'yes' ELSE 'no' END",
        label_sql=f"CASE WHEN {column} THEN '{yes}' ELSE '{no}' END",
        column=column, option_order="label")
