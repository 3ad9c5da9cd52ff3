"""Secrets never live in code: generated into the secrets file, or read from the environment."""

from __future__ import annotations

import pytest

from crm.common import config


def test_a_missing_cookie_key_is_generated_once_into_the_secrets_file(tmp_path, monkeypatch):
    monkeypatch.delenv("CRM_COOKIE_KEY", raising=False)
    path = tmp_path / "secrets.toml"
    first = config.secret("cookie_key", generate=True, path=path)
    assert len(first.encode()) >= 32
    assert config.secret("cookie_key", generate=True, path=path) == first
    assert oct(path.stat().st_mode)[-3:] == "600"


def test_two_installations_get_different_keys(tmp_path, monkeypatch):
    monkeypatch.delenv("CRM_COOKIE_KEY", raising=False)
    a = config.secret("cookie_key", generate=True, path=tmp_path / "a.toml")
    b = config.secret("cookie_key", generate=True, path=tmp_path / "b.toml")
    assert a != b


def test_the_environment_wins_over_the_file(tmp_path, monkeypatch):
    path = tmp_path / "secrets.toml"
    config.secret("cookie_key", generate=True, path=path)
    monkeypatch.setenv("CRM_COOKIE_KEY", "k" * 40)
    assert config.secret("cookie_key", path=path) == "k" * 40


def test_a_short_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_COOKIE_KEY", "too-short")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        config.secret("cookie_key", path=tmp_path / "s.toml")


def test_a_missing_secret_without_generation_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("CRM_SMTP_PASSWORD", raising=False)
    with pytest.raises(KeyError):
        config.secret("smtp_password", path=tmp_path / "none.toml")


def test_session_length_is_short_by_default_and_configurable(monkeypatch):
    monkeypatch.delenv("CRM_SESSION_HOURS", raising=False)
    monkeypatch.setattr(config, "read_secrets", lambda path=None: {})
    assert config.session_hours() == 8
    monkeypatch.setenv("CRM_SESSION_HOURS", "1.5")
    assert config.session_hours() == 1.5
    monkeypatch.setenv("CRM_SESSION_HOURS", "0")
    with pytest.raises(ValueError):
        config.session_hours()


def test_the_default_database_is_the_embedded_file(monkeypatch):
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    assert config.database_url().endswith("data/crm.duckdb")


def test_with_postgresql_shared_secrets_are_never_made_up(tmp_path, monkeypatch):
    """Several servers share a PostgreSQL database: a key one of them generated would not be
    known to the others, so a missing one is an error naming what to set."""
    monkeypatch.setenv("CRM_DATABASE_URL", "postgresql://crm@db.internal/crm")
    monkeypatch.delenv("CRM_UNSUBSCRIBE_KEY", raising=False)
    monkeypatch.setenv("CRM_COOKIE_KEY", "c" * 48)
    path = tmp_path / "secrets.toml"
    with pytest.raises(config.SharedSecretMissing, match="CRM_UNSUBSCRIBE_KEY must be set"):
        config.secret("unsubscribe_key", generate=True, path=path)
    assert not path.exists()
    assert config.missing_shared_secrets(path) == ["unsubscribe_key"]
    monkeypatch.setenv("CRM_DATABASE_URL", "duckdb:///tmp/x.duckdb")
    assert len(config.secret("unsubscribe_key", generate=True, path=path)) >= 32


def test_a_server_on_postgresql_without_shared_secrets_refuses_to_start(monkeypatch, capsys,
                                                                         tmp_path):
    from crm.ui import serve

    monkeypatch.setenv("CRM_DATABASE_URL", "postgresql://crm@db.internal/crm")
    monkeypatch.delenv("CRM_COOKIE_KEY", raising=False)
    monkeypatch.delenv("CRM_UNSUBSCRIBE_KEY", raising=False)
    monkeypatch.setattr(config, "SECRETS_PATH", tmp_path / "none.toml")
    monkeypatch.setattr(config.missing_shared_secrets, "__defaults__",
                        (tmp_path / "none.toml",))
    with pytest.raises(SystemExit) as stopped:
        serve.main(["--server.port", "1"])
    assert stopped.value.code == 2
    assert "CRM_COOKIE_KEY and CRM_UNSUBSCRIBE_KEY must be set" in capsys.readouterr().err
