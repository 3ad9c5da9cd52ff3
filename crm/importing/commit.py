"""Writing a checked import: all accepted rows in one transaction, recorded as an import batch.

Rows go in with a few set-based statements (bulk inserts of frames, one UPDATE joined to the
new values), never a statement per row: ids are drawn from the table's sequence up front so
the batch items, audit entries and subscription events can be written in bulk as well.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crm import search
from crm.access import Condition, Entity
from crm.clock import now
from crm.db import Database, Session
from crm.export import ExportColumn, write_xlsx
from crm.importing.fields import FIELDS
from crm.importing.preview import TABLES, ImportProblem, Preview, temporary_table
from crm.users import User

ON_DUPLICATE = ("skip", "update", "create")
TEXT_COLUMNS = ("first_name", "middle_name", "last_name", "title", "email", "secondary_email",
                "phone", "mobile", "city", "address", "description", "company_name",
                "company_email", "company_phone", "website", "company_address")
DEFAULTS = {"vip": False, "disqualified": False, "newsletter_opt_in": True}


class ImportRefused(Exception):
    """Nothing was written: problems remain (and rows with problems were not to be left out)."""

    def __init__(self, problems: list[ImportProblem], message: str | None = None) -> None:
        super().__init__(message or f"{len(problems):,} problems remain; nothing was imported.")
        self.problems = problems


@dataclass
class ImportResult:
    batch_id: int
    entity: Entity
    file_name: str
    created: int
    updated: int
    skipped: int
    rejected: int
    rejected_rows: pd.DataFrame  # "Row", "Reason", then the file's own columns
    problems: list[ImportProblem] = field(default_factory=list)
    new_companies: int = 0

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "skipped": self.skipped,
                "rejected": self.rejected}


def record_columns(entity: Entity) -> list[str]:
    """The table columns an import can fill on `entity`."""
    columns = [f.column for f in FIELDS[entity].values() if f.column]
    return [*columns, "department_id"]


def updatable_columns(entity: Entity) -> list[str]:
    """What an update may change (and undo restores): all but the date added."""
    return [c for c in record_columns(entity) if c != "created_at"]


def commit(user: User, db: Database, entity: Entity | str, preview: Preview,
           on_duplicate: str = "skip", skip_invalid: bool = False,
           file_name: str | None = None) -> ImportResult:
    """Import the preview's rows; rows matching an existing record are skipped, update it
    (only the file's non-empty cells) or are created anyway, as `on_duplicate` says."""
    entity = Entity(entity)
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate must be one of {', '.join(ON_DUPLICATE)}")
    if entity is not preview.entity:
        raise ValueError("The preview was made for another kind of record.")
    if preview.column_problems:
        raise ImportRefused(preview.column_problems, " ".join(
            p.message for p in preview.column_problems) + " Nothing was imported.")
    if preview.problems and not skip_invalid:
        raise ImportRefused(preview.problems)
    bad = preview.problem_rows
    rows = preview.rows[~preview.rows["_row"].isin(bad)]
    matched = rows["_match"].notna()
    read_only = rows["_row"].map(
        lambda r: preview.matches[r].read_only if r in preview.matches else False).astype(bool)
    if on_duplicate == "create":
        creating, updating = rows, rows.iloc[0:0]
    elif on_duplicate == "update":
        creating, updating = rows[~matched], rows[matched & ~read_only]
    else:
        creating, updating = rows[~matched], rows.iloc[0:0]
    skipped = len(rows) - len(creating) - len(updating)
    stamp = now()
    with db.transaction() as tx:
        batch_id = tx.scalar(
            "INSERT INTO import_batches (entity, user_id, file_name, created_at, created_count, "
            "updated_count, skipped_count, rejected_count, department_id, on_duplicate) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (entity.value, user.id, file_name or preview.file_name, stamp, len(creating),
             len(updating), skipped, len(bad), user.department_id, on_duplicate))
        new_companies = 0
        if entity is Entity.CONTACT:
            creating, updating, new_companies = _create_companies(
                tx, user, batch_id, creating, updating, stamp)
        _create(tx, user, entity, batch_id, creating, stamp)
        _update(tx, user, entity, batch_id, updating, stamp)
        search.refresh(tx, entity, Condition(
            "id IN (SELECT entity_id FROM import_batch_items WHERE batch_id = ?)", (batch_id,)))
    return ImportResult(batch_id=batch_id, entity=entity,
                        file_name=file_name or preview.file_name, created=len(creating),
                        updated=len(updating), skipped=skipped, rejected=len(bad),
                        rejected_rows=rejected_rows(preview), problems=preview.problems,
                        new_companies=new_companies)


def rejected_rows(preview: Preview) -> pd.DataFrame:
    """The file's rows that have problems, as the file has them, with the reasons."""
    by_row = preview.problems_by_row()
    positions = [i for i, r in enumerate(preview.table.row_numbers) if r in by_row]
    frame = preview.table.frame.iloc[positions].reset_index(drop=True)
    numbers = [preview.table.row_numbers[i] for i in positions]
    reasons = ["; ".join(f"{p.column}: {p.message}" if p.column else p.message
                         for p in by_row[r]) for r in numbers]
    return pd.concat([pd.DataFrame({"Row": numbers, "Reason": reasons}), frame], axis=1)


def rejected_report(result: ImportResult) -> bytes:
    """The rejected rows as an .xlsx: row number, reason, then the file's columns."""
    frame = result.rejected_rows
    keys = [f"c{i}" for i in range(len(frame.columns))]
    columns = [ExportColumn(keys[0], "Row", "int", 7), ExportColumn(keys[1], "Reason", width=60),
               *(ExportColumn(k, str(h), width=20) for k, h in zip(keys[2:],
                                                                  frame.columns[2:], strict=True))]
    buffer = io.BytesIO()
    write_xlsx(buffer, columns, [frame.set_axis(keys, axis=1)], sheet_name="Rejected rows")
    return buffer.getvalue()


# ----------------------------------------------------------------------- writing


def new_ids(tx: Session, sequence: str, count: int) -> np.ndarray:
    """`count` fresh ids from `sequence`, drawn in one statement."""
    if count == 0:
        return np.array([], dtype=np.int64)
    source = "range(?)" if tx.dialect == "duckdb" else "generate_series(1, ?)"
    found = tx.fetch_frame(f"SELECT nextval('{sequence}') AS id FROM {source}", (count,))
    return found["id"].to_numpy(dtype=np.int64)


def _audit(tx: Session, user: User, noun: str, ids, action: str, batch_id: int, stamp,
           fields: pd.DataFrame | None = None) -> None:
    """Audit entries in bulk: one per record, or one per changed field when `fields` holds
    entity_id, field, old_value and new_value."""
    if fields is None:
        fields = pd.DataFrame({"entity_id": np.asarray(ids, dtype=np.int64), "field": "",
                               "old_value": None, "new_value": None})
    if fields.empty:
        return
    frame = fields.assign(changed_at=stamp, user_id=user.id, entity=noun, action=action,
                          batch_id=batch_id)
    frame["changed_at"] = pd.Series(stamp, index=frame.index).astype("datetime64[s]")
    tx.insert_frame("audit_log", frame[["changed_at", "user_id", "entity", "entity_id",
                                        "action", "field", "old_value", "new_value",
                                        "batch_id"]])


def _create_companies(tx: Session, user: User, batch_id: int, creating: pd.DataFrame,
                      updating: pd.DataFrame, stamp) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Make the companies the file names that do not exist yet, one per name and country."""
    from crm.names import company_name_key

    both = pd.concat([creating, updating])
    new = both[both["company_id"].isna() & both["_company_name"].notna()]
    if new.empty:
        return creating, updating, 0
    firsts = new.drop_duplicates("_company_key_country")
    ids = new_ids(tx, "companies_id_seq", len(firsts))
    companies = pd.DataFrame({
        "id": ids, "name": firsts["_company_name"].to_numpy(),
        "name_key": [company_name_key(n) for n in firsts["_company_name"]],
        "country_code": firsts["country_code"].astype(object).to_numpy(),
        "owner_id": pd.array(firsts["owner_id"].to_numpy(), dtype="Int64"),
        "department_id": pd.array(firsts["department_id"].to_numpy(), dtype="Int64"),
        "created_by": user.id, "modified_by": user.id})
    companies["country_code"] = companies["country_code"].where(
        companies["country_code"].notna(), None)
    companies["created_at"] = pd.Series(stamp, index=companies.index).astype("datetime64[s]")
    companies["updated_at"] = companies["created_at"]
    tx.insert_frame("companies", companies)
    tx.insert_frame("import_batch_companies",
                    pd.DataFrame({"batch_id": batch_id, "company_id": ids}))
    _audit(tx, user, "company", ids, "create", batch_id, stamp)
    search.refresh(tx, Entity.COMPANY, Condition(
        "id IN (SELECT company_id FROM import_batch_companies WHERE batch_id = ?)", (batch_id,)))
    by_key = dict(zip(firsts["_company_key_country"], ids, strict=True))

    def fill(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        missing = frame["company_id"].isna() & frame["_company_name"].notna()
        frame.loc[missing, "company_id"] = frame.loc[missing, "_company_key_country"].map(by_key)
        return frame

    return fill(creating), fill(updating), len(firsts)


def _create(tx: Session, user: User, entity: Entity, batch_id: int, rows: pd.DataFrame,
            stamp) -> None:
    if rows.empty:
        return
    table, noun = TABLES[entity], entity.value
    ids = new_ids(tx, f"{table}_id_seq", len(rows))
    frame = pd.DataFrame({"id": ids})
    for column in record_columns(entity):
        values = rows[column].reset_index(drop=True)
        if column in TEXT_COLUMNS:
            values = values.fillna("").astype(str)
        elif column in DEFAULTS:
            values = values.astype("boolean").fillna(DEFAULTS[column]).astype(bool)
        elif column in ("country_code",):
            values = values.astype(object).where(values.notna(), None)
        elif column != "created_at":
            values = pd.array(values.to_numpy(), dtype="Int64")
        frame[column] = values
    stamps = pd.Series(stamp, index=frame.index).astype("datetime64[s]")
    frame["created_at"] = frame["created_at"].astype("datetime64[s]").fillna(stamps)
    frame["updated_at"] = stamps
    frame["created_by"] = user.id
    frame["modified_by"] = user.id
    frame["row_version"] = 1
    tx.insert_frame(table, frame)
    tx.insert_frame("import_batch_items", pd.DataFrame({
        "batch_id": batch_id, "entity_id": ids, "action": "create", "before_image": None,
        "row_version": 1}))
    _audit(tx, user, noun, ids, "create", batch_id, stamp)
    subscribed = ids[frame["newsletter_opt_in"].to_numpy(dtype=bool)]
    if len(subscribed):
        events = pd.DataFrame({"entity": noun, "entity_id": subscribed, "event": "subscribed",
                               "user_id": user.id, "source": f"import:{batch_id}"})
        events["occurred_at"] = pd.Series(stamp, index=events.index).astype("datetime64[s]")
        tx.insert_frame("subscription_events", events)


def _update(tx: Session, user: User, entity: Entity, batch_id: int, rows: pd.DataFrame,
            stamp) -> None:
    """Only the file's non-empty cells change; each record's before-image is kept for undo."""
    if rows.empty:
        return
    table, noun = TABLES[entity], entity.value
    columns = updatable_columns(entity)
    new = pd.DataFrame({"id": rows["_match"].to_numpy(dtype=np.int64)})
    for column in columns:
        values = rows[column].reset_index(drop=True)
        if column in ("owner_id", "department_id"):
            values = values.where(rows["_owner_given"].to_numpy(), None)
        if column in DEFAULTS:
            values = values.astype("boolean")
        elif column not in TEXT_COLUMNS and column != "country_code":
            values = pd.array(values.to_numpy(), dtype="Int64")
        else:
            values = values.astype(object).where(values.notna(), None)
        new[column] = values
    with temporary_table(tx, _column_types(tx, table, ["id", *columns]), new) as incoming:
        before = tx.fetch_frame(
            f"SELECT {', '.join('t.' + c for c in ['id', *columns])}, t.row_version "
            f"FROM {table} t JOIN {incoming} u ON u.id = t.id ORDER BY t.id")
        assignments = ", ".join(f"{c} = coalesce(u.{c}, {table}.{c})" for c in columns)
        tx.execute(f"UPDATE {table} SET {assignments}, updated_at = ?, modified_by = ?, "
                   f"row_version = {table}.row_version + 1 FROM {incoming} u "
                   f"WHERE {table}.id = u.id", (stamp, user.id))
    images = before[["id", *columns]].to_json(orient="records", lines=True).splitlines()
    tx.insert_frame("import_batch_items", pd.DataFrame({
        "batch_id": batch_id, "entity_id": before["id"].to_numpy(dtype=np.int64),
        "action": "update", "before_image": images,
        "row_version": before["row_version"].to_numpy(dtype=np.int64) + 1}))
    _audit(tx, user, noun, None, "update", batch_id, stamp,
           fields=_changes(before, new.set_index("id").loc[before["id"]].reset_index(), columns))
    _subscription_changes(tx, user, noun, batch_id, before, new, stamp)


def _column_types(tx: Session, table: str, columns: list[str]) -> str:
    """`name TYPE, ...` for a temporary table shaped like some of `table`'s columns."""
    rows = tx.fetch_all(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "AND table_schema = current_schema()", (table,))
    types = {r["column_name"]: r["data_type"] for r in rows}
    return ", ".join(f"{c} {types[c]}" for c in columns)


def _changes(before: pd.DataFrame, new: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    parts = []
    for column in columns:
        given = new[column].notna().to_numpy(dtype=bool)
        old_text = before[column].astype(object).where(before[column].notna(), None).map(
            lambda v: None if v is None else str(v))
        new_text = new[column].astype(object).where(new[column].notna(), None).map(
            lambda v: None if v is None else str(v))
        changed = given & (old_text.to_numpy() != new_text.to_numpy())
        if changed.any():
            parts.append(pd.DataFrame({"entity_id": before["id"].to_numpy()[changed],
                                       "field": column,
                                       "old_value": old_text.to_numpy()[changed],
                                       "new_value": new_text.to_numpy()[changed]}))
    if not parts:
        return pd.DataFrame(columns=["entity_id", "field", "old_value", "new_value"])
    return pd.concat(parts, ignore_index=True)


def _subscription_changes(tx: Session, user: User, noun: str, batch_id: int,
                          before: pd.DataFrame, new: pd.DataFrame, stamp) -> None:
    """An update that opts a person in or out is a subscription event like any other."""
    wanted = new.set_index("id")["newsletter_opt_in"].reindex(before["id"]).to_numpy()
    was = before["newsletter_opt_in"].to_numpy(dtype=bool)
    given = ~pd.isna(wanted)
    now_in = np.where(given, wanted, was).astype(bool)
    flipped = now_in != was
    if not flipped.any():
        return
    events = pd.DataFrame({
        "entity": noun, "entity_id": before["id"].to_numpy()[flipped],
        "event": np.where(now_in[flipped], "resubscribed", "unsubscribed"),
        "user_id": user.id, "source": f"import:{batch_id}"})
    events["occurred_at"] = pd.Series(stamp, index=events.index).astype("datetime64[s]")
    tx.insert_frame("subscription_events", events)
