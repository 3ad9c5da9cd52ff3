"""`python -m crm`: each command works, bad input gives one line and a non-zero exit."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from crm.access import auth
from crm.access.users import get_user
from crm.cli import main


def run(capsys, database_url, *args, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["--db", database_url, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_init_reports_the_schema_version(capsys, database_url, db):
    code, out, _ = run(capsys, database_url, "init")
    assert code == 0 and "schema version" in out


def test_creating_departments_and_users_from_the_command_line(capsys, database_url, db,
                                                              monkeypatch):
    assert run(capsys, database_url, "departments", "create", "Europe")[0] == 0
    code, out, _ = run(capsys, database_url, "users", "create", "Anna.Berg", "--name",
                       "Anna Berg", "--role", "sales_manager", "--department", "Europe",
                       stdin="a long password\n", monkeypatch=monkeypatch)
    assert code == 0 and "anna.berg created" in out
    assert auth.sign_in(db, "anna.berg", "a long password").department_name == "Europe"
    code, out, _ = run(capsys, database_url, "users", "list")
    assert "anna.berg" in out and "Europe" in out


def test_changing_deactivating_and_resetting_a_user(capsys, database_url, db, monkeypatch):
    run(capsys, database_url, "departments", "create", "Europe")
    run(capsys, database_url, "departments", "create", "Asia")
    run(capsys, database_url, "users", "create", "bo", "--name", "Bo", "--role", "operator",
        "--department", "Europe", stdin="first password\n", monkeypatch=monkeypatch)
    assert run(capsys, database_url, "users", "set", "bo", "--role", "sales_manager",
               "--department", "Asia")[0] == 0
    assert get_user(db, "bo").department_name == "Asia"
    assert run(capsys, database_url, "users", "reset-password", "bo",
               stdin="second password\n", monkeypatch=monkeypatch)[0] == 0
    assert auth.sign_in(db, "bo", "second password").username == "bo"
    assert run(capsys, database_url, "users", "deactivate", "bo")[0] == 0
    assert not get_user(db, "bo").active
    assert run(capsys, database_url, "users", "activate", "bo")[0] == 0
    assert get_user(db, "bo").active


def test_renaming_a_department(capsys, database_url, db):
    run(capsys, database_url, "departments", "create", "Europe")
    assert run(capsys, database_url, "departments", "rename", "Europe", "EMEA")[0] == 0
    assert "EMEA" in run(capsys, database_url, "departments", "list")[1]
    assert run(capsys, database_url, "users", "rename-department", "EMEA", "Europe")[0] == 0


@pytest.mark.parametrize("args, message", [
    (["users", "set", "ghost", "--name", "G"], "error: no user named 'ghost'"),
    (["users", "create", "x1", "--name", "X", "--role", "operator", "--department", "Nowhere"],
     "error: no department named 'Nowhere'"),
    (["departments", "rename", "Nowhere", "Else"], "error: no department named 'Nowhere'"),
])
def test_bad_input_gives_one_line_and_exit_1(capsys, database_url, db, args, message):
    code, _, err = run(capsys, database_url, *args)
    assert code == 1
    assert err.strip().splitlines() == [err.strip()] and err.startswith(message)


def test_a_missing_password_on_stdin_is_an_error(capsys, database_url, db, monkeypatch):
    run(capsys, database_url, "departments", "create", "Europe")
    code, _, err = run(capsys, database_url, "users", "create", "cy", "--name", "Cy", "--role",
                       "operator", "--department", "Europe", stdin="", monkeypatch=monkeypatch)
    assert code == 1 and "no password" in err


def test_a_weak_password_is_refused(capsys, database_url, db, monkeypatch):
    code, _, err = run(capsys, database_url, "users", "create", "cy", "--name", "Cy", "--role",
                       "admin", stdin="short\n", monkeypatch=monkeypatch)
    assert code == 1 and "at least 8" in err


@pytest.mark.parametrize("args", [["users", "set", "x", "--role", "king"],
                                  ["demo", "--contacts", "many"], ["bogus"]])
def test_bad_usage_gives_one_line_and_exit_2(capsys, args):
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error:")


def test_every_command_has_help():
    for command in (["init"], ["demo"], ["users"], ["users", "create"], ["departments"]):
        done = subprocess.run([sys.executable, "-m", "crm", *command, "--help"],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0 and "usage:" in done.stdout


def test_an_unreachable_database_is_one_clear_line(capsys):
    code = main(["--db", "postgresql://nobody@127.0.0.1:1/none", "init"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: Cannot connect to PostgreSQL")


def test_export_leads_as_a_user_holds_only_their_scope(capsys, database_url, db, tmp_path):
    from openpyxl import load_workbook

    from tests import factories

    w = factories.world(db)
    factories.lead(db, "Extra", w.east, w.users["sales_east"], country_code="FR", vip=True)
    out = tmp_path / "leads.xlsx"
    code, stdout, _ = run(capsys, database_url, "export", "leads", "--user", "sales.east",
                          "-o", str(out))
    assert code == 0 and "exported 2 leads" in stdout
    sheet = load_workbook(out).active
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == ["Test Eastlead", "Test Extra"]
    code, stdout, _ = run(capsys, database_url, "export", "leads", "--user", "sales.east",
                          "-o", str(tmp_path / "vip.csv"), "--filter", "vip=yes",
                          "--filter", "country=FR")
    assert code == 0 and "exported 1 leads" in stdout
    text = (tmp_path / "vip.csv").read_text(encoding="utf-8-sig")
    assert "Test Extra" in text and "Eastlead" not in text


@pytest.mark.parametrize("args, message", [
    (["--filter", "planet=mars"], "unknown filter"),
    (["--sort", "shoe_size"], "unknown sort column"),
    (["--sort", "phone"], "unknown sort column 'phone'"),  # shown and exported, not sortable
])
def test_export_refuses_unknown_filters_and_sorts(capsys, database_url, db, tmp_path, args,
                                                  message):
    from tests import factories

    factories.world(db)
    code, _, err = run(capsys, database_url, "export", "leads", "--user", "sales.east",
                       "-o", str(tmp_path / "x.xlsx"), *args)
    assert code == 1 and message in err


def test_export_needs_a_known_user(capsys, database_url, db, tmp_path):
    code, _, err = run(capsys, database_url, "export", "leads", "--user", "ghost",
                       "-o", str(tmp_path / "x.xlsx"))
    assert code == 1 and "no user named 'ghost'" in err


def test_export_contacts_holds_only_the_users_own_contacts(capsys, database_url, db, tmp_path):
    from openpyxl import load_workbook

    from tests import factories

    factories.world(db)
    out = tmp_path / "contacts.xlsx"
    code, stdout, _ = run(capsys, database_url, "export", "contacts", "--user", "sales.east",
                          "-o", str(out))
    assert code == 0
    assert "1 of the 2 matching contacts is assigned to you; the file has that one." in stdout
    names = [r[1] for r in load_workbook(out).active.iter_rows(min_row=2, values_only=True)]
    assert names == ["Test Eastone"]


def test_export_companies(capsys, database_url, db, tmp_path):
    from tests import factories

    factories.world(db)
    code, stdout, _ = run(capsys, database_url, "export", "companies", "--user",
                          "company.manager", "-o", str(tmp_path / "companies.csv"))
    assert code == 0 and "exported 2 companies" in stdout


def test_sessions_are_listed_and_ended_and_locks_lifted_from_the_command_line(
        capsys, database_url, db, monkeypatch):
    run(capsys, database_url, "departments", "create", "Europe")
    run(capsys, database_url, "users", "create", "bo", "--name", "Bo", "--role", "operator",
        "--department", "Europe", stdin="first password\n", monkeypatch=monkeypatch)
    bo = auth.sign_in(db, "bo", "first password")
    token = auth.start_session(db, bo, client="home")
    code, out, _ = run(capsys, database_url, "users", "sessions", "bo")
    assert code == 0 and out.endswith("1 open session of bo\n")
    assert run(capsys, database_url, "users", "end-sessions", "bo")[1] == (
        "1 session of bo ended\n")
    assert auth.session_user(db, token) is None
    for _ in range(5):
        with pytest.raises(auth.SignInRefused):
            auth.sign_in(db, "bo", "wrong password")
    assert run(capsys, database_url, "users", "unlock", "bo")[0] == 0
    assert auth.sign_in(db, "bo", "first password").username == "bo"


def test_the_permission_table_is_listed_granted_revoked_and_reset(capsys, database_url, db):
    from crm.access import permissions

    code, out, _ = run(capsys, database_url, "roles", "list", "analyst")
    assert code == 0
    lines = {line.split("  ")[0].strip(): line.split()[-1] for line in out.splitlines()[1:]}
    assert (lines["view lead"], lines["convert lead"], lines["export_all contact"]) == (
        "yes", "-", "-")
    code, out, _ = run(capsys, database_url, "roles", "grant", "analyst", "export_all",
                       "contact")
    assert (code, out) == (0, "Analysts may export every contact in scope (not only those "
                              "assigned to them)\n")
    assert run(capsys, database_url, "roles", "revoke", "operator", "vip", "lead")[0] == 0
    table = permissions.table(db)
    assert ("export_all", "contact") in table["analyst"]
    assert ("vip", "lead") not in table["operator"]
    out = run(capsys, database_url, "roles", "list")[1]
    assert [line.split() for line in out.splitlines() if line.startswith("vip lead")] == [
        ["vip", "lead", "yes", "-*", "yes", "yes", "-", "yes"]]
    assert run(capsys, database_url, "roles", "reset")[1] == (
        "every role has the default permissions again (2 changes removed)\n")
    assert permissions.table(db) == dict(permissions.DEFAULTS)


@pytest.mark.parametrize(("args", "message"), [
    (["roles", "grant", "king", "view", "lead"], "error: unknown role 'king'"),
    (["roles", "grant", "analyst", "fly", "lead"], "error: There is no permission “fly lead”"),
    (["roles", "revoke", "admin", "manage", "user"],
     "error: The admin role keeps the right to manage users and permissions"),
])
def test_a_wrong_permission_change_is_refused_in_one_line(capsys, database_url, db, args,
                                                          message):
    code, out, err = run(capsys, database_url, *args)
    assert code == 1 and out == "" and err.startswith(message) and err.count("\n") == 1


def test_an_analyst_is_given_departments_from_the_command_line(capsys, database_url, db,
                                                               monkeypatch):
    for name in ("Europe", "Asia"):
        run(capsys, database_url, "departments", "create", name)
    run(capsys, database_url, "users", "create", "ana", "--name", "Ana", "--role", "analyst",
        stdin="a long password\n", monkeypatch=monkeypatch)
    assert run(capsys, database_url, "users", "set", "ana", "--sees", "Europe,Asia")[0] == 0
    assert len(get_user(db, "ana").assigned) == 2
    assert run(capsys, database_url, "users", "set", "ana", "--sees", "-")[0] == 0
    assert get_user(db, "ana").assigned == frozenset()
