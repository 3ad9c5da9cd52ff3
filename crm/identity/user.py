"""Who acts: a signed-in user (or the installation itself), and how passwords are kept.

Reading and changing users and departments is crm.access.users; this module holds only what
every layer may know about a user, and imports nothing from the database.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import bcrypt

from crm.identity.entities import Grants
from crm.identity.roles import Role

__all__ = ["SYSTEM", "Role", "User"]


@dataclass(frozen=True)
class User:
    id: int
    username: str
    full_name: str
    email: str
    role: Role
    department_id: int | None
    active: bool
    department_name: str | None = None
    # What the role may do (crm.access.permissions), read with the user; None: the role's defaults.
    grants: Grants | None = field(default=None, compare=False, repr=False)
    # An analyst's departments besides their own, as an admin assigned them (crm.access).
    assigned: frozenset[int] = field(default=frozenset(), compare=False, repr=False)


# The installation itself, acting from the command line without --user: it reads as an
# admin (every department); its writes carry no user id and the history shows "system".
SYSTEM = User(0, "system", "system", "", Role.ADMIN, None, True)


def stamp_id(actor: User | None) -> int | None:
    """The user id a write is stamped with: none for the system (SYSTEM, or no actor)."""
    return None if actor is None or actor.id == SYSTEM.id else actor.id


USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,49}$")
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    # CRM_BCRYPT_ROUNDS lets the test suite hash cheaply; production keeps the default 12.
    rounds = min(max(int(os.environ.get("CRM_BCRYPT_ROUNDS", "12")), 4), 16)
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def password_matches(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:
        return False


