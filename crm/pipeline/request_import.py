"""Importing commercial requests from .xlsx or .csv: the same reader and header matching as
the lead and contact import, a preview listing every problem by row and column, and an
all-or-nothing commit (requests arrive in batches of a trade show or a mailbox export, where a
half-imported file would be worse than none)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm.access import (
    Action,
    Condition,
    Entity,
    may_work_in_department,
    owns_what_they_add,
    require,
)
from crm.identity.user import User
from crm.importing import ImportProblem, ImportRefused, read_table, split_full_name
from crm.importing.fields import fold, guess_field
from crm.importing.values import closest_countries, country_lookup, fold_country
from crm.pipeline.requests import check_request, insert_request, refresh_match_hints
from crm.storage.db import Database

MAX_ROWS = 5_000

FIELDS = {
    "full_name": "Full name", "first_name": "First name", "last_name": "Last name",
    "email": "Email", "phone": "Phone", "company_name": "Company", "country": "Country",
    "city": "City", "subject": "Subject", "message": "Message", "lead_source": "Lead source",
}
# Spellings of the two request-only columns; the others are the lead import's.
_OWN_SPELLINGS = {
    "subject": ("subject", "topic", "regarding", "re", "betreff", "thema", "objet", "sujet",
                "asunto", "oggetto", "onderwerp"),
    "message": ("message", "request", "inquiry", "enquiry", "body", "text", "nachricht",
                "anfrage", "mitteilung", "demande", "mensaje", "consulta", "messaggio",
                "richiesta", "bericht", "vraag", "comment", "comments", "description"),
}
_FROM_LEAD = {"full_name": "full_name", "first_name": "first_name", "last_name": "last_name",
              "email": "email", "phone": "phone", "mobile": "phone",
              "company_name": "company_name", "country": "country", "city": "city",
              "lead_source": "lead_source", "description": "message"}


def guess_request_field(header: str) -> str | None:
    folded = fold(header)
    for key, spellings in _OWN_SPELLINGS.items():
        if folded in spellings:
            return key
    return _FROM_LEAD.get(guess_field(Entity.LEAD, header) or "")


def guess_mapping(headers: list[str]) -> dict[str, str | None]:
    """Header -> request field (None: left out); each field is taken by its first column."""
    taken: set[str] = set()
    mapping: dict[str, str | None] = {}
    for header in headers:
        found = guess_request_field(header)
        mapping[header] = None if found in taken else found
        if found:
            taken.add(found)
    if "full_name" in taken and {"first_name", "last_name"} <= taken:
        mapping = {h: (None if f == "full_name" else f) for h, f in mapping.items()}
    return mapping


@dataclass
class RequestImport:
    """A file read and checked, nothing written yet."""

    file_name: str
    headers: list[str]
    mapping: dict[str, str | None]
    rows: list[dict[str, Any]] = field(default_factory=list)  # checked values, per data row
    row_numbers: list[int] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return bool(self.rows) and not self.problems


def preview_requests(user: User, db: Database, data: bytes, file_name: str, *,
                     mapping: dict[str, str | None] | None = None,
                     department_id: int | None = None) -> RequestImport:
    """Read and check a file of requests; ImportFileError when it cannot be read at all."""
    table = read_table(data, file_name)
    mapping = mapping or guess_mapping(table.headers)
    result = RequestImport(file_name, table.headers, mapping)
    if table.row_count > MAX_ROWS:
        result.problems.append(ImportProblem(None, "", f"At most {MAX_ROWS:,} requests can be "
                                                       "imported at once; split the file."))
        return result
    header_of = {key: header for header, key in mapping.items() if key}
    if not ({"full_name", "first_name", "last_name"} & set(header_of)):
        result.problems.append(ImportProblem(None, "", "No column holds the name: map one to "
                                                       "Full name, First name or Last name."))
        return result
    department = department_id or user.department_id or 0
    with db.transaction() as tx:
        sources = {r["name"].lower(): r["id"] for r in tx.fetch_all(
            "SELECT id, name FROM lead_sources")}
        for number, (_, cells) in zip(table.row_numbers, table.frame.iterrows(), strict=True):
            raw = {key: str(cells[header]) for key, header in header_of.items()}
            values, problems = _values(raw, header_of, sources, number)
            row, checked = check_request(tx, values, department)
            problems += [ImportProblem(number, _column(p.field, header_of), p.message)
                         for p in checked]
            result.rows.append(row)
            result.row_numbers.append(number)
            result.problems.extend(problems)
    return result


def _values(raw: dict[str, str], header_of: dict[str, str], sources: dict[str, int],
            number: int) -> tuple[dict[str, Any], list[ImportProblem]]:
    problems: list[ImportProblem] = []
    values: dict[str, Any] = {k: v for k, v in raw.items()
                              if k not in ("full_name", "country", "lead_source")}
    if raw.get("full_name") and not (raw.get("first_name") or raw.get("last_name")):
        first, middle, last = split_full_name(raw["full_name"])  # requests have no middle
        values.update(first_name=" ".join(p for p in (first, middle) if p), last_name=last)
    country = raw.get("country", "").strip()
    if country:
        lookup, _ = country_lookup()
        values["country_code"] = lookup.get(fold_country(country))
        if values["country_code"] is None:
            near = closest_countries(country)
            hint = f"; did you mean {' or '.join(near)}?" if near else ""
            problems.append(ImportProblem(number, header_of["country"],
                                          f"unknown country “{country}”{hint}"))
    source = raw.get("lead_source", "").strip()
    if source:
        values["lead_source_id"] = sources.get(source.lower())
        if values["lead_source_id"] is None:
            problems.append(ImportProblem(number, header_of["lead_source"],
                                          f"unknown lead source “{source}”"))
    return values, problems


def _column(request_field: str, header_of: dict[str, str]) -> str:
    key = {"country_code": "country", "lead_source_id": "lead_source"}.get(request_field,
                                                                          request_field)
    if key in ("first_name", "last_name") and key not in header_of:
        key = "full_name"
    return header_of.get(key, "")


def import_requests(user: User, db: Database, preview: RequestImport, *,
                    department_id: int | None = None) -> int:
    """Write every request of the file in one transaction, or none (ImportRefused)."""
    require(user, Action.IMPORT, Entity.REQUEST)
    if preview.problems:
        raise ImportRefused(preview.problems)
    department = department_id or user.department_id
    if department is None or not may_work_in_department(user, department):
        raise ImportRefused([ImportProblem(None, "", "Choose a department you work in for "
                                                     "these requests.")])
    with db.transaction() as tx:
        ids = []
        for row in preview.rows:
            row = {**row, "department_id": department}
            if row.get("owner_id") is None and owns_what_they_add(user):
                row["owner_id"] = user.id
            ids.append(insert_request(tx, user, row, "import", hints=False))
        refresh_match_hints(tx, Condition(f"id IN ({', '.join('?' for _ in ids)})",
                                          tuple(ids)))
    return len(preview.rows)
