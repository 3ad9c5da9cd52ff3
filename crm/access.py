"""The access policy: the one place that knows what each role may see and do.

`scope(user, entity, action)` turns (user, entity, action) into a SQL condition with bound
parameters. Every list, count, export, chart and ID look-up adds it to its WHERE clause, so a
record outside a user's scope does not exist for that user. Pages also hide buttons by role,
but this module is the guarantee.
"""

from __future__ import annotations

from enum import StrEnum

from crm.db import Condition
from crm.users import Role, User


class Entity(StrEnum):
    LEAD = "lead"
    CONTACT = "contact"
    COMPANY = "company"
    REQUEST = "request"  # a commercial request: in its department's scope, like a lead
    DEAL = "deal"


class Action(StrEnum):
    VIEW = "view"
    EDIT = "edit"  # add, edit, bulk VIP, tags
    IMPORT = "import"
    CONVERT = "convert"
    MAIL = "mail"
    EXPORT = "export"


ALL_DEPARTMENTS = frozenset({Role.COMPANY_MANAGER, Role.SUPER_OPERATOR, Role.ADMIN})
OWN_DEPARTMENT = frozenset({Role.SALES_MANAGER, Role.OPERATOR})


NOTHING = Condition("FALSE")
EVERYTHING = Condition("TRUE")


def scope(user: User, entity: Entity | str, action: Action | str = Action.VIEW,
          alias: str = "") -> Condition:
    """The rows of `entity` that `user` may act on with `action`.

    Contacts are the one asymmetry the seeds name: whoever the user is, an export of contacts
    holds only the contacts assigned to them.
    """
    entity, action = Entity(entity), Action(action)
    prefix = f"{alias}." if alias else ""
    if not user.active:
        return NOTHING
    if user.role in ALL_DEPARTMENTS:
        base = EVERYTHING
    elif user.role in OWN_DEPARTMENT and user.department_id is not None:
        base = Condition(f"{prefix}department_id = ?", (user.department_id,))
    else:
        return NOTHING
    if entity is Entity.CONTACT and action is Action.EXPORT:
        return base & Condition(f"{prefix}owner_id = ?", (user.id,))
    return base


def import_batch_scope(user: User, alias: str = "") -> Condition:
    """Import batches a user may see and undo: all for roles that see every department, else
    those of their department and their own."""
    prefix = f"{alias}." if alias else ""
    if not user.active:
        return NOTHING
    if user.role in ALL_DEPARTMENTS:
        return EVERYTHING
    return Condition(f"({prefix}department_id = ? OR {prefix}user_id = ?)",
                     (user.department_id, user.id))


def mailing_scope(user: User, action: Action | str = Action.VIEW, alias: str = "") -> Condition:
    """Mailings a user may see (VIEW) or send, change and delete (MAIL).

    A department's mailing belongs to that department; a company-wide one (no department:
    its recipients span several) is seen by everyone, with only the recipients in each
    user's own scope counted, and sent or changed only by roles that see every department.
    """
    action = Action(action)
    prefix = f"{alias}." if alias else ""
    if not user.active:
        return NOTHING
    if user.role in ALL_DEPARTMENTS:
        return EVERYTHING
    if user.role not in OWN_DEPARTMENT or user.department_id is None:
        return NOTHING
    if action is Action.VIEW:
        return Condition(f"({prefix}department_id = ? OR {prefix}department_id IS NULL)",
                         (user.department_id,))
    return Condition(f"{prefix}department_id = ?", (user.department_id,))


def can_resubscribe_others(user: User) -> bool:
    """Subscribing someone again who unsubscribed is for admins only, and needs a reason;
    anyone else may only unsubscribe a person on request (or the person uses their link)."""
    return user.active and user.role is Role.ADMIN


def sees_all_departments(user: User) -> bool:
    """Whether the department filter belongs in this user's sidebar."""
    return user.active and user.role in ALL_DEPARTMENTS


def can(user: User, action: Action | str, entity: Entity | str = Entity.LEAD) -> bool:
    """Whether the role may perform `action` at all (which records: see `scope`)."""
    Action(action), Entity(entity)
    return user.active and (user.role in ALL_DEPARTMENTS or user.role in OWN_DEPARTMENT)


def can_manage_tags(user: User) -> bool:
    """Renaming and merging tags changes them for every department."""
    return user.active and user.role in ALL_DEPARTMENTS


def can_manage_users(user: User) -> bool:
    return user.active and user.role is Role.ADMIN


def owns_what_they_add(user: User) -> bool:
    """Sales staff become the assigned manager of records they add; others choose one."""
    return user.active and user.role in OWN_DEPARTMENT


def may_work_in_department(user: User, department_id: int | None) -> bool:
    """Whether a record may be placed in (or moved to) `department_id` by this user."""
    if not user.active or department_id is None:
        return False
    if user.role in ALL_DEPARTMENTS:
        return True
    return user.role in OWN_DEPARTMENT and user.department_id == department_id


# --------------------------------------------------------------------------- segments


class Visibility(StrEnum):
    """Who sees a saved segment besides its owner."""

    PRIVATE = "private"
    DEPARTMENT = "department"
    COMPANY = "company"


def segment_visibilities(user: User) -> tuple[Visibility, ...]:
    """Whom the user may share a segment with: anyone with a department, that department;
    roles that see every department, the whole company.

    Sharing hands over a definition, never records: each viewer evaluates a segment inside
    their own scope (see crm.segments), so a wide audience cannot widen anyone's view.
    """
    if not can(user, Action.VIEW):
        return ()
    choices = [Visibility.PRIVATE]
    if user.department_id is not None:
        choices.append(Visibility.DEPARTMENT)
    if user.role in ALL_DEPARTMENTS:
        choices.append(Visibility.COMPANY)
    return tuple(choices)


def segment_scope(user: User, alias: str = "") -> Condition:
    """The segments a user sees: their own, those shared with the whole company, and those
    shared with the user's department."""
    prefix = f"{alias}." if alias else ""
    if not can(user, Action.VIEW):
        return NOTHING
    sql = f"({prefix}owner_id = ? OR {prefix}visibility = '{Visibility.COMPANY}'"
    params: tuple = (user.id,)
    if user.department_id is not None:
        sql += (f" OR ({prefix}visibility = '{Visibility.DEPARTMENT}' "
                f"AND {prefix}department_id = ?)")
        params += (user.department_id,)
    return Condition(sql + ")", params)


def may_change_segment(user: User, owner_id: int) -> bool:
    """Renaming, re-sharing and deleting a segment are its owner's alone."""
    return user.active and user.id == owner_id
