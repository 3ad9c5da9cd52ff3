"""Writing a checked import: all accepted rows in one transaction, recorded as an import batch.

Rows go in through the one write path (crm.storage.writer) with a few set-based statements (bulk
inserts of frames, one UPDATE joined to the new values), never a statement per row.

The commit first asks the database the preview's question again: a row that now matches
another record, or whose matched record changed since the preview, refuses the whole import
(nothing written; preview again), so an import never overwrites an edit nobody reviewed and
never adds a duplicate of a record created meanwhile.

An update changes the fields the file holds and nothing else. Newsletter consent is special:
a file's "no" is an opt-out, which suppresses the address (crm.storage.writer); a file's "yes"
subscribes only people who never unsubscribed: an import never undoes an unsubscribe.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crm.access import Action, Condition, Entity, require
from crm.common.clock import now
from crm.common.errors import Refusal
from crm.common.names import company_name_key
from crm.identity.entities import person_table
from crm.identity.user import User
from crm.importing.fields import FIELDS
from crm.importing.preview import ImportProblem, Preview, match_existing
from crm.lists.export import ExportColumn, write_xlsx
from crm.records.tags import ensure_tags
from crm.storage.db import Database, ids_condition, temporary_table
from crm.storage.writer import ADDRESS_SQL, LINKS, Writer, new_ids

ON_DUPLICATE = ("skip", "update", "create")
TEXT_COLUMNS = ("first_name", "middle_name", "last_name", "title", "email", "secondary_email",
                "phone", "mobile", "city", "address", "description", "company_name",
                "company_email", "company_phone", "website", "company_address")
DEFAULTS = {"vip": False, "disqualified": False, "newsletter_opt_in": True}


class ImportRefused(Refusal):
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
    kept_unsubscribed: int = 0  # rows saying "subscribed" for people who had unsubscribed

    def counts(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "skipped": self.skipped,
                "rejected": self.rejected}


def record_columns(entity: Entity) -> list[str]:
    """The table columns an import can fill on `entity`."""
    columns = dict.fromkeys(f.column for f in FIELDS[entity].values() if f.column)
    return [*columns, "department_id"]  # (opt-in and opt-out fill one column)


def updatable_columns(entity: Entity) -> list[str]:
    """What an update may change (and undo restores): all but the date added and the
    newsletter consent (a subscription change of its own, never undone)."""
    return [c for c in record_columns(entity) if c not in ("created_at", "newsletter_opt_in")]


def commit(user: User, db: Database, entity: Entity | str, preview: Preview,
           on_duplicate: str = "skip", skip_invalid: bool = False,
           file_name: str | None = None) -> ImportResult:
    """Import the preview's rows; rows matching an existing record are skipped, update it
    (only the file's non-empty cells) or are created anyway, as `on_duplicate` says."""
    entity = Entity(entity)
    require(user, Action.IMPORT, entity)  # also here: the preview may predate a revocation
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate must be one of {', '.join(ON_DUPLICATE)}")
    if entity is not preview.entity:
        raise Refusal("The preview was made for another kind of record.")
    if preview.column_problems:
        raise ImportRefused(preview.column_problems, " ".join(
            p.message for p in preview.column_problems) + " Nothing was imported.")
    if preview.problems and not skip_invalid:
        raise ImportRefused(preview.problems)
    bad = preview.problem_rows
    rows = preview.rows[~preview.rows["_row"].isin(bad)].reset_index(drop=True)
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
    # The batch belongs to a department, whose staff may see and undo it: the importer's, or
    # for someone of no department (an admin) the one department all of its rows went to.
    department = user.department_id
    if department is None and "department_id" in rows and rows["department_id"].nunique() == 1:
        department = int(rows["department_id"].dropna().iloc[0])
    with db.transaction() as tx:
        _still_as_previewed(tx, user, preview, rows, check_new=on_duplicate != "create")
        batch_id = tx.scalar(
            "INSERT INTO import_batches (entity, user_id, file_name, created_at, created_count, "
            "updated_count, skipped_count, rejected_count, department_id, on_duplicate) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (entity.value, user.id, file_name or preview.file_name, stamp, len(creating),
             len(updating), skipped, len(bad), department, on_duplicate))
        writer = Writer(tx, user, batch_id=batch_id, stamp=stamp)
        new_companies = 0
        if entity is Entity.CONTACT:
            creating, new_companies = _create_companies(writer, creating)
        created = _create(writer, entity, creating)
        images = _update(writer, entity, updating)
        kept_unsubscribed = _subscriptions(writer, entity, creating, created, updating)
        _tags(writer, entity, [*created.tolist(), *updating["_match"].astype(int).tolist()],
              [*creating["_tags"], *updating["_tags"]])
        _record_items(writer, entity, created, images)
    return ImportResult(batch_id=batch_id, entity=entity,
                        file_name=file_name or preview.file_name, created=len(creating),
                        updated=len(updating), skipped=skipped, rejected=len(bad),
                        rejected_rows=rejected_rows(preview), problems=preview.problems,
                        new_companies=new_companies, kept_unsubscribed=kept_unsubscribed)


def _still_as_previewed(tx, user: User, preview: Preview, rows: pd.DataFrame, *,
                        check_new: bool) -> None:
    """Refuse (nothing written) when the records the rows match changed since the preview:
    another record matches now, a match is gone, or a matched record was edited."""
    if rows.empty:
        return
    now_found = match_existing(tx, user, preview.entity, rows)
    now_id = pd.Series(pd.NA, index=rows.index, dtype="Int64")
    now_version = pd.Series(pd.NA, index=rows.index, dtype="Int64")
    if not now_found.empty:
        positions = now_found["pos"].to_numpy(dtype=np.int64)
        now_id.iloc[positions] = now_found["id"].to_numpy(dtype=np.int64)
        now_version.iloc[positions] = now_found["version"].to_numpy(dtype=np.int64)
    before, seen = rows["_match"].astype("Int64"), rows["_match_version"].astype("Int64")
    same = (before == now_id).fillna(False).to_numpy(dtype=bool)
    added = (before.isna() & now_id.notna()).to_numpy(dtype=bool) & check_new
    gone = before.notna().to_numpy(dtype=bool) & ~same
    edited = same & (now_version != seen).fillna(False).to_numpy(dtype=bool)
    noun = preview.entity.value
    problems = []
    for i in np.flatnonzero(added | gone | edited):  # only the rows that changed: few
        row, was = int(rows["_row"].iat[i]), before.iat[i]
        if added[i]:
            message = f"now matches {noun} {now_id.iat[i]}, added after the preview"
        elif gone[i]:
            message = f"{noun} {was} that it matched changed after the preview"
        else:
            message = f"{noun} {was} was changed after the preview"
        problems.append(ImportProblem(row, "", message))
    if problems:
        raise ImportRefused(problems, f"{len(problems):,} rows match records that changed "
                            "after the preview; nothing was imported. Preview the file again.")


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


def _create_companies(writer: Writer, creating: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Make the companies the new rows name that do not exist yet, one per name and country
    (an update never creates a company: see preview._update_companies)."""
    new = creating[creating["company_id"].isna() & creating["_company_name"].notna()]
    if new.empty:
        return creating, 0
    firsts = new.drop_duplicates("_company_key_country")
    ids = new_ids(writer.tx, Entity.COMPANY, len(firsts))
    companies = pd.DataFrame({
        "id": ids, "name": firsts["_company_name"].to_numpy(),
        "name_key": [company_name_key(n) for n in firsts["_company_name"]],
        "country_code": firsts["country_code"].astype(object).to_numpy(),
        "owner_id": pd.array(firsts["owner_id"].to_numpy(), dtype="Int64"),
        "department_id": pd.array(firsts["department_id"].to_numpy(), dtype="Int64")})
    companies["country_code"] = companies["country_code"].where(
        companies["country_code"].notna(), None)
    writer.insert_frame(Entity.COMPANY, companies)
    writer.tx.insert_frame("import_batch_companies",
                           pd.DataFrame({"batch_id": writer.batch_id, "company_id": ids}))
    by_key = dict(zip(firsts["_company_key_country"], ids, strict=True))
    creating = creating.copy()
    missing = creating["company_id"].isna() & creating["_company_name"].notna()
    creating.loc[missing, "company_id"] = creating.loc[missing, "_company_key_country"].map(
        by_key)
    return creating, len(firsts)


def _create(writer: Writer, entity: Entity, rows: pd.DataFrame) -> np.ndarray:
    if rows.empty:
        return np.array([], dtype=np.int64)
    ids = new_ids(writer.tx, entity, len(rows))
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
    return writer.insert_frame(entity, frame, subscribed_by=f"import:{writer.batch_id}")


def _update(writer: Writer, entity: Entity, rows: pd.DataFrame) -> pd.DataFrame:
    """Only the file's non-empty cells change, over the versions the preview saw. Returns
    each record's before-image: the old value of every field the import changed."""
    if rows.empty:
        return pd.DataFrame({"id": pd.Series([], dtype="int64"), "image": []})
    table = person_table(entity)
    columns = updatable_columns(entity)
    new = pd.DataFrame({"id": rows["_match"].to_numpy(dtype=np.int64)})
    for column in columns:
        values = rows[column].reset_index(drop=True)
        if column in ("owner_id", "department_id"):
            values = values.where(rows["_owner_given"].to_numpy(), None)
        if column == "company_id":
            values = rows["_update_company_id"].reset_index(drop=True)
        if column in DEFAULTS:
            values = values.astype("boolean")
        elif column not in TEXT_COLUMNS and column != "country_code":
            values = pd.array(values.to_numpy(), dtype="Int64")
        else:
            values = values.astype(object).where(values.notna(), None)
        new[column] = values
    these = ids_condition(new["id"].tolist())
    before = writer.tx.fetch_frame(
        f"SELECT id, {', '.join(columns)} FROM {table} WHERE {these.sql} ORDER BY id",
        these.params)
    versions = rows["_match_version"].to_numpy(dtype=np.int64)
    writer.update_from(entity, new, versions=versions, action="update")
    return _images(before, new.set_index("id").loc[before["id"]].reset_index(), columns)


def _images(before: pd.DataFrame, new: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """For each record, the old values of the fields the import changed (what undo restores)."""
    images: list[dict] = [{} for _ in range(len(before))]
    for column in columns:
        given = new[column].notna().to_numpy(dtype=bool)
        old_text = before[column].astype(object).where(before[column].notna(), None)
        new_text = new[column].astype(object).where(new[column].notna(), None)
        changed = given & np.array([str(a) != str(b) for a, b in zip(old_text, new_text,
                                                                      strict=True)])
        for i in np.flatnonzero(changed):
            value = old_text.iat[i]
            images[i][column] = value.item() if hasattr(value, "item") else value
    return pd.DataFrame({"id": before["id"].to_numpy(dtype=np.int64), "image": images})


def _subscriptions(writer: Writer, entity: Entity, creating: pd.DataFrame,
                   created: np.ndarray, updating: pd.DataFrame) -> int:
    """A file's "no" is an opt-out: the person is unsubscribed and the address suppressed.
    A "yes" subscribes only people who never unsubscribed (an import never lifts an
    unsubscribe); returns how many rows asked for that in vain."""
    source = f"import:{writer.batch_id}"
    table = person_table(entity)
    wanted = pd.concat([
        pd.DataFrame({"id": created, "optin": creating["newsletter_opt_in"].astype(
            "boolean").to_numpy()}),
        pd.DataFrame({"id": updating["_match"].to_numpy(dtype=np.int64),
                      "optin": updating["newsletter_opt_in"].astype("boolean").to_numpy()}),
    ], ignore_index=True)
    out = wanted.loc[wanted["optin"].eq(False).fillna(False), "id"].tolist()
    if out:
        these = ids_condition(out, "t.id")
        updated_out = sorted(set(out) - set(created.tolist()))  # new rows start opted out
        if updated_out:
            writer.set_subscription(entity, ids_condition(updated_out, "t.id"), False,
                                    source=source, note="opted out in the imported file")
        addresses = [r["email"] for r in writer.tx.fetch_all(
            f"SELECT t.email FROM {table} t WHERE {these.sql} AND trim(t.email) <> ''",
            these.params)]
        writer.suppress(addresses, source=source, note="opted out in the imported file")
    asked = [int(i) for i in updating.loc[
        updating["newsletter_opt_in"].astype("boolean").eq(True).fillna(False).to_numpy(),
        "_match"]]
    if not asked:
        return 0
    these = ids_condition(asked, "t.id")
    never_left = Condition(
        "t.unsubscribed_at IS NULL AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE "
        f"s.address = {ADDRESS_SQL.format(column='t.email')})")
    writer.set_subscription(entity, these & never_left, True, source=source)
    return int(writer.tx.scalar(f"SELECT count(*) FROM {table} t WHERE {these.sql} "
                                "AND NOT t.newsletter_opt_in", these.params))


def _tags(writer: Writer, entity: Entity, ids: list[int],
          names: list[tuple[str, ...]]) -> None:
    """Put the file's tags on the records (making tags the workspace lacks); a tag is only
    added, never taken away. Which tag went on which record is kept for undo."""
    pairs = pd.DataFrame({"entity_id": ids, "name": names}).explode("name").dropna()
    if pairs.empty:
        return
    tag_ids = ensure_tags(writer.tx, writer.actor, pairs["name"])
    pairs["tag_id"] = pairs["name"].str.casefold().map(tag_ids)
    pairs = pairs.drop_duplicates(["entity_id", "tag_id"])
    link_table, own, other = LINKS["tags"][entity]
    with temporary_table(writer.tx, "entity_id BIGINT, tag_id BIGINT",
                         pairs[["entity_id", "tag_id"]].astype("int64")) as wanted:
        writer.tx.execute(
            "INSERT INTO import_batch_tags (batch_id, entity_id, tag_id) SELECT ?, w.entity_id, "
            f"w.tag_id FROM {wanted} w WHERE NOT EXISTS (SELECT 1 FROM {link_table} x "
            f"WHERE x.{own} = w.entity_id AND x.{other} = w.tag_id)", (writer.batch_id,))
    for tag_id, name in pairs.drop_duplicates("tag_id")[["tag_id", "name"]].itertuples(
            index=False):
        writer.add_links(entity, "tags", int(tag_id), name, batch_tags(writer.batch_id, tag_id))


def batch_tags(batch_id: int, tag_id: int) -> Condition:
    """The records (alias t) an import batch gave this tag."""
    return Condition("t.id IN (SELECT entity_id FROM import_batch_tags WHERE batch_id = ? "
                     "AND tag_id = ?)", (batch_id, int(tag_id)))


def _record_items(writer: Writer, entity: Entity, created: np.ndarray,
                  images: pd.DataFrame) -> None:
    """The batch's records with their version after the import (what undo compares) and
    the before-images of the updated ones."""
    ids = [*created.tolist(), *images["id"].tolist()]
    if not ids:
        return
    these = ids_condition(ids)
    versions = {int(r["id"]): int(r["row_version"]) for r in writer.tx.fetch_all(
        f"SELECT id, row_version FROM {person_table(entity)} WHERE {these.sql}", these.params)}
    items = pd.DataFrame({
        "batch_id": writer.batch_id,
        "entity_id": np.array(ids, dtype=np.int64),
        "action": ["create"] * len(created) + ["update"] * len(images),
        "before_image": [None] * len(created) + [json.dumps(i, default=str)
                                                  for i in images["image"]],
        "row_version": [versions[i] for i in ids]})
    writer.tx.insert_frame("import_batch_items", items)
