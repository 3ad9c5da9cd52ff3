"""Access: who may sign in (auth, users) and what each user may see and do (permissions, policy).

`from crm.access import scope, can, ...` is the policy's public face; the rules themselves live
in `crm.access.policy` (which records a user reaches) and `crm.access.permissions` (whether a
role may act at all). Every query, count, export, chart and ID look-up takes its filter from
`scope`.
"""

from crm.access.permissions import NotPermitted, can, refusal, require
from crm.access.policy import (
    EVERYTHING,
    NOTHING,
    Visibility,
    can_manage_tags,
    can_manage_users,
    can_resubscribe_others,
    department_ids,
    departments,
    import_batch_scope,
    mailing_scope,
    may_change_segment,
    may_mail,
    may_work_in_department,
    owns_what_they_add,
    scope,
    sees_all_departments,
    sees_several_departments,
    segment_scope,
    segment_visibilities,
)
from crm.identity.entities import Action, Entity
from crm.storage.db import Condition

__all__ = [
    "EVERYTHING",
    "NOTHING",
    "Action",
    "Condition",
    "Entity",
    "NotPermitted",
    "Visibility",
    "can",
    "can_manage_tags",
    "can_manage_users",
    "can_resubscribe_others",
    "department_ids",
    "departments",
    "import_batch_scope",
    "mailing_scope",
    "may_change_segment",
    "may_mail",
    "may_work_in_department",
    "owns_what_they_add",
    "refusal",
    "require",
    "scope",
    "sees_all_departments",
    "sees_several_departments",
    "segment_scope",
    "segment_visibilities",
]
