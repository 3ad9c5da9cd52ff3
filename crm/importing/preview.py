"""The preview: every row of the file checked, every problem named by row and column, and each
row matched against the file's other rows and the records the importer may see, before
anything is written.

Checks run column by column (see `values`); owners, companies and vocabularies are looked up
once per distinct value; matching existing records is one SQL join against the file's keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crm.access import Action, Entity, may_work_in_department, owns_what_they_add, require, scope
from crm.common.errors import Refusal
from crm.common.names import company_name_key
from crm.identity.entities import PEOPLE, person_table
from crm.identity.roles import OWNERS, Role
from crm.identity.user import User
from crm.importing import values
from crm.importing.fields import FIELDS, VOCABULARIES, check_mapping, split_full_name
from crm.importing.reading import RawTable
from crm.storage.db import Database, Session, ids_condition, temporary_table

TEXT_LIMITS = {"description": 5000}
TEXT_LIMIT = 500


class ImportNotAllowed(Refusal):
    """The mapping cannot be used (a role that may not import: NotPermitted)."""


@dataclass(frozen=True)
class ImportOptions:
    """The importer's answers to the preview's questions."""

    dayfirst: bool | None = None  # day/month order of ambiguous dates (None: not asked yet)
    department_id: int | None = None  # where unassigned rows go, for users without a department


@dataclass(frozen=True)
class ImportProblem:
    row: int | None  # as the spreadsheet shows it; None: the whole column
    column: str  # the file's column header ("" when no single column is to blame)
    message: str


@dataclass(frozen=True)
class Match:
    """An existing record (in the importer's scope) that a row of the file matches."""

    row: int
    record_id: int
    reason: str  # "same email" | "same name and phone"
    read_only: bool = False  # a converted lead: kept as history, never updated
    version: int = 0  # the record's version at the preview: an update refuses if it moved


@dataclass
class Preview:
    """What an import would do. `rows` holds the normalised values by table column (None for
    a blank or unmapped cell), `_row` the spreadsheet row and `_match` the matched record id."""

    entity: Entity
    file_name: str
    table: RawTable
    mapping: dict[str, str | None]
    options: ImportOptions
    rows: pd.DataFrame
    problems: list[ImportProblem]
    matches: dict[int, Match]
    ambiguous_date_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    new_companies: int = 0

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def column_problems(self) -> list[ImportProblem]:
        """Problems no row can be left out to avoid (an unanswered question about a column)."""
        return [p for p in self.problems if p.row is None]

    @property
    def problem_rows(self) -> set[int]:
        return {p.row for p in self.problems if p.row is not None}

    def problems_by_row(self) -> dict[int, list[ImportProblem]]:
        found: dict[int, list[ImportProblem]] = {}
        for problem in self.problems:
            if problem.row is not None:
                found.setdefault(problem.row, []).append(problem)
        return found

    def problems_frame(self) -> pd.DataFrame:
        return pd.DataFrame([(p.row, p.column, p.message) for p in self.problems],
                            columns=["row", "column", "message"])

    def summary(self) -> dict[str, int]:
        """What a commit would do with each choice for matches (rows with problems left out)."""
        bad = self.problem_rows
        ok = self.rows[~self.rows["_row"].isin(bad)]
        matched = int(ok["_match"].notna().sum())
        return {"rows": len(self.rows), "with_problems": len(bad), "new": len(ok) - matched,
                "matching_existing": matched}


# ------------------------------------------------------------------------ validating


class _Checks:
    """Collects per-cell messages column by column, then turns them into ImportProblems."""

    def __init__(self, row_numbers: np.ndarray) -> None:
        self.rows = row_numbers
        self.found: list[tuple[np.ndarray, str, np.ndarray]] = []
        self.column_level: list[ImportProblem] = []

    def add(self, column: str, messages: pd.Series) -> None:
        mask = messages.notna().to_numpy()
        if mask.any():
            self.found.append((self.rows[mask], column, messages.to_numpy()[mask]))

    def add_where(self, column: str, mask: pd.Series | np.ndarray, message: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.found.append((self.rows[mask], column, np.full(mask.sum(), message,
                                                                dtype=object)))

    def problems(self) -> list[ImportProblem]:
        cells = [ImportProblem(int(r), column, str(m)) for rows, column, messages in self.found
                 for r, m in zip(rows, messages, strict=True)]
        cells.sort(key=lambda p: p.row or 0)
        return self.column_level + cells


def validate(user: User, db: Database, entity: Entity | str, table: RawTable,
             mapping: dict[str, str | None], options: ImportOptions | None = None) -> Preview:
    """Check every row of `table` as `mapping` reads it; nothing is written."""
    entity = Entity(entity)
    options = options or ImportOptions()
    if entity not in PEOPLE:
        raise ImportNotAllowed(f"{entity.plural.capitalize()} cannot be imported.")
    require(user, Action.IMPORT, entity)
    mistakes = check_mapping(entity, mapping)
    unknown_columns = [h for h, f in mapping.items() if f and h not in table.frame.columns]
    mistakes += [f"The file has no column “{h}”." for h in unknown_columns]
    if mistakes:
        raise ImportNotAllowed(" ".join(mistakes))
    header_of: dict[str, str] = {}
    for header, key in mapping.items():
        if key:
            header_of.setdefault(key, header)
    more_opt_outs = [h for h, k in mapping.items()
                     if k == "newsletter_opt_out" and h != header_of.get(k)]
    frame = table.frame
    index = pd.RangeIndex(len(frame))
    checks = _Checks(np.asarray(table.row_numbers, dtype=np.int64))

    texts: dict[str, pd.Series] = {}

    def text(key: str) -> pd.Series:
        if key not in header_of:
            return pd.Series("", index=index, dtype=object)
        if key not in texts:
            # A CSV export's formula guard ("'+49 30 …", "'=x") comes off: the value as typed.
            texts[key] = frame[header_of[key]].reset_index(drop=True).fillna("").astype(
                str).str.strip().str.replace(_GUARD, "", regex=True)
        return texts[key]

    # An email cell may hold a display name, "mailto:" or two addresses: the first is the
    # email, a second one the secondary email (when the row has none of its own).
    spilled = pd.Series("", index=index, dtype=object)
    if "email" in header_of:
        texts["email"], spilled = values.split_addresses(text("email"))
    rows = pd.DataFrame({"_row": table.row_numbers}, index=index)
    notes: list[str] = list(table.notes)
    _unsaved_formulas(table, header_of, checks)
    fields = FIELDS[entity]
    # Plain text (names and the rest) with length limits.
    for key, spec in fields.items():
        if spec.kind != "text":
            continue
        column = text(key)
        limit = TEXT_LIMITS.get(spec.column or "", TEXT_LIMIT)
        checks.add_where(header_of.get(key, ""), column.str.len() > limit,
                         f"longer than {limit} characters")
        rows[spec.column] = column.where(column != "", None) if key in header_of else None
    _names(rows, text, header_of, checks, entity)
    checks.add_where("", _summary_lines(frame),
                     f"looks like a total or notes line under the data, not a {entity.value}: "
                     "leave it out (or delete it in the file)")
    for key, spec in fields.items():
        if key not in header_of:
            continue
        column, header = text(key), header_of[key]
        if spec.kind == "email":
            parsed = values.emails(column)
        elif spec.kind == "phone":
            parsed = values.phones(column)
            stored = table.numeric_cells.get(header, 0)
            if stored:
                notes.append(f"{stored:,} values of “{header}” were stored as numbers; they "
                             "were read as digits (check leading zeros and +).")
        elif spec.kind == "flag":
            parsed = values.flags(column)
        elif spec.kind == "opt_out":
            # With an opt-in column too, an opt-out wins: nobody who opted out is subscribed;
            # with several opt-out columns, any of them.
            for each in (header, *more_opt_outs):
                parsed = values.opt_outs(column if each == header else frame[each].reset_index(
                    drop=True).fillna("").astype(str).str.strip())
                checks.add(each, parsed.problems)
                said = rows.get(spec.column)
                rows[spec.column] = (parsed.values if said is None else said.astype(
                    "boolean").mask(parsed.values.eq(False).fillna(False), False))
            continue
        elif spec.kind == "tags":
            parsed = values.tags(column)
            checks.add(header, parsed.problems)
            rows["_tags"] = parsed.values
            continue
        elif spec.kind == "country":
            parsed = values.countries(column)
        elif spec.kind == "date":
            parsed = values.dates(column, options.dayfirst)
            if parsed.ambiguous:
                checks.column_level.append(ImportProblem(
                    None, header, f"The dates in “{header}” could be day/month or month/day "
                    "(no day above 12): choose the order."))
        else:
            continue
        checks.add(header, parsed.problems)
        rows[spec.column] = parsed.values
    if (spilled != "").any() and "secondary_email" in fields:
        second = values.emails(spilled)
        own = rows.get("secondary_email")
        use = (spilled != "") & (own.isna() if own is not None else True)
        checks.add(header_of["email"], second.problems.where(use, None))
        rows["secondary_email"] = (second.values.where(use, None) if own is None
                                   else own.where(~use, second.values))
    for spec in fields.values():
        if spec.column and spec.kind not in ("vocab", "owner", "company") \
                and spec.column not in rows:
            rows[spec.column] = None
    if "_tags" not in rows:
        rows["_tags"] = [()] * len(rows)
    ambiguous = [p.column for p in checks.column_level]
    with db.transaction() as tx:
        notes += _new_tags(tx, rows)
        _vocabularies(tx, rows, text, header_of, checks, entity)
        _owners(tx, user, rows, text, header_of, checks, options)
        new_companies = 0
        if entity is Entity.CONTACT:
            new_companies = _companies(tx, user, rows, text, header_of, checks)
        _in_scope(user, rows, header_of, checks, entity)
        _file_duplicates(rows, checks, header_of)
        matches = _existing_matches(tx, user, entity, rows, checks)
        if entity is Entity.CONTACT:
            notes += _update_companies(tx, user, rows, matches, header_of, checks)
    rows["_match"] = pd.array([matches[r].record_id if r in matches else None
                               for r in rows["_row"]], dtype="Int64")
    rows["_match_version"] = pd.array([matches[r].version if r in matches else None
                                       for r in rows["_row"]], dtype="Int64")
    return Preview(entity=entity, file_name=table.file_name, table=table, mapping=dict(mapping),
                   options=options, rows=rows, problems=checks.problems(), matches=matches,
                   ambiguous_date_columns=ambiguous, notes=notes, new_companies=new_companies)


def _unsaved_formulas(table: RawTable, header_of: dict[str, str], checks: _Checks) -> None:
    """A mapped cell holding a formula without a saved result, until the user types a value."""
    mapped = set(header_of.values())
    cells = [(r, h) for r, h in table.unsaved_formulas if h in mapped]
    if not cells:
        return
    position = {row: i for i, row in enumerate(table.row_numbers)}
    for header in dict.fromkeys(h for _, h in cells):
        blank = np.zeros(len(table.row_numbers), dtype=bool)
        for row, h in cells:
            if h == header and str(table.frame.iat[position[row],
                                                   table.headers.index(header)]).strip() == "":
                blank[position[row]] = True
        checks.add_where(header, blank, "holds a formula whose result the file does not "
                         "contain (it was never saved by Excel): type the value here, or open "
                         "the file in Excel, save it and upload it again")


_GUARD = r"^'(?=[=+\-@\t\r])"
UNASSIGNED_WORDS = {"unassigned", "(unassigned)", "not assigned", "no owner", "nicht zugewiesen",
                    "non assigné", "sin asignar"}
_SUMMARY = (r"(?i)^\s*(?:grand\s+total|sub-?total|totals?|sum|summe|gesamt|insgesamt|anzahl"
            r"|count|notes?|remarks?|comments?|bemerkungen?|hinweise?|anmerkungen?|remarques?"
            r"|notas?|observaciones|totale|totaal|opmerkingen?)\s*(?::|=|\d|$)")


def _summary_lines(frame: pd.DataFrame) -> np.ndarray:
    """Rows of one or two cells that start with "Total:", "Notes:", "Summe 40", …: what
    people write under a table, which must not become records."""
    cells = frame.fillna("").astype(str).apply(lambda c: c.str.strip())
    filled = cells != ""
    few = filled.sum(axis=1) <= 2
    if not few.any():
        return few.to_numpy()
    first = cells[few].where(filled[few]).bfill(axis=1).iloc[:, 0].fillna("")
    summary = pd.Series(False, index=frame.index)
    summary[few] = first.str.contains(_SUMMARY, regex=True)
    return summary.to_numpy()


def _names(rows: pd.DataFrame, text, header_of: dict[str, str], checks: _Checks,
           entity: Entity) -> None:
    """A full-name column fills first, middle and last names where those are blank."""
    if "full_name" in header_of:
        full = text("full_name")
        parts = pd.DataFrame([split_full_name(n) for n in full],
                             columns=["first_name", "middle_name", "last_name"], index=rows.index)
        empty = rows["first_name"].isna() & rows["last_name"].isna()
        for column in parts:
            part = parts[column].where(parts[column] != "", None)
            rows[column] = rows[column].where(~empty, part)
    nameless = rows["first_name"].isna() & rows["last_name"].isna()
    where = next((header_of[k] for k in ("full_name", "last_name", "first_name")
                  if k in header_of), "")
    checks.add_where(where, nameless, f"a {entity.value} needs a first or last name")


def _new_tags(tx: Session, rows: pd.DataFrame) -> list[str]:
    """The tags the file names that the workspace does not have yet (the import makes them)."""
    named = {n.casefold(): n for names in rows["_tags"] for n in names}
    if not named:
        return []
    known = {r["name"].casefold() for r in tx.fetch_all("SELECT name FROM tags")}
    new = sorted(n for k, n in named.items() if k not in known)
    if not new:
        return []
    shown = ", ".join(f"“{n}”" for n in new[:20]) + (", …" if len(new) > 20 else "")
    return [f"{len(new):,} new tag(s) will be made: {shown}. Tags are added to the records; "
            "an import never takes a tag away."]


def _vocabularies(tx: Session, rows: pd.DataFrame, text, header_of: dict[str, str],
                  checks: _Checks, entity: Entity) -> None:
    for key, (table, noun) in VOCABULARIES.items():
        spec = FIELDS[entity].get(key)
        if spec is None:
            continue
        if key not in header_of:
            rows[spec.column] = None
            continue
        known = {r["name"].casefold(): r["id"] for r in tx.fetch_all(
            f"SELECT id, name FROM {table}")}
        column = text(key)
        ids = column.str.casefold().map(known)
        unknown = (column != "") & ids.isna()
        names = ", ".join(sorted(r for r in known))[:300]
        checks.add(header_of[key], ("unknown " + noun + " “" + column + "” (known: " + names
                                    + ")").where(unknown, None))
        rows[spec.column] = pd.array(ids, dtype="Int64")


def _owners(tx: Session, user: User, rows: pd.DataFrame, text, header_of: dict[str, str],
            checks: _Checks, options: ImportOptions) -> None:
    """The owner named by username, full name or email; a blank owner is the importer (when
    they may own records). The department follows the owner."""
    people = tx.fetch_all("SELECT id, username, full_name, email, role, active, department_id "
                          "FROM users")
    by_key: dict[str, list[dict]] = {}
    for person in people:
        for key in {person["username"].casefold(), person["full_name"].casefold(),
                    (person["email"] or "").casefold()} - {""}:
            by_key.setdefault(key, []).append(person)
    column = text("owner")
    owner = pd.Series(pd.NA, index=rows.index, dtype="Int64")
    department = pd.Series(pd.NA, index=rows.index, dtype="Int64")
    header = header_of.get("owner", "")
    # "Unassigned" (what an export says for no manager) keeps the row unassigned; a blank
    # cell gives it to the importer, as a file without an owner column does.
    unassigned = column.str.casefold().isin(UNASSIGNED_WORDS)
    for value in pd.unique(column[(column != "") & ~unassigned]):
        where = column == value
        found = by_key.get(value.casefold(), [])
        if len(found) > 1:
            checks.add_where(header, where, f"several users are called “{value}”; use the "
                             "username or email")
        elif not found:
            checks.add_where(header, where, f"no user “{value}” (use a username, full name "
                             "or email)")
        elif not found[0]["active"] or Role(found[0]["role"]) not in OWNERS:
            checks.add_where(header, where, f"“{value}” cannot be assigned records (only "
                             "active sales managers and operators can)")
        else:
            owner[where] = found[0]["id"]
            if found[0]["department_id"] is not None:
                department[where] = found[0]["department_id"]
    blank = column == ""
    if owns_what_they_add(user):
        owner[blank] = user.id
        default_department = user.department_id
    else:
        default_department = options.department_id or user.department_id
    rows["_owner_given"] = ~blank & ~unassigned
    rows["owner_id"] = owner
    rows["_default_department"] = default_department
    department[blank | unassigned] = (default_department if default_department is not None
                                      else pd.NA)
    rows["department_id"] = department


def _companies(tx: Session, user: User, rows: pd.DataFrame, text, header_of: dict[str, str],
               checks: _Checks) -> int:
    """A contact's company: an existing one in scope (loose name and country), or a new one
    made on commit. Returns how many new companies the file names."""
    header = header_of.get("company", "")
    names = text("company")
    checks.add_where(header, names == "", "a contact needs a company")
    keys = names.map({n: company_name_key(n) for n in pd.unique(names)})
    rows["_company_name"] = names.where(names != "", None)
    rows["_company_key"] = keys.where(names != "", None)
    rows["company_id"] = pd.array([None] * len(rows), dtype="Int64")
    wanted = pd.DataFrame({"name_key": keys, "country_code": rows["country_code"]})
    wanted = wanted[names != ""].drop_duplicates()
    if wanted.empty:
        return 0
    allowed = scope(user, Entity.COMPANY, Action.EDIT, alias="co")
    with temporary_table(tx, "name_key VARCHAR, country_code VARCHAR", wanted) as keys_table:
        found = tx.fetch_frame(
            f"SELECT co.id, co.name, co.name_key, co.country_code, co.department_id, "
            f"({allowed.sql}) AS allowed FROM {keys_table} k JOIN companies co "
            "ON co.name_key = k.name_key AND co.country_code IS NOT DISTINCT FROM k.country_code",
            allowed.params)
    rows["_company_key_country"] = list(zip(rows["_company_key"],
                                            rows["country_code"].astype(object), strict=True))
    existing = {(r.name_key, r.country_code if isinstance(r.country_code, str) else None): r
                for r in found.itertuples()}
    company_department = pd.Series(pd.NA, index=rows.index, dtype="Int64")
    for key, company in existing.items():
        where = (rows["_company_key"] == key[0]) & (
            rows["country_code"].isna() if key[1] is None else rows["country_code"] == key[1])
        if not bool(company.allowed):
            # Only as the file spells it: a company outside the user's scope has no name
            # for them (a name must stay unique in its country, so the row cannot go in).
            for typed in pd.unique(names[where]):
                checks.add_where(header, where & (names == typed), f"a company named like "
                                 f"“{typed}” exists in this country in another department")
            continue
        rows.loc[where, "company_id"] = int(company.id)
        company_department[where] = int(company.department_id)
    # Rows without an owner of their own join the existing company's department.
    adopt = ~rows["_owner_given"] & company_department.notna() & rows["owner_id"].isna()
    rows.loc[adopt, "department_id"] = company_department[adopt]
    clash = company_department.notna() & rows["department_id"].notna() & (
        company_department != rows["department_id"]).fillna(False)
    checks.add_where(header, clash.to_numpy(), "the company belongs to another department "
                     "than the row's assigned manager")
    new = (names != "") & rows["company_id"].isna()
    first_department = rows[new].groupby("_company_key_country")["department_id"].transform(
        "first")
    mixed = (rows.loc[new, "department_id"] != first_department).fillna(False)
    checks.add_where(header, rows.index.isin(mixed[mixed].index),
                     "the same new company is assigned to managers of different departments")
    return int(rows.loc[new, "_company_key_country"].nunique())


def _update_companies(tx: Session, user: User, rows: pd.DataFrame, matches: dict[int, Match],
                      header_of: dict[str, str], checks: _Checks) -> list[str]:
    """The company an update would give each matched contact (`_update_company_id`; empty:
    it stays where it is). An update changes only what the file says: the company changes
    when the file names a different existing company of the importer's scope in the
    contact's department (in the row's country when the file gives one); an update never
    creates a company. Returns the notes the preview shows about it."""
    rows["_update_company_id"] = pd.array([None] * len(rows), dtype="Int64")
    header = header_of.get("company", "")
    if not header or not matches:
        return []
    position = {int(r): i for i, r in enumerate(rows["_row"])}
    wanted = {row: m for row, m in matches.items()
              if not m.read_only and rows["_company_key"].iat[position[row]] is not None}
    if not wanted:
        return []
    ids = ids_condition([m.record_id for m in wanted.values()], "c.id")
    current = {int(r["id"]): r for r in tx.fetch_all(
        "SELECT c.id, c.department_id, co.name, co.name_key FROM contacts c "
        f"JOIN companies co ON co.id = c.company_id WHERE {ids.sql}", ids.params)}
    keys = sorted({rows["_company_key"].iat[position[row]] for row in wanted})
    allowed = scope(user, Entity.COMPANY, Action.EDIT, alias="co")
    marks = ", ".join("?" for _ in keys)
    candidates: dict[str, list[dict]] = {}
    for company in tx.fetch_all(
            "SELECT co.id, co.name, co.name_key, co.country_code, co.department_id FROM "
            f"companies co WHERE co.name_key IN ({marks}) AND {allowed.sql} ORDER BY co.id",
            (*keys, *allowed.params)):
        candidates.setdefault(company["name_key"], []).append(company)
    moves, stays = [], []
    for row, match in sorted(wanted.items()):
        i = position[row]
        now_at = current.get(match.record_id)
        if now_at is None or rows["_company_key"].iat[i] == now_at["name_key"]:
            continue  # the same company, however the file spells it
        country = rows["country_code"].iat[i]
        department = (rows["department_id"].iat[i] if bool(rows["_owner_given"].iat[i])
                      else now_at["department_id"])
        found = [c for c in candidates.get(rows["_company_key"].iat[i], [])
                 if c["department_id"] == department
                 and (country is None or pd.isna(country) or c["country_code"] == country)]
        name = rows["_company_name"].iat[i]
        if len(found) > 1:
            checks.add_where(header, rows.index == i, f"several companies are named like "
                             f"“{name}”: add a Country column to say which")
        elif found:
            rows.loc[i, "_update_company_id"] = int(found[0]["id"])
            moves.append(f"row {row}: contact {match.record_id} from “{now_at['name']}” to "
                         f"“{found[0]['name']}”")
        else:
            stays.append(f"row {row}: no company “{name}” to move contact {match.record_id} "
                         f"to; it stays at “{now_at['name']}”")
    notes = []
    if moves:
        notes.append(f"Updating moves {len(moves):,} contact(s) to another existing company: "
                     + "; ".join(moves[:20]) + ("; …" if len(moves) > 20 else "") + ".")
    if stays:
        notes.append("An update never creates a company: " + "; ".join(stays[:20])
                     + ("; …" if len(stays) > 20 else "") + ".")
    return notes


def _in_scope(user: User, rows: pd.DataFrame, header_of: dict[str, str], checks: _Checks,
              entity: Entity) -> None:
    department = rows["department_id"]
    missing = department.isna()
    checks.add_where(header_of.get("owner", ""), missing & ~rows["_owner_given"],
                     f"no department for this {entity.value}: name an assigned manager")
    for value in pd.unique(department.dropna()):
        if not may_work_in_department(user, int(value)):
            checks.add_where(header_of.get("owner", ""), (department == value).fillna(False),
                             "the assigned manager works in a department outside your access; "
                             "you cannot import records for them")


def _file_duplicates(rows: pd.DataFrame, checks: _Checks, header_of: dict[str, str]) -> None:
    """A later row with the same email, or the same name and phone, as an earlier row."""
    phone = values.digits(rows["phone"])
    phone = phone.where(phone.str.len() >= 5, values.digits(rows["mobile"]))
    rows["_phone_digits"] = phone.where(phone.str.len() >= 5, None)
    name = (rows["first_name"].fillna("").str.lower() + "|"
            + rows["last_name"].fillna("").str.lower())
    usable = rows["_phone_digits"].notna() & rows["first_name"].notna() \
        & rows["last_name"].notna()
    keys = (("same email", rows["email"].fillna("").str.lower().replace("", None),
             header_of.get("email", "")),
            ("same name and phone", (name + "|" + phone).where(usable, None),
             header_of.get("phone", header_of.get("mobile", ""))))
    for reason, key, header in keys:
        repeated = key.duplicated(keep="first") & key.notna()
        if repeated.any():
            first_row = rows["_row"].groupby(key).transform("first")
            messages = (f"{reason} as row " + first_row.astype("Int64").astype(str)).where(
                repeated, None)
            checks.add(header, messages)


def _existing_matches(tx: Session, user: User, entity: Entity, rows: pd.DataFrame,
                      checks: _Checks) -> dict[int, Match]:
    """Existing records in scope with the same email, or the same name and phone: one join."""
    found = match_existing(tx, user, entity, rows)
    if found.empty:
        return {}
    row_numbers = rows["_row"].to_numpy()
    matches = {int(row_numbers[r.pos]): Match(int(row_numbers[r.pos]), int(r.id), r.reason,
                                                bool(r.read_only), int(r.version))
               for r in found.itertuples()}
    # Two rows of the file that match one record: only the first may touch it.
    by_record = found.assign(row=row_numbers[found["pos"].to_numpy()]).sort_values("row")
    again = by_record[by_record.duplicated("id", keep="first")]
    if not again.empty:
        first = by_record.drop_duplicates("id").set_index("id")["row"]
        messages = pd.Series(None, index=rows.index, dtype=object)
        for r in again.itertuples():
            messages.iloc[r.pos] = (f"matches the same existing record (ID {r.id}) as row "
                                    f"{first[r.id]}")
        checks.add("", messages)
    return matches


def match_existing(tx: Session, user: User, entity: Entity, rows: pd.DataFrame) -> pd.DataFrame:
    """The best existing match of each row (`pos` is its position): `id`, `reason`,
    `read_only` (a converted lead) and the record's `version` now. The same query runs at
    the preview and again in the commit, which refuses when the answer changed meanwhile."""
    table = person_table(entity)
    keys = pd.DataFrame({
        "pos": np.arange(len(rows), dtype=np.int64),
        "email": rows["email"].fillna("").str.lower().replace("", None),
        "first_name": rows["first_name"].fillna("").str.lower(),
        "last_name": rows["last_name"].fillna("").str.lower(),
        "digits": rows["_phone_digits"],
    })
    keys = keys[keys["email"].notna() | keys["digits"].notna()]
    columns = ["pos", "id", "reason", "read_only", "version"]
    if keys.empty:
        return pd.DataFrame(columns=columns)
    allowed = scope(user, entity, Action.VIEW, alias="p")
    read_only = "p.converted_at IS NOT NULL" if entity is Entity.LEAD else "FALSE"
    with temporary_table(tx, "pos BIGINT, email VARCHAR, first_name VARCHAR, "
                         "last_name VARCHAR, digits VARCHAR", keys) as keys_table:
        found = tx.fetch_frame(
            f"SELECT k.pos, min(p.id) AS id, 1 AS rank, 'same email' AS reason, "
            f"bool_or({read_only}) AS read_only FROM {keys_table} k "
            f"JOIN {table} p ON lower(p.email) = k.email "
            f"WHERE k.email IS NOT NULL AND {allowed.sql} GROUP BY k.pos "
            "UNION ALL "
            f"SELECT k.pos, min(p.id) AS id, 2 AS rank, 'same name and phone' AS reason, "
            f"bool_or({read_only}) AS read_only FROM {keys_table} k "
            f"JOIN {table} p ON lower(p.last_name) = k.last_name "
            "AND lower(p.first_name) = k.first_name "
            "WHERE k.digits IS NOT NULL AND (regexp_replace(p.phone, '[^0-9]', '', 'g') = k.digits "
            f"OR regexp_replace(p.mobile, '[^0-9]', '', 'g') = k.digits) AND {allowed.sql} "
            "GROUP BY k.pos",
            (*allowed.params, *allowed.params))
    if found.empty:
        return pd.DataFrame(columns=columns)
    found = found.sort_values(["pos", "rank"]).drop_duplicates("pos")
    ids = [int(i) for i in found["id"]]
    these = ids_condition(ids)
    versions = {int(r["id"]): int(r["row_version"]) for r in tx.fetch_all(
        f"SELECT id, row_version FROM {table} WHERE {these.sql}", these.params)}
    found["version"] = [versions[i] for i in ids]
    return found[columns].reset_index(drop=True)
