"""The roles a user can have. What each may see is `crm.access`; what each may do is the
permission table in `crm.access.permissions`."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SALES_MANAGER = "sales_manager"
    OPERATOR = "operator"
    COMPANY_MANAGER = "company_manager"
    SUPER_OPERATOR = "super_operator"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


# Who sees which departments (see crm.access.scope). An analyst sees every department unless
# an admin gives them one.
ALL_DEPARTMENTS = frozenset({Role.COMPANY_MANAGER, Role.SUPER_OPERATOR, Role.ADMIN})
OWN_DEPARTMENT = frozenset({Role.SALES_MANAGER, Role.OPERATOR})
DEPARTMENT_REQUIRED = OWN_DEPARTMENT
# Who may be a record's assigned manager (active, in the record's department).
OWNERS = OWN_DEPARTMENT
# What every screen, export and import calls a record's owner.
OWNER_LABEL = "Assigned manager"


def owner_roles_sql() -> str:
    """`OWNERS` as an SQL list of role values: "'operator', 'sales_manager'"."""
    return ", ".join(f"'{role.value}'" for role in sorted(OWNERS, key=lambda r: r.value))
