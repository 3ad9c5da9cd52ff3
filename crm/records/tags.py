"""Tags on contacts: add and remove on checked or matching contacts; create, rename, merge.

Tags are one vocabulary for the whole company. Anyone who edits contacts may create tags and
put them on contacts in their scope; renaming and merging change every department's tags,
so only roles that work across departments may do that (see `crm.access`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from crm.access import Action, Entity, require, scope
from crm.common.errors import Refusal
from crm.identity.user import User
from crm.lists.bulk import target_condition
from crm.lists.listing import ListQuery
from crm.records.contacts import CONTACTS
from crm.storage import audit
from crm.storage.db import Database, Session
from crm.storage.writer import Writer


class TagError(Refusal):
    """A tag change that cannot be made, with the reason."""


def all_tags(db: Database) -> dict[int, str]:
    return {r["id"]: r["name"] for r in db.fetch_all("SELECT id, name FROM tags ORDER BY name")}


def tag_counts(user: User, db: Database) -> list[dict]:
    """Every tag with the number of contacts in the user's scope that carry it."""
    allowed = scope(user, Entity.CONTACT, Action.VIEW, alias="c")
    sql = ("SELECT t.id, t.name, count(c.id) AS contacts FROM tags t "
           "LEFT JOIN contact_tags x ON x.tag_id = t.id "
           f"LEFT JOIN contacts c ON c.id = x.contact_id AND {allowed.sql} "
           "GROUP BY t.id, t.name ORDER BY t.name")
    # The Contacts page draws these on every rerun (a popover's content is built while it is
    # closed); at a million contacts they take half a second. Kept per scope and generation.
    return db.read_remembered("fetch_all", sql, allowed.params)


def _clean(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise TagError("A tag needs a name.")
    if len(name) > 60:
        raise TagError("A tag name has at most 60 characters.")
    if any(c in name for c in ",;|"):
        raise TagError("A tag name cannot hold , ; or |: they separate tags in exported and "
                       "imported files.")
    return name


def create_tag(user: User, db: Database, name: str) -> int:
    require(user, Action.TAG, Entity.CONTACT)
    name = _clean(name)
    with db.transaction() as tx:
        return ensure_tags(tx, user, [name])[name.casefold()]


def ensure_tags(tx: Session, user: User, names: Iterable[str]) -> dict[str, int]:
    """The id of each tag named (compared without case; keyed by the casefolded name),
    making the ones that do not exist yet. Names must be clean (see `_clean`)."""
    wanted = {n.casefold(): n for n in names}
    ids = {r["name"].casefold(): int(r["id"]) for r in tx.fetch_all("SELECT id, name FROM tags")
           if r["name"].casefold() in wanted}
    for key, name in wanted.items():
        if key not in ids:
            ids[key] = int(tx.scalar("INSERT INTO tags (name) VALUES (?) RETURNING id", (name,)))
            audit.record(tx, user, "tag", ids[key], "create", new={"name": name})
    return ids


def rename_tag(user: User, db: Database, tag_id: int, name: str) -> None:
    require(user, Action.MANAGE, Entity.TAG)
    name = _clean(name)
    with db.transaction() as tx:
        old = tx.scalar("SELECT name FROM tags WHERE id = ?", (tag_id,))
        if old is None:
            raise TagError("No such tag.")
        if tx.scalar("SELECT count(*) FROM tags WHERE lower(name) = lower(?) AND id <> ?",
                     (name, tag_id)):
            raise TagError(f"A tag named “{name}” exists already: merge the two instead.")
        tx.execute("UPDATE tags SET name = ? WHERE id = ?", (name, tag_id))
        audit.record(tx, user, "tag", tag_id, "update", old={"name": old}, new={"name": name})


def merge_tags(user: User, db: Database, source_ids: Sequence[int], target_id: int) -> int:
    """Move every contact of the source tags to the target tag and delete the sources.

    Returns the number of contacts that gained the target tag.
    """
    require(user, Action.MANAGE, Entity.TAG)
    sources = [int(i) for i in source_ids if int(i) != int(target_id)]
    if not sources:
        raise TagError("Choose at least one other tag to merge into the target.")
    with db.transaction() as tx:
        if tx.scalar("SELECT count(*) FROM tags WHERE id = ?", (target_id,)) == 0:
            raise TagError("No such target tag.")
        marks = ", ".join("?" for _ in sources)
        names = {int(r["id"]): r["name"] for r in tx.fetch_all(
            f"SELECT id, name FROM tags WHERE id IN ({marks}, ?)", (*sources, target_id))}
        gained = Writer(tx, user).merge_link_values("tags", [s for s in sources if s in names],
                                                    int(target_id), names)
        tx.execute(f"DELETE FROM tags WHERE id IN ({marks})", sources)
        merged = ", ".join(sorted(names[s] for s in sources if s in names))
        audit.record(tx, user, "tag", int(target_id), "merge", old={"merged": merged})
    return int(gained)


def add_tags(user: User, db: Database, tag_ids: Sequence[int], *,
             query: ListQuery | None = None, ids: Sequence[int] | None = None) -> int:
    """Put tags on checked contacts or on every matching contact; returns new taggings."""
    return change_tags(user, db, add=tag_ids, query=query, ids=ids)


def remove_tags(user: User, db: Database, tag_ids: Sequence[int], *,
                query: ListQuery | None = None, ids: Sequence[int] | None = None) -> int:
    """Take tags off checked or matching contacts; returns removed taggings."""
    return change_tags(user, db, remove=tag_ids, query=query, ids=ids)


def change_tags(user: User, db: Database, *, add: Sequence[int] = (),
                remove: Sequence[int] = (), query: ListQuery | None = None,
                ids: Sequence[int] | None = None) -> int:
    """Put some tags on and take others off the checked or matching contacts, in one
    transaction (a contact's "Save tags" is one change); returns the taggings changed."""
    removing = sorted(dict.fromkeys(int(t) for t in remove))
    adding = sorted(dict.fromkeys(int(t) for t in add if int(t) not in removing))
    if not adding and not removing:
        raise TagError("Choose at least one tag.")
    condition = target_condition(user, CONTACTS, query or ListQuery(), ids, Action.TAG)
    total = 0
    with db.transaction() as tx:
        writer = Writer(tx, user)
        for tag_id, change in [*((t, writer.add_links) for t in adding),
                               *((t, writer.remove_links) for t in removing)]:
            name = tx.scalar("SELECT name FROM tags WHERE id = ?", (tag_id,))
            if name is None:
                raise TagError("No such tag.")
            total += change(Entity.CONTACT, "tags", tag_id, name, condition,
                            alias=CONTACTS.alias)
    return total
