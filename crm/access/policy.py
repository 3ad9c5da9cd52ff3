"""The access policy: the one place that knows what each role may see and do.

`scope(user, entity, action)` turns (user, entity, action) into a SQL condition with bound
parameters. Every list, count, export, chart and ID look-up adds it to its WHERE clause, so a
record outside a user's scope does not exist for that user. Whether the role may do the
action at all is the permission table (`crm.access.permissions`), asked here too: `scope` refuses
an action the role may not do, so every service that asks for its scope is refused before
it writes. Pages also hide or disable buttons by role (`can`, `refusal`), but this module is
the guarantee.
"""

from __future__ import annotations

from enum import StrEnum

from crm.access.permissions import NotPermitted, can, refusal, require
from crm.identity.entities import Action, Entity
from crm.identity.roles import ALL_DEPARTMENTS, OWNERS, Role
from crm.identity.user import User
from crm.storage.db import Condition

__all__ = ["Action", "Condition", "Entity", "NotPermitted", "Role", "can", "refusal", "require"]


NOTHING = Condition("FALSE")
EVERYTHING = Condition("TRUE")


def scope(user: User, entity: Entity | str, action: Action | str = Action.VIEW,
          alias: str = "") -> Condition:
    """The rows of `entity` that `user` may act on with `action`.

    Seeing is asked of every list, count and look-up: a role without it sees nothing. Any
    other action the role may not do is refused (`NotPermitted`), so a service that asks for
    its scope before writing is refused before it writes. Contacts are the one asymmetry the
    seeds name: an export of contacts holds only the contacts assigned to the user, unless
    an admin granted the role "export every contact in scope".
    """
    entity, action = Entity(entity), Action(action)
    if not user.active:
        return NOTHING
    if action is Action.VIEW:
        if not can(user, action, entity):
            return NOTHING
    else:
        require(user, action, entity)
    base = departments(user, alias)
    if (entity is Entity.CONTACT and action is Action.EXPORT
            and not can(user, Action.EXPORT_ALL, Entity.CONTACT)):
        prefix = f"{alias}." if alias else ""
        return base & Condition(f"{prefix}owner_id = ?", (user.id,))
    return base


def department_ids(user: User) -> frozenset[int] | None:
    """The departments a user reaches; None: every one. Sales staff reach their own; an
    analyst their own and those an admin assigned, or every department when they have none."""
    if user.role in ALL_DEPARTMENTS:
        return None
    own = frozenset({user.department_id} - {None})
    if user.role is Role.ANALYST:
        return (own | user.assigned) or None
    return own


def departments(user: User, alias: str = "") -> Condition:
    """The departments whose records a user reaches, whatever the action."""
    prefix = f"{alias}." if alias else ""
    if not user.active:
        return NOTHING
    reached = department_ids(user)
    if reached is None:
        return EVERYTHING
    if not reached:
        return NOTHING
    ids = sorted(reached)
    if len(ids) == 1:
        return Condition(f"{prefix}department_id = ?", (ids[0],))
    return Condition(f"{prefix}department_id IN ({', '.join('?' for _ in ids)})", tuple(ids))


def import_batch_scope(user: User, alias: str = "") -> Condition:
    """Import batches a user may see and undo: all for roles that see every department, else
    those of their department and their own."""
    prefix = f"{alias}." if alias else ""
    if not user.active:
        return NOTHING
    reach = departments(user, alias)
    if reach is EVERYTHING:
        return EVERYTHING
    return Condition(f"({reach.sql} OR {prefix}user_id = ?)", (*reach.params, user.id))


def mailing_scope(user: User, action: Action | str = Action.VIEW, alias: str = "") -> Condition:
    """Mailings a user may see (VIEW) or send, change and delete (MAIL).

    A department's mailing belongs to that department; a company-wide one (no department:
    its recipients span several) is seen by everyone, with only the recipients in each
    user's own scope counted, and sent or changed only by roles that see every department.
    A role without the mailing permission sends and changes none.
    """
    action = Action(action)
    prefix = f"{alias}." if alias else ""
    reach = departments(user, alias)
    if action is not Action.VIEW and not may_mail(user):
        return NOTHING
    if reach is EVERYTHING or reach is NOTHING:
        return reach
    if action is Action.VIEW:
        return Condition(f"({reach.sql} OR {prefix}department_id IS NULL)", reach.params)
    return reach


def can_resubscribe_others(user: User) -> bool:
    """Subscribing someone again who unsubscribed is for admins only, and needs a reason;
    anyone else may only unsubscribe a person on request (or the person uses their link)."""
    return user.active and user.role is Role.ADMIN


def sees_all_departments(user: User) -> bool:
    """Whether the user reaches every department (the Overview's department choice)."""
    return departments(user) is EVERYTHING


def sees_several_departments(user: User) -> bool:
    """Whether the department filter belongs in this user's sidebar."""
    reached = department_ids(user)
    return user.active and (reached is None or len(reached) > 1)


def may_mail(user: User) -> bool:
    return can(user, Action.MAIL, Entity.LEAD) or can(user, Action.MAIL, Entity.CONTACT)


def can_manage_tags(user: User) -> bool:
    """Renaming and merging tags changes them for every department."""
    return can(user, Action.MANAGE, Entity.TAG)


def can_manage_users(user: User) -> bool:
    return can(user, Action.MANAGE, Entity.USER)


def owns_what_they_add(user: User) -> bool:
    """Sales staff become the assigned manager of records they add; others choose one."""
    return user.active and user.role in OWNERS


def may_work_in_department(user: User, department_id: int | None) -> bool:
    """Whether a record may be placed in (or moved to) `department_id` by this user."""
    if department_id is None or not user.active:
        return False
    reached = department_ids(user)
    return reached is None or department_id in reached


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
    their own scope (see crm.analysis.segments), so a wide audience cannot widen anyone's view.
    """
    if not can(user, Action.VIEW):
        return ()
    choices = [Visibility.PRIVATE]
    if user.department_id is not None:
        choices.append(Visibility.DEPARTMENT)
    if can(user, Action.SHARE, Entity.SEGMENT):
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
