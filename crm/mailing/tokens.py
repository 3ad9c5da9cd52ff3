"""Personal unsubscribe tokens, signed with a server secret.

A token names the person (`l123` for lead 123, `c45` for contact 45) and carries an HMAC-SHA256
over (entity, id, email address) under the `unsubscribe_key` secret. Without the key nobody
can make a valid token, and a valid token works for that one person at that one address: a
changed ID or a token for another address fails the check. The comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from crm.access import Entity
from crm.common import config

SECRET_NAME = "unsubscribe_key"  # noqa: S105  (the name, not the secret)
_CODES = {Entity.LEAD: "l", Entity.CONTACT: "c"}
_ENTITIES = {code: entity for entity, code in _CODES.items()}
_FORM = re.compile(r"^([lc])([1-9][0-9]{0,17})\.([A-Za-z0-9_-]{22})$")
_MAC_BYTES = 16  # 128 bits: not guessable


@dataclass(frozen=True)
class TokenSubject:
    """Whom a well-formed token claims to be for (not yet checked against the address)."""

    entity: Entity
    entity_id: int


def signing_key() -> bytes:
    """The server secret: env CRM_UNSUBSCRIBE_KEY or secrets.toml, generated there if absent."""
    return config.secret(SECRET_NAME, generate=True).encode()


def make_token(entity: Entity | str, entity_id: int, email: str,
               key: bytes | None = None) -> str:
    entity = Entity(entity)
    code = _CODES[entity]
    return f"{code}{int(entity_id)}.{_mac(entity, int(entity_id), email, key)}"


def read_token(token: str) -> TokenSubject | None:
    """The person a token names, if it is well formed; its signature is checked by `verify`."""
    found = _FORM.match(token or "")
    if found is None:
        return None
    return TokenSubject(_ENTITIES[found.group(1)], int(found.group(2)))


def verify(token: str, email: str, key: bytes | None = None) -> bool:
    """Whether `token` was made by this server for the person it names at `email`."""
    subject = read_token(token)
    if subject is None or not email:
        return False
    expected = make_token(subject.entity, subject.entity_id, email, key)
    return hmac.compare_digest(expected.encode(), token.encode())


def _mac(entity: Entity, entity_id: int, email: str, key: bytes | None) -> str:
    message = f"{entity.value}\n{entity_id}\n{email.strip().lower()}".encode()
    digest = hmac.new(key or signing_key(), message, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
