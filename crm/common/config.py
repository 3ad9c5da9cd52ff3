"""Settings and secrets.

Secrets come from the environment first, then `.streamlit/secrets.toml`; none is ever a
constant in code. With the embedded DuckDB database (one server) the cookie key and the
unsubscribe signing key are generated into the secrets file on first start, so a fresh clone
works without a manual step while every installation gets its own keys. With PostgreSQL,
where several app servers share one database, a key generated on one machine would not be
known to the others (sign-ins and unsubscribe links would work on one server only): there
every shared secret must be set, the same on every server, and nothing is generated.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_PATH = ROOT / "data" / "crm.duckdb"
SECRETS_PATH = ROOT / ".streamlit" / "secrets.toml"
MIN_KEY_BYTES = 32


def database_url() -> str:
    """The database to use: `CRM_DATABASE_URL`, else the embedded DuckDB file."""
    return os.environ.get("CRM_DATABASE_URL") or f"duckdb:///{DEFAULT_DATABASE_PATH}"


def demo_mode() -> bool:
    """Demo mode shows the demo sign-ins on the sign-in page. Off unless asked for."""
    return os.environ.get("CRM_DEMO", "").lower() in {"1", "true", "yes", "on"}


def public_base_url() -> str:
    """Where people outside reach the app (links in emails): `CRM_PUBLIC_URL`, else
    `public_url` in secrets, else the local default."""
    return (os.environ.get("CRM_PUBLIC_URL") or str(read_secrets().get("public_url", ""))
            or "http://localhost:8501").rstrip("/")


def request_department() -> str | None:
    """The department (by name) that requests from the public form go to:
    `CRM_REQUEST_DEPARTMENT`, else `request_department` in secrets; None: the first one."""
    return (os.environ.get("CRM_REQUEST_DEPARTMENT")
            or str(read_secrets().get("request_department", "")) or None)


def session_hours() -> float:
    """How long the sign-in cookie lives; short by default (8 hours)."""
    raw = os.environ.get("CRM_SESSION_HOURS") or str(read_secrets().get("session_hours", 8))
    try:
        hours = float(raw)
    except ValueError as exc:
        raise ValueError(f"CRM_SESSION_HOURS must be a number of hours, not {raw!r}") from exc
    if not 0 < hours <= 24 * 30:
        raise ValueError("CRM_SESSION_HOURS must be between 0 and 720")
    return hours


def setting(name: str, default: str = "", path: Path = SECRETS_PATH) -> str:
    """A plain setting (SMTP host, sending rate…): env `CRM_<NAME>`, else `name` (or
    `CRM_<NAME>`) in secrets.toml, else `default`. Unlike `secret`, no minimum length."""
    from_env = os.environ.get(f"CRM_{name.upper()}")
    if from_env is not None and from_env != "":
        return from_env
    stored = read_secrets(path)
    value = stored.get(name.lower(), stored.get(f"CRM_{name.upper()}"))
    return default if value is None or value == "" else str(value)


def read_secrets(path: Path = SECRETS_PATH) -> dict:
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        return tomllib.load(handle)


# Secrets every app server must agree on: the sign-in cookie's key, the unsubscribe links' key.
SHARED_SECRETS = ("cookie_key", "unsubscribe_key")


class SharedSecretMissing(ValueError):
    """A secret that several servers must share is not set (PostgreSQL)."""


def shares_database() -> bool:
    """Whether several app servers may share the database (PostgreSQL)."""
    return database_url().startswith(("postgresql://", "postgres://"))


def missing_shared_secrets(path: Path = SECRETS_PATH) -> list[str]:
    """The shared secrets that are not set (in the environment or the secrets file)."""
    stored = read_secrets(path)
    return [name for name in SHARED_SECRETS
            if not os.environ.get(f"CRM_{name.upper()}") and not stored.get(name)]


def shared_secrets_sentence(names: list[str] | tuple[str, ...] = SHARED_SECRETS) -> str:
    listed = " and ".join(f"CRM_{n.upper()}" for n in names)
    return (f"{listed} must be set, the same on every app server (in the environment or in "
            ".streamlit/secrets.toml): with PostgreSQL several servers share the database, "
            "and a key made up by one of them would not be known to the others. Make each "
            "with: python -c 'import secrets; print(secrets.token_urlsafe(48))'")


def secret(name: str, *, generate: bool = False, path: Path = SECRETS_PATH) -> str:
    """A secret by name: env `CRM_<NAME>`, else secrets.toml, else generated (if allowed:
    never for a shared secret with PostgreSQL, see the module's docstring).

    Generated secrets are appended to the secrets file, which git ignores.
    """
    from_env = os.environ.get(f"CRM_{name.upper()}")
    if from_env:
        return _checked(name, from_env)
    stored = read_secrets(path).get(name)
    if stored:
        return _checked(name, str(stored))
    if not generate:
        raise KeyError(f"secret {name!r} is not set (environment CRM_{name.upper()} or {path})")
    if name in SHARED_SECRETS and shares_database():
        raise SharedSecretMissing(shared_secrets_sentence((name,)))
    value = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f'\n{name} = "{value}"\n')
    os.chmod(path, 0o600)
    return value


def _checked(name: str, value: str) -> str:
    if len(value.encode()) < MIN_KEY_BYTES:
        raise ValueError(f"secret {name!r} must be at least {MIN_KEY_BYTES} bytes long")
    return value


@dataclass(frozen=True)
class SignInPolicy:
    """Failed sign-ins allowed per username inside the window before it is locked."""

    max_failures: int = 5  # from one client
    window_minutes: int = 15
    max_failures_anywhere: int = 20  # from all clients, for clients that never signed in
