"""The permission table: what each role may do, per action and kind of record.

`crm.access.scope` says *which* records a user reaches; this table says *whether* their role
may act at all. Defaults follow the seeds and how CRMs of this kind split the work:

- operators add, edit and import leads, contacts, companies and requests, but do not convert
  leads, turn requests into deals or send mass mailings;
- sales managers do all of that for their department, and convert and mail besides;
- super operators are operators, and company managers sales managers, for every department;
  both also share segments with the whole company and manage tags;
- analysts read everything in their scope and export it, share segments, and change no record;
- admins may do everything, and alone manage users, departments and this table.

Every role's contacts export holds only the contacts assigned to the user (the seeds' rule);
"export every contact in scope" is an action an admin may grant to a role.

An admin's changes are stored as differences from the defaults (`role_permissions`), read
with the user on every request (`crm.access.users`), and audited; "reset to defaults" removes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from crm.common.clock import now
from crm.common.errors import Refusal
from crm.identity.entities import Action, Entity, Grants
from crm.identity.roles import Role
from crm.identity.user import User, stamp_id
from crm.storage import audit
from crm.storage.db import Database, Session


class NotPermitted(PermissionError, Refusal):
    """The role may not do this; nothing was written. The message says why."""


@dataclass(frozen=True)
class Permission:
    action: Action
    entity: Entity
    phrase: str  # "convert leads": completes "may not …" and labels the admin grid

    @property
    def key(self) -> tuple[Action, Entity]:
        return self.action, self.entity


L, C, CO, R, D = Entity.LEAD, Entity.CONTACT, Entity.COMPANY, Entity.REQUEST, Entity.DEAL
A = Action

# Every (action, kind) the table has, in the order the admin grid shows them.
PERMISSIONS: tuple[Permission, ...] = (
    *(Permission(A.VIEW, e, f"see {e.plural}") for e in (L, C, CO, R, D)),
    *(Permission(A.ADD, e, f"add {e.plural}") for e in (L, C, CO, R)),
    *(Permission(A.EDIT, e, f"edit {e.plural}") for e in (L, C, CO, R)),
    *(Permission(A.IMPORT, e, f"import {e.plural}") for e in (L, C, R)),
    *(Permission(A.UNDO_IMPORT, e, f"undo imports of {e.plural}") for e in (L, C)),
    Permission(A.CONVERT, L, "convert leads"),
    Permission(A.CONVERT, R, "turn requests into deals"),
    *(Permission(A.EXPORT, e, f"export {e.plural}") for e in (L, C, CO)),
    Permission(A.EXPORT_ALL, C, "export every contact in scope (not only those assigned to "
                                "them)"),
    *(Permission(A.VIP, e, f"mark {e.plural} VIP") for e in (L, C)),
    Permission(A.TAG, C, "tag contacts"),
    *(Permission(A.MAIL, e, f"create and send mass mailings to {e.plural}") for e in (L, C)),
    Permission(A.SHARE, Entity.SEGMENT, "share segments with the whole company"),
    Permission(A.MANAGE, Entity.TAG, "rename and merge tags"),
    Permission(A.MANAGE, Entity.USER, "manage users, departments and permissions"),
)
BY_KEY: dict[tuple[Action, Entity], Permission] = {p.key: p for p in PERMISSIONS}
# As stored ("convert", "lead"); a stored row no release knows (any more) finds nothing here.
BY_NAME: dict[tuple[str, str], tuple[Action, Entity]] = {
    (p.action.value, p.entity.value): p.key for p in PERMISSIONS}

def _pairs(actions: Iterable[Action], entities: Iterable[Entity]) -> set[tuple[Action, Entity]]:
    return {(a, e) for a in actions for e in entities if (a, e) in BY_KEY}


_SEEING = _pairs([A.VIEW], [L, C, CO, R, D])
_EXPORTING = _pairs([A.EXPORT], [L, C, CO])
_WORKING = (_SEEING | _EXPORTING | _pairs([A.ADD, A.EDIT, A.IMPORT, A.UNDO_IMPORT], [L, C, CO, R])
            | _pairs([A.VIP, A.TAG], [L, C]))
_SELLING = _WORKING | _pairs([A.CONVERT, A.MAIL], [L, C, R])
_COMPANY_WIDE = {(A.SHARE, Entity.SEGMENT), (A.MANAGE, Entity.TAG)}

DEFAULTS: Mapping[Role, Grants] = {
    Role.OPERATOR: frozenset(_WORKING),
    Role.SALES_MANAGER: frozenset(_SELLING),
    Role.SUPER_OPERATOR: frozenset(_WORKING | _COMPANY_WIDE),
    Role.COMPANY_MANAGER: frozenset(_SELLING | _COMPANY_WIDE),
    Role.ANALYST: frozenset(_SEEING | _EXPORTING | {(A.SHARE, Entity.SEGMENT)}),
    Role.ADMIN: frozenset(set(BY_KEY) - {(A.EXPORT_ALL, C)}),
}
assert all(grants <= set(BY_KEY) for grants in DEFAULTS.values())

# An admin who could take this from the admin role would lock everyone out of the table.
_LOCKED = {(Role.ADMIN, A.MANAGE, Entity.USER)}


def permission(action: Action | str, entity: Entity | str) -> Permission:
    """The table's row for (action, entity); ValueError naming every row when it has none."""
    found = next((p for p in PERMISSIONS if (p.action, p.entity) == (action, entity)), None)
    if found is None:
        known = ", ".join(f"{p.action} {p.entity}" for p in PERMISSIONS)
        raise Refusal(f"There is no permission “{action} {entity}”; the table has: "
                      f"{known}.")
    return found


def effective(role: Role, overrides: Iterable[tuple[str, str, bool]] = ()) -> Grants:
    """The role's grants: its defaults with an admin's overrides applied."""
    grants = set(DEFAULTS[role])
    for action, entity, allowed in overrides:
        key = BY_NAME.get((action, entity))
        if key is not None:
            (grants.add if allowed else grants.discard)(key)
    return frozenset(grants)


def parse_overrides(packed: str | None) -> list[tuple[str, str, bool]]:
    """The overrides as `crm.access.users` reads them with the user: "action:entity:1,…"."""
    found = []
    for item in (packed or "").split(","):
        if item.count(":") == 2:
            action, entity, allowed = item.split(":")
            found.append((action, entity, allowed == "1"))
    return found


OVERRIDES_SQL = ("(SELECT string_agg(p.action || ':' || p.entity || ':' || "
                 "CASE WHEN p.allowed THEN '1' ELSE '0' END, ',') "
                 "FROM role_permissions p WHERE p.role = {role})")


def table(db: Database | Session) -> dict[Role, Grants]:
    """Every role's effective grants."""
    rows = db.fetch_all("SELECT role, action, entity, allowed FROM role_permissions")
    return {role: effective(role, [(r["action"], r["entity"], r["allowed"])
                                   for r in rows if r["role"] == role.value])
            for role in Role}


def changed(db: Database | Session) -> list[dict]:
    """The admin's differences from the defaults, with who made them and when."""
    return db.fetch_all(
        "SELECT p.role, p.action, p.entity, p.allowed, p.changed_at, u.username AS changed_by "
        "FROM role_permissions p LEFT JOIN users u ON u.id = p.changed_by "
        "ORDER BY p.role, p.action, p.entity")


def can(user: User, action: Action | str, entity: Entity | str = Entity.LEAD) -> bool:
    """Whether the user's role may do `action` to `entity` at all, as the table says (which
    records: see `crm.access.scope`)."""
    key = (Action(action), Entity(entity))  # a pair the table does not have: nobody may
    grants = user.grants if user.grants is not None else DEFAULTS[user.role]
    return user.active and key in grants


def require(user: User, action: Action | str, entity: Entity | str) -> None:
    """Refuse, before anything is written, what the user's role may not do."""
    if not can(user, action, entity):
        raise NotPermitted(refusal(user, action, entity))


def refusal(user: User, action: Action | str, entity: Entity | str) -> str:
    """Why the user may not: the tooltip of a disabled button and the refusal's message."""
    if not user.active:
        return "Your account is deactivated."
    key = (Action(action), Entity(entity))
    phrase = BY_KEY[key].phrase if key in BY_KEY else f"{key[0].value} {key[1].plural}"
    return f"Your role ({user.role.label}) may not {phrase}."


def _require_manager(actor: User | None) -> None:
    if actor is not None:  # None: the command line, run by whoever runs the server
        require(actor, A.MANAGE, Entity.USER)


def set_allowed(actor: User | None, db: Database, role: Role | str, action: Action | str,
                entity: Entity | str, allowed: bool) -> bool:
    """Grant or revoke one permission of a role; returns whether anything changed."""
    return set_many(actor, db, {(Role(role), *permission(action, entity).key): allowed}) > 0


def set_many(actor: User | None, db: Database,
             wanted: Mapping[tuple[Role, Action, Entity], bool]) -> int:
    """Apply several grants and revocations in one transaction (the admin grid's save);
    returns how many changed. One audit entry per change."""
    _require_manager(actor)
    for (role, action, entity), allowed in wanted.items():
        permission(action, entity)
        if not allowed and (Role(role), Action(action), Entity(entity)) in _LOCKED:
            raise NotPermitted("The admin role keeps the right to manage users and "
                               "permissions; otherwise nobody could give it back.")
    changes = 0
    with db.transaction() as tx:
        current = table(tx)
        for (role, action, entity), allowed in wanted.items():
            role, key = Role(role), (Action(action), Entity(entity))
            if (key in current[role]) == allowed:
                continue
            tx.execute("DELETE FROM role_permissions WHERE role = ? AND action = ? "
                       "AND entity = ?", (role.value, key[0].value, key[1].value))
            if (key in DEFAULTS[role]) != allowed:
                tx.execute("INSERT INTO role_permissions (role, action, entity, allowed, "
                           "changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?)",
                           (role.value, key[0].value, key[1].value, allowed,
                            stamp_id(actor), now()))
            _audit(tx, actor, role, key, allowed)
            changes += 1
    return changes


def reset_defaults(actor: User | None, db: Database) -> int:
    """Remove every override; returns how many there were."""
    _require_manager(actor)
    with db.transaction() as tx:
        rows = tx.fetch_all("SELECT role, action, entity, allowed FROM role_permissions")
        for row in rows:
            key = BY_NAME.get((row["action"], row["entity"]))
            if key is not None and row["role"] in Role.__members__.values():
                _audit(tx, actor, Role(row["role"]), key, key in DEFAULTS[Role(row["role"])])
        tx.execute("DELETE FROM role_permissions")
    return len(rows)


def _audit(tx: Session, actor: User | None, role: Role, key: tuple[Action, Entity],
           allowed: bool) -> None:
    field = f"{role.value}:{key[0].value}:{key[1].value}"
    audit.record(tx, actor, "permission", 0, "grant" if allowed else "revoke",
                 old={field: not allowed}, new={field: allowed})
