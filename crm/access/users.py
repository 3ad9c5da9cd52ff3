"""Users and departments: who works here, in which role and department.

Only admins manage users and departments; the access policy says so and every function here
asks it first.
"""

from __future__ import annotations

from collections.abc import Iterable

from crm.access.permissions import OVERRIDES_SQL, effective, parse_overrides, require
from crm.common.clock import now
from crm.common.errors import Refusal
from crm.identity.entities import Action, Entity
from crm.identity.roles import DEPARTMENT_REQUIRED, Role, owner_roles_sql
from crm.identity.user import MIN_PASSWORD_LENGTH, USERNAME_PATTERN, User, hash_password, stamp_id
from crm.storage import audit
from crm.storage.db import Database, IntegrityError, Session


class UserError(Refusal):
    """A user or department change that cannot be made, with the reason."""


_USER_SELECT = f"""
    SELECT u.id, u.username, u.full_name, u.email, u.role, u.department_id, u.active,
           d.name AS department_name, {OVERRIDES_SQL.format(role="u.role")} AS overrides,
           (SELECT string_agg(CAST(x.department_id AS VARCHAR), ',') FROM user_departments x
            WHERE x.user_id = u.id) AS assigned
    FROM users u LEFT JOIN departments d ON d.id = u.department_id
"""


def _user(row: dict) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        full_name=row["full_name"],
        email=row["email"],
        role=Role(row["role"]),
        department_id=row["department_id"],
        active=bool(row["active"]),
        department_name=row["department_name"],
        grants=effective(Role(row["role"]), parse_overrides(row.get("overrides"))),
        assigned=frozenset(int(d) for d in (row.get("assigned") or "").split(",") if d),
    )


def get_user(db: Database | Session, username: str) -> User | None:
    row = db.fetch_one(f"{_USER_SELECT} WHERE u.username = ?", (username.strip().lower(),))
    return _user(row) if row else None


def get_user_by_id(db: Database | Session, user_id: int) -> User | None:
    row = db.fetch_one(f"{_USER_SELECT} WHERE u.id = ?", (user_id,))
    return _user(row) if row else None


def list_users(actor: User, db: Database) -> list[User]:
    require_admin(actor)
    return [_user(r) for r in db.fetch_all(f"{_USER_SELECT} ORDER BY u.username")]


def list_departments(db: Database | Session) -> list[dict]:
    """Departments with their user counts (names are not secret inside the company)."""
    return db.fetch_all(
        "SELECT d.id, d.name, count(u.id) AS users FROM departments d "
        "LEFT JOIN users u ON u.department_id = d.id GROUP BY d.id, d.name ORDER BY d.name"
    )


def require_admin(actor: User | None) -> None:
    """Managing users is for admins (None: the command line, run by whoever runs the server)."""
    if actor is not None:
        require(actor, Action.MANAGE, Entity.USER)


def _validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")


def create_department(actor: User | None, db: Database, name: str) -> int:
    """`actor` None means the system itself (CLI bootstrap, demo)."""
    require_admin(actor)
    name = name.strip()
    if not name:
        raise UserError("A department needs a name.")
    with db.transaction() as tx:
        if tx.scalar("SELECT count(*) FROM departments WHERE lower(name) = lower(?)", (name,)):
            raise UserError(f"A department named {name!r} already exists.")
        new_id = tx.scalar(
            "INSERT INTO departments (name, created_at) VALUES (?, ?) RETURNING id", (name, now())
        )
        audit.record(tx, actor, "department", new_id, "create", new={"name": name})
    return new_id


def rename_department(actor: User | None, db: Database, department_id: int, name: str) -> None:
    require_admin(actor)
    name = name.strip()
    if not name:
        raise UserError("A department needs a name.")
    with db.transaction() as tx:
        old = tx.scalar("SELECT name FROM departments WHERE id = ?", (department_id,))
        if old is None:
            raise UserError("No such department.")
        clash = tx.scalar(
            "SELECT count(*) FROM departments WHERE lower(name) = lower(?) AND id <> ?",
            (name, department_id),
        )
        if clash:
            raise UserError(f"A department named {name!r} already exists.")
        tx.execute("UPDATE departments SET name = ? WHERE id = ?", (name, department_id))
        audit.record(tx, actor, "department", department_id, "update",
                     old={"name": old}, new={"name": name})


def department_id_by_name(db: Database | Session, name: str) -> int | None:
    return db.scalar("SELECT id FROM departments WHERE lower(name) = lower(?)", (name.strip(),))


def create_user(
    actor: User | None,
    db: Database,
    *,
    username: str,
    full_name: str,
    password: str,
    role: Role | str,
    department_id: int | None,
    email: str = "",
) -> int:
    require_admin(actor)
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise UserError(
            "A username has 2-50 characters: lower-case letters, digits, dot, dash, underscore."
        )
    if not full_name.strip():
        raise UserError("A user needs a full name.")
    role = _role(role)
    _validate_password(password)
    with db.transaction() as tx:
        _check_department(tx, role, department_id)
        if tx.scalar("SELECT count(*) FROM users WHERE username = ?", (username,)):
            raise UserError(f"The username {username!r} is taken.")
        stamp = now()
        try:
            new_id = tx.scalar(
                "INSERT INTO users (username, full_name, email, role, department_id, active, "
                "password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, TRUE, ?, ?, ?) "
                "RETURNING id",
                (username, full_name.strip(), email.strip(), role.value, department_id,
                 hash_password(password), stamp, stamp),
            )
        except IntegrityError as exc:
            raise UserError(f"The username {username!r} is taken.") from exc
        audit.record(tx, actor, "user", new_id, "create", new={
            "username": username, "full_name": full_name.strip(), "role": role.value,
            "department_id": department_id,
        })
    return new_id


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        allowed = ", ".join(r.value for r in Role)
        raise UserError(f"Unknown role {role!r}; use one of: {allowed}.") from exc


def _check_department(tx: Session, role: Role, department_id: int | None) -> None:
    if department_id is None:
        if role in DEPARTMENT_REQUIRED:
            article = "An" if role.label[0] in "AEIOU" else "A"
            raise UserError(f"{article} {role.label.lower()} must belong to a department.")
        return
    if not tx.scalar("SELECT count(*) FROM departments WHERE id = ?", (department_id,)):
        raise UserError("No such department.")


def update_user(
    actor: User,
    db: Database,
    user_id: int,
    *,
    role: Role | str | None = None,
    department_id: int | type(...) | None = ...,
    full_name: str | None = None,
    email: str | None = None,
    active: bool | None = None,
) -> None:
    """Change role, department, name, email or active flag; one audit entry per field."""
    require_admin(actor)
    with db.transaction() as tx:
        current = get_user_by_id(tx, user_id)
        if current is None:
            raise UserError("No such user.")
        changes: dict[str, object] = {}
        new_role = current.role if role is None else _role(role)
        new_department = current.department_id if department_id is ... else department_id
        if new_role != current.role:
            changes["role"] = new_role.value
        if new_department != current.department_id:
            changes["department_id"] = new_department
        if full_name is not None and full_name.strip() != current.full_name:
            if not full_name.strip():
                raise UserError("A user needs a full name.")
            changes["full_name"] = full_name.strip()
        if email is not None and email.strip() != current.email:
            changes["email"] = email.strip()
        if active is not None and active != current.active:
            if not active and actor is not None and actor.id == user_id:
                raise UserError("You cannot deactivate yourself.")
            changes["active"] = active
        if not changes:
            return
        if actor is not None and actor.id == user_id and new_role != Role.ADMIN:
            raise UserError("You cannot take the admin role from yourself.")
        _check_department(tx, new_role, new_department)
        assignments = ", ".join(f"{column} = ?" for column in changes)
        tx.execute(
            f"UPDATE users SET {assignments}, updated_at = ? WHERE id = ?",
            (*changes.values(), now(), user_id),
        )
        old = {
            "role": current.role.value, "department_id": current.department_id,
            "full_name": current.full_name, "email": current.email, "active": current.active,
        }
        audit.record(tx, actor, "user", user_id, "update",
                     old={k: old[k] for k in changes}, new=changes)
        if "role" in changes and new_role is not Role.ANALYST:  # only analysts are assigned any
            tx.execute("DELETE FROM user_departments WHERE user_id = ?", (user_id,))
        if changes.get("active") is False:
            end_all_sessions(tx, user_id, "deactivated")
        elif "role" in changes:
            end_all_sessions(tx, user_id, "role changed")


def assign_departments(actor: User | None, db: Database, user_id: int,
                       department_ids: Iterable[int]) -> None:
    """The departments an analyst sees besides their own (none: every department). Audited;
    the analyst's view changes at their next click."""
    require_admin(actor)
    wanted = sorted({int(d) for d in department_ids})
    with db.transaction() as tx:
        current = get_user_by_id(tx, user_id)
        if current is None:
            raise UserError("No such user.")
        if current.role is not Role.ANALYST and wanted:
            raise UserError("Only analysts are given departments besides their own.")
        for department_id in wanted:
            if not tx.scalar("SELECT count(*) FROM departments WHERE id = ?", (department_id,)):
                raise UserError("No such department.")
        before = sorted(current.assigned)
        if before == wanted:
            return
        tx.execute("DELETE FROM user_departments WHERE user_id = ?", (user_id,))
        for department_id in wanted:
            tx.execute("INSERT INTO user_departments (user_id, department_id) VALUES (?, ?)",
                       (user_id, department_id))
        audit.record(tx, actor, "user", user_id, "update",
                     old={"departments": ",".join(map(str, before))},
                     new={"departments": ",".join(map(str, wanted))})


def end_all_sessions(tx: Session, user_id: int, reason: str) -> int:
    """End every open session of a user (see crm.access.auth); returns how many there were."""
    return max(0, tx.execute("UPDATE sessions SET ended_at = ?, ended_reason = ? "
                             "WHERE user_id = ? AND ended_at IS NULL",
                             (now(), reason, user_id)))


def set_password(actor: User | None, db: Database, user_id: int, password: str) -> None:
    """Reset a password (admin). Lifts the user's sign-in locks and ends their sessions."""
    require_admin(actor)
    _validate_password(password)
    with db.transaction() as tx:
        username = tx.scalar("SELECT username FROM users WHERE id = ?", (user_id,))
        if username is None:
            raise UserError("No such user.")
        tx.execute(
            "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
            (hash_password(password), now(), user_id),
        )
        tx.execute("INSERT INTO sign_in_unlocks (username, unlocked_at, user_id) "
                   "VALUES (?, ?, ?)", (username, now(), stamp_id(actor)))
        end_all_sessions(tx, user_id, "password reset")
        audit.record(tx, actor, "user", user_id, "password_reset")


def eligible_owners(db: Database | Session, department_id: int | None = None) -> list[User]:
    """Active sales staff who may be assigned records (in one department, or all)."""
    sql = f"{_USER_SELECT} WHERE u.active AND u.role IN ({owner_roles_sql()})"
    params: tuple = ()
    if department_id is not None:
        sql += " AND u.department_id = ?"
        params = (department_id,)
    return [_user(r) for r in db.fetch_all(sql + " ORDER BY u.full_name", params)]
