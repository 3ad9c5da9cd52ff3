"""`python -m crm`: a thin command line over the same services the pages use.

The command line acts as the installation itself (audit entries show "system"): whoever can
run it can already open the database file or reach the database server.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from crm.access import users
from crm.common import config
from crm.identity.roles import Role
from crm.identity.user import SYSTEM, User
from crm.storage import migrations, settings
from crm.storage.db import Database, DatabaseError
from crm.storage.store import open_store

EXPORT_MEMORY_MB = 128  # the database engine's working memory during an export

if TYPE_CHECKING:
    from crm.lists.listing import ListSpec


class _Parser(argparse.ArgumentParser):
    """Bad usage: one line naming the problem and where help is, exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


class CommandError(Exception):
    """A one-line message for the user; exit status 1."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args) or 0
    except (CommandError, DatabaseError, users.UserError, ValueError) as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m crm", description="Leads & Contacts workspace")
    parser.add_argument("--db", help="database URL (default: CRM_DATABASE_URL or data/crm.duckdb)")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    init = commands.add_parser("init", help="create or upgrade the database schema")
    init.set_defaults(handler=_init)

    demo = commands.add_parser("demo", help="load deterministic demo data into an empty database")
    demo.add_argument("--contacts", type=_count, default=20_000, help="contacts to create")
    demo.add_argument("--leads", type=_count, default=20_000, help="leads to create")
    demo.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    demo.add_argument("--if-empty", action="store_true",
                      help="load only into an empty database, else do nothing and exit 0 "
                           "(safe for several servers starting at once)")
    demo.set_defaults(handler=_demo)

    _users_parser(commands)
    _departments_parser(commands)
    _roles_parser(commands)
    _export_parser(commands)
    _import_parser(commands)
    _mailings_parser(commands)
    return parser


def _exportable() -> dict[str, ListSpec]:
    """The lists an export may name ("leads" -> the leads list)."""
    from crm.records.kinds import LISTS

    return {spec.noun_plural: spec for spec in LISTS.values()}


def _export_parser(commands: argparse._SubParsersAction) -> None:
    keys = "; ".join(f"{name}: {', '.join(f.key for f in spec.filters)}"
                     for name, spec in _exportable().items())
    export = commands.add_parser(
        "export", help="export a list to .xlsx or .csv as a given user sees it",
        description=f"Filters ({keys}). Values as in the app's URL, comma-separated "
                    "(e.g. --filter country=DE,FR --filter vip=yes). Contacts exports hold "
                    "only the contacts assigned to the user, as in the app.")
    export.add_argument("entity", choices=list(_exportable()))
    export.add_argument("--user", required=True, help="export as this user (their scope)")
    export.add_argument("-o", "--output", required=True, help="file to write (.xlsx or .csv)")
    export.add_argument("--filter", action="append", default=[], metavar="KEY=VALUES",
                        help="a list filter (repeatable)")
    export.add_argument("--search", default="", help="search text, as in the search box")
    export.add_argument("--sort", help="column key to sort by")
    export.add_argument("--desc", action="store_true", help="sort descending")
    export.set_defaults(handler=_export)


def _users_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("users", help="list, create and change users")
    sub = parser.add_subparsers(title="users commands", metavar="ACTION", parser_class=_Parser)
    sub.add_parser("list", help="list users").set_defaults(handler=_users_list)

    create = sub.add_parser("create", help="create a user (password read from standard input)")
    create.add_argument("username")
    create.add_argument("--name", required=True, help="full name")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--department", help="department name")
    create.add_argument("--email", default="")
    create.set_defaults(handler=_users_create)

    change = sub.add_parser("set", help="change a user's role, department, name or email")
    change.add_argument("username")
    change.add_argument("--role", choices=[r.value for r in Role])
    change.add_argument("--department", help="department name, or '-' for none")
    change.add_argument("--name", help="full name")
    change.add_argument("--email")
    change.add_argument("--sees", metavar="DEPARTMENTS",
                        help="analysts: the departments they see besides their own, "
                             "comma-separated names ('-' for none: every department)")
    change.set_defaults(handler=_users_set)

    for name, active in (("deactivate", False), ("activate", True)):
        toggle = sub.add_parser(name, help=f"{name} a user")
        toggle.add_argument("username")
        toggle.set_defaults(handler=_users_active, active=active)

    reset = sub.add_parser("reset-password", help="set a new password (read from standard input)")
    reset.add_argument("username")
    reset.set_defaults(handler=_users_reset_password)

    sessions = sub.add_parser("sessions", help="list a user's open sessions")
    sessions.add_argument("username")
    sessions.set_defaults(handler=_users_sessions)
    end = sub.add_parser("end-sessions", help="end all of a user's sessions (signed out "
                                              "everywhere at their next click)")
    end.add_argument("username")
    end.set_defaults(handler=_users_end_sessions)
    unlock = sub.add_parser("unlock", help="lift a username's sign-in locks")
    unlock.add_argument("username")
    unlock.set_defaults(handler=_users_unlock)

    for departments_action in ("create-department", "rename-department"):
        # Also reachable as `python -m crm departments ...`.
        alias = sub.add_parser(departments_action, help=f"{departments_action.split('-')[0]} a "
                               "department (same as `departments`)")
        alias.add_argument("name")
        if departments_action == "rename-department":
            alias.add_argument("new_name")
            alias.set_defaults(handler=_departments_rename)
        else:
            alias.set_defaults(handler=_departments_create)
    parser.set_defaults(handler=lambda args: _help(parser))


def _departments_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("departments", help="list, create and rename departments")
    sub = parser.add_subparsers(title="departments commands", metavar="ACTION",
                                parser_class=_Parser)
    sub.add_parser("list", help="list departments").set_defaults(handler=_departments_list)
    create = sub.add_parser("create", help="create a department")
    create.add_argument("name")
    create.set_defaults(handler=_departments_create)
    rename = sub.add_parser("rename", help="rename a department")
    rename.add_argument("name")
    rename.add_argument("new_name")
    rename.set_defaults(handler=_departments_rename)
    parser.set_defaults(handler=lambda args: _help(parser))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _count(text: str) -> int:
    value = int(text.replace("_", "").replace(",", ""))
    if value < 0:
        raise argparse.ArgumentTypeError("must be zero or more")
    return value


def _store(args: argparse.Namespace) -> Database:
    return open_store(args.db or config.database_url())


# ------------------------------------------------------------------------- commands


def _init(args: argparse.Namespace) -> int:
    db = _store(args)
    print(f"database ready at schema version {migrations.current_version(db)} ({db.url})")
    if settings.is_demo(db):
        _print_demo_sign_ins()
    return 0


def _print_demo_sign_ins() -> None:
    from crm.demo.reference import DEMO_PASSWORD, DEMO_SIGN_INS

    print(f"demo sign-ins (password {DEMO_PASSWORD}): "
          + ", ".join(f"{name} ({role})" for name, role in DEMO_SIGN_INS))


def _demo(args: argparse.Namespace) -> int:
    from crm.demo.builder import load_demo
    from crm.demo.errors import DatabaseNotEmpty, DemoError

    db = _store(args)
    started = time.perf_counter()
    try:
        summary = load_demo(db, contacts=args.contacts, leads=args.leads, seed=args.seed,
                            progress=lambda message: print(message, flush=True))
    except DatabaseNotEmpty as problem:
        if args.if_empty:
            print("demo data not loaded: the database already has data")
            return 0
        raise CommandError(str(problem)) from problem
    except DemoError as problem:
        raise CommandError(str(problem)) from problem
    print(f"demo data loaded in {time.perf_counter() - started:.1f} s: {summary.describe()}")
    _print_demo_sign_ins()
    return 0


def _users_list(args: argparse.Namespace) -> int:
    db = _store(args)
    rows = users.list_users(None, db)
    print(f"{'username':<24} {'role':<16} {'department':<20} {'active':<6} full name")
    for u in rows:
        print(f"{u.username:<24} {u.role.value:<16} {(u.department_name or '-'):<20} "
              f"{'yes' if u.active else 'no':<6} {u.full_name}")
    return 0


def _department_id(db: Database, name: str | None) -> int | None:
    if name is None or name == "-":
        return None
    found = users.department_id_by_name(db, name)
    if found is None:
        raise CommandError(f"no department named {name!r} (see `python -m crm departments list`)")
    return found


def _user(db: Database, username: str) -> User:
    found = users.get_user(db, username)
    if found is None:
        raise CommandError(f"no user named {username!r}")
    return found


def _read_password(prompt: Callable[[str], str] = getpass.getpass) -> str:
    """From the terminal (asked twice), or the first line of standard input when piped."""
    if sys.stdin is not None and sys.stdin.isatty():
        first = prompt("Password: ")
        if first != prompt("Repeat password: "):
            raise CommandError("the passwords do not match")
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line.rstrip("\r\n")
    if not password:
        raise CommandError("no password given on standard input")
    return password


def _users_create(args: argparse.Namespace) -> int:
    db = _store(args)
    department_id = _department_id(db, args.department)
    password = _read_password()
    users.create_user(None, db, username=args.username, full_name=args.name, password=password,
                      role=args.role, department_id=department_id, email=args.email)
    print(f"user {args.username.strip().lower()} created")
    return 0


def _users_set(args: argparse.Namespace) -> int:
    db = _store(args)
    target = _user(db, args.username)
    department = ... if args.department is None else _department_id(db, args.department)
    users.update_user(None, db, target.id, role=args.role, department_id=department,
                      full_name=args.name, email=args.email)
    if args.sees is not None:
        names = [] if args.sees.strip() == "-" else [n for n in args.sees.split(",") if n.strip()]
        users.assign_departments(None, db, target.id, [_department_id(db, n) for n in names])
    print(f"user {target.username} updated")
    return 0


def _users_active(args: argparse.Namespace) -> int:
    db = _store(args)
    target = _user(db, args.username)
    users.update_user(None, db, target.id, active=args.active)
    print(f"user {target.username} {'activated' if args.active else 'deactivated'}")
    return 0


def _users_reset_password(args: argparse.Namespace) -> int:
    db = _store(args)
    target = _user(db, args.username)
    users.set_password(None, db, target.id, _read_password())
    print(f"password of {target.username} reset")
    return 0


def _users_sessions(args: argparse.Namespace) -> int:
    from crm.access import auth

    db = _store(args)
    target = _user(db, args.username)
    found = auth.open_sessions(db, target.id)
    for session in found:
        print(f"signed in {session['created_at']:%Y-%m-%d %H:%M}  last active "
              f"{session['last_seen_at']:%Y-%m-%d %H:%M}  expires "
              f"{session['expires_at']:%Y-%m-%d %H:%M}  client {session['client_key'][:8]}")
    print(f"{len(found)} open session{'' if len(found) == 1 else 's'} of {target.username}")
    return 0


def _users_end_sessions(args: argparse.Namespace) -> int:
    from crm.access import auth

    db = _store(args)
    target = _user(db, args.username)
    ended = auth.end_sessions(None, db, target.id, reason="ended from the command line")
    print(f"{ended} session{'' if ended == 1 else 's'} of {target.username} ended")
    return 0


def _users_unlock(args: argparse.Namespace) -> int:
    from crm.access import auth

    db = _store(args)
    auth.unlock(None, db, args.username)
    print(f"sign-in locks of {args.username.strip().lower()} lifted")
    return 0


def _export(args: argparse.Namespace) -> int:
    from crm.lists import list_export
    from crm.lists.listing import ListQuery

    db = _store(args)
    user = _user(db, args.user)
    if not user.active:
        raise CommandError(f"user {user.username!r} is deactivated")
    spec = _exportable()[args.entity]
    filters: dict[str, tuple[str, ...]] = {}
    known = {f.key for f in spec.filters_for(user)}
    for item in args.filter:
        key, _, values = item.partition("=")
        if key not in known or not values:
            raise CommandError(f"unknown filter {item!r}; use KEY=VALUES with KEY one of "
                               + ", ".join(sorted(known)))
        filters[key] = tuple(v.strip() for v in values.split(",") if v.strip())
    if args.sort and args.sort not in {c.key for c in spec.columns if c.sortable}:
        raise CommandError(f"unknown sort column {args.sort!r}")
    fmt = "csv" if args.output.lower().endswith(".csv") else "xlsx"
    if fmt == "xlsx" and not args.output.lower().endswith(".xlsx"):
        raise CommandError("the output file must end in .xlsx or .csv")
    query = ListQuery(filters=filters, search=args.search, sort=args.sort,
                      descending=True if args.desc else None if not args.sort else False)
    # The rows stream to the file; DuckDB's sort and join spill beyond this instead of
    # holding a million rows in memory (1M leads: 650 MB -> about 480 MB, same speed).
    db.cap_memory(EXPORT_MEMORY_MB)
    started = time.perf_counter()
    note = list_export.scope_note(user, db, spec, query, None)
    rows = list_export.export(user, db, spec, args.output, query=query, fmt=fmt)
    if note:
        print(note)
    print(f"exported {rows:,} {args.entity} to {args.output} "
          f"in {time.perf_counter() - started:.1f} s")
    return 0


def _departments_list(args: argparse.Namespace) -> int:
    for row in users.list_departments(_store(args)):
        print(f"{row['name']}  ({row['users']} users)")
    return 0


def _departments_create(args: argparse.Namespace) -> int:
    users.create_department(None, _store(args), args.name)
    print(f"department {args.name.strip()} created")
    return 0


def _departments_rename(args: argparse.Namespace) -> int:
    db = _store(args)
    department_id = _department_id(db, args.name)
    users.rename_department(None, db, department_id, args.new_name)
    print(f"department {args.name} renamed to {args.new_name.strip()}")
    return 0


# ------------------------------------------------------------------------- roles


def _roles_parser(commands: argparse._SubParsersAction) -> None:
    from crm.access.permissions import PERMISSIONS

    pairs = ", ".join(dict.fromkeys(f"{p.action} {p.entity}" for p in PERMISSIONS))
    parser = commands.add_parser(
        "roles", help="what each role may do: list, grant and revoke permissions",
        description=f"The permission table (role x action x kind). Permissions: {pairs}.")
    sub = parser.add_subparsers(title="roles commands", metavar="ACTION", parser_class=_Parser)
    listing = sub.add_parser("list", help="every permission and the roles that have it "
                                          "(* marks a change from the defaults)")
    listing.add_argument("role", nargs="?", help="only this role")
    listing.set_defaults(handler=_roles_list)
    for name, allowed in (("grant", True), ("revoke", False)):
        change = sub.add_parser(name, help=f"{name} ROLE the permission to ACTION ENTITY")
        change.add_argument("role", help=", ".join(r.value for r in Role))
        change.add_argument("action", help="e.g. convert, export_all, mail")
        change.add_argument("entity", help="e.g. lead, contact, company, segment")
        change.set_defaults(handler=_roles_change, allowed=allowed)
    reset = sub.add_parser("reset", help="put every role back to the default table")
    reset.set_defaults(handler=_roles_reset)
    parser.set_defaults(handler=lambda args: _help(parser))


def _roles_list(args: argparse.Namespace) -> int:
    from crm.access import permissions

    db = _store(args)
    table = permissions.table(db)
    roles = [Role(args.role)] if args.role else list(Role)
    width = max(len(f"{p.action} {p.entity}") for p in permissions.PERMISSIONS)
    print(f"{'permission':<{width}}  " + "  ".join(r.value for r in roles))
    for p in permissions.PERMISSIONS:
        cells = []
        for role in roles:
            mark = "yes" if p.key in table[role] else "-"
            changed = (p.key in table[role]) != (p.key in permissions.DEFAULTS[role])
            cells.append(f"{mark + ('*' if changed else ''):^{len(role.value)}}")
        print(f"{p.action + ' ' + p.entity:<{width}}  " + "  ".join(cells))
    return 0


def _roles_change(args: argparse.Namespace) -> int:
    from crm.access import permissions

    try:
        role = Role(args.role)
    except ValueError as exc:
        raise CommandError(f"unknown role {args.role!r}; use one of: "
                           + ", ".join(r.value for r in Role)) from exc
    found = permissions.permission(args.action, args.entity)
    changed = permissions.set_allowed(None, _store(args), role, found.action, found.entity,
                                      args.allowed)
    verb = "may" if args.allowed else "may not"
    print(f"{role.label}s {verb} {found.phrase}" + ("" if changed else " (already so)"))
    return 0


def _roles_reset(args: argparse.Namespace) -> int:
    from crm.access import permissions

    removed = permissions.reset_defaults(None, _store(args))
    print(f"every role has the default permissions again ({removed} changes removed)")
    return 0


# ------------------------------------------------------------------------- importing


def _import_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "import", help="import leads or contacts from .xlsx or .csv",
        description="Exit status: 0 imported (or a clean dry run), 1 problems stopped the "
                    "import and nothing was written, 2 the file cannot be used.")
    parser.add_argument("entity", choices=["leads", "contacts"])
    parser.add_argument("file", help=".xlsx or .csv file")
    parser.add_argument("--user", required=True, help="import as this user (their scope)")
    parser.add_argument("--sheet", help="sheet name (default: the first visible sheet)")
    parser.add_argument("--map", action="append", default=[], metavar="COLUMN=field",
                        help="map a column to a field, or COLUMN= to ignore it (repeatable)")
    parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    parser.add_argument("--on-duplicate", choices=["skip", "update", "create"], default="skip",
                        help="rows matching an existing record (default: skip)")
    parser.add_argument("--skip-invalid", action="store_true",
                        help="import the good rows, leave out rows with problems")
    order = parser.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", dest="dayfirst", action="store_true", default=None,
                       help="ambiguous dates are day/month/year")
    order.add_argument("--monthfirst", dest="dayfirst", action="store_false",
                       help="ambiguous dates are month/day/year")
    parser.add_argument("--rejected", metavar="FILE.xlsx", help="write the rejected rows here")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_import)

    imports = commands.add_parser("imports", help="list and undo import batches")
    sub = imports.add_subparsers(title="imports commands", metavar="ACTION",
                                 parser_class=_Parser)
    listing = sub.add_parser("list", help="list import batches, newest first")
    listing.add_argument("--user", help="as this user sees them (default: all)")
    listing.add_argument("--entity", choices=["leads", "contacts"])
    listing.set_defaults(handler=_imports_list)
    undo = sub.add_parser("undo", help="undo a whole import batch")
    undo.add_argument("batch_id", type=int)
    undo.add_argument("--user", required=True)
    undo.add_argument("--keep-changed", "--force", dest="keep_changed", action="store_true",
                      help="undo the rest when some records changed since the import (or "
                           "have deals, requests, mailings or a conversion): those are left "
                           "exactly as they are")
    undo.set_defaults(handler=_imports_undo)
    imports.set_defaults(handler=lambda args: _help(imports))


def _import(args: argparse.Namespace) -> int:
    import json
    import os

    from crm import importing

    entity = args.entity.removesuffix("s")
    db = _store(args)
    user = _user(db, args.user)

    def unusable(message: str) -> int:
        if args.json:
            print(json.dumps({"error": message, "created": 0, "updated": 0, "skipped": 0,
                              "rejected": 0, "problems": []}))
        else:
            print(f"error: {message}", file=sys.stderr)
        return 2

    try:
        if os.path.getsize(args.file) > importing.MAX_FILE_BYTES:
            return unusable(f"{args.file} is larger than the "
                            f"{importing.MAX_FILE_BYTES // 1024 // 1024} MB import limit")
        with open(args.file, "rb") as source:
            data = source.read()
        table = importing.read_table(data, os.path.basename(args.file), args.sheet)
    except OSError as problem:
        return unusable(f"cannot read {args.file}: {problem.strerror or problem}")
    except importing.ImportFileError as problem:
        return unusable(str(problem))
    mapping = importing.guess_mapping(entity, table.headers, table.frame)
    for item in args.map:
        column, sep, field = item.partition("=")
        if not sep or column not in table.headers:
            return unusable(f"--map {item!r}: the file has no column {column!r} (columns: "
                            + ", ".join(table.headers) + ")")
        mapping[column] = field.strip() or None
    try:
        preview = importing.validate(user, db, entity, table, mapping,
                                     importing.ImportOptions(dayfirst=args.dayfirst))
    except importing.ImportNotAllowed as problem:
        return unusable(str(problem))
    problems = [{"row": p.row, "column": p.column, "message": p.message}
                for p in preview.problems]
    summary = preview.summary()
    result = None
    if args.dry_run:
        blocked = bool(preview.column_problems) or (bool(problems) and not args.skip_invalid)
        counts = {"created": summary["new"], "updated": 0, "skipped": 0,
                  "rejected": summary["with_problems"]}
        matched = summary["matching_existing"]
        counts[{"skip": "skipped", "update": "updated", "create": "created"}[
            args.on_duplicate]] += matched
        code = 1 if blocked else 0
    else:
        try:
            result = importing.commit(user, db, entity, preview, args.on_duplicate,
                                      args.skip_invalid, table.file_name)
        except importing.ImportRefused as refused:
            counts = {"created": 0, "updated": 0, "skipped": 0, "rejected": 0}
            code = 1
            if not problems:  # refused for what changed since the preview, not the file
                problems = [{"row": p.row, "column": p.column, "message": p.message}
                            for p in refused.problems]
        else:
            counts, code = result.counts(), 0
            if args.rejected and result.rejected:
                with open(args.rejected, "wb") as sink:
                    sink.write(importing.rejected_report(result))
    if args.json:
        print(json.dumps({**counts, "batch_id": result.batch_id if result else None,
                          "dry_run": args.dry_run, "committed": result is not None,
                          "sheet": table.sheet, "mapping": mapping, "notes": preview.notes,
                          "problems": problems},
                         ensure_ascii=False))
        return code
    for p in problems[:200]:
        where = f"row {p['row']}" if p["row"] is not None else "whole column"
        print(f"{where}, {p['column'] or '-'}: {p['message']}")
    if len(problems) > 200:
        print(f"… and {len(problems) - 200:,} more problems")
    for note in preview.notes:
        print(f"note: {note}")
    verb = "would be" if args.dry_run else "were"
    where = (f"sheet “{table.sheet}” of {table.file_name}" if table.sheet and len(table.sheets) > 1
             else table.file_name)
    print(f"{table.row_count:,} rows read from {where}: "
          + ", ".join(f"{n:,} {verb} {k}" for k, n in counts.items()))
    if result is not None and result.kept_unsubscribed:
        print(f"note: {result.kept_unsubscribed:,} rows said subscribed for people who had "
              "unsubscribed; they stay unsubscribed (only the person or an admin can change "
              "that)")
    if result is not None:
        print(f"import batch {result.batch_id} (undo: python -m crm imports undo "
              f"{result.batch_id} --user {user.username})")
    elif code == 1:
        print("nothing was imported: fix the problems, or use --skip-invalid to leave those "
              "rows out", file=sys.stderr)
    return code


def _imports_list(args: argparse.Namespace) -> int:
    from crm import importing

    db = _store(args)
    viewer = _user(db, args.user) if args.user else SYSTEM
    entity = args.entity.removesuffix("s") if args.entity else None
    print(f"{'batch':>6}  {'entity':<8} {'imported at':<17} {'by':<20} {'created':>8} "
          f"{'updated':>8} {'skipped':>8} {'rejected':>8}  file")
    for b in importing.list_batches(viewer, db, entity):
        undone = (f"  (undone {b['undone_at']:%Y-%m-%d %H:%M}"
                  + (f"; {b['kept']:,} kept" if b["kept"] else "") + ")") if b["undone_at"] else ""
        print(f"{b['id']:>6}  {b['entity']:<8} {b['created_at']:%Y-%m-%d %H:%M} "
              f"{(b['imported_by'] or '-'):<20} {b['created']:>8} {b['updated']:>8} "
              f"{b['skipped']:>8} {b['rejected']:>8}  {b['file_name']}{undone}")
    return 0


def _imports_undo(args: argparse.Namespace) -> int:
    from crm import importing

    db = _store(args)
    user = _user(db, args.user)
    try:
        done = importing.undo_batch(user, db, args.batch_id, keep_changed=args.keep_changed)
    except importing.UndoRefused as refused:
        raise CommandError(str(refused).replace("Undo the rest", "Use --keep-changed")
                           ) from refused
    print(f"import batch {done.batch_id} undone: {done.removed:,} removed, "
          f"{done.restored:,} restored"
          + (f", {done.removed_companies:,} companies removed" if done.removed_companies else "")
          + (f", {len(done.kept):,} kept as they are" if done.kept else ""))
    for record_id, why in done.kept.items():
        print(f"  kept {record_id}: {why}")
    return 0


# ------------------------------------------------------------------------- mailings


def _mailings_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("mailings", help="list mass mailings and send them")
    sub = parser.add_subparsers(title="mailings commands", metavar="ACTION", parser_class=_Parser)
    sub.add_parser("list", help="list mailings, newest first").set_defaults(
        handler=_mailings_list)
    send = sub.add_parser(
        "send", help="send a mailing (or go on sending it after a stop or a crash)",
        description="Sends through the SMTP server of CRM_SMTP_HOST (or, without one, writes "
                    ".eml files to the outbox folder), at CRM_MAIL_RATE messages per second. "
                    "Safe to run again after a crash: nobody gets the mailing twice. Exit "
                    "status: 0 complete, 1 stopped before the end (the reason is printed).")
    send.add_argument("mailing_id", type=int, help="the mailing's ID (see `mailings list`)")
    send.add_argument("--rate", type=float, help="messages per second (default CRM_MAIL_RATE)")
    send.add_argument("--limit", type=_count, help="stop after this many messages")
    send.add_argument("--quiet", action="store_true", help="print only the summary")
    send.set_defaults(handler=_mailings_send)
    parser.set_defaults(handler=lambda args: _help(parser))


def _mailings_list(args: argparse.Namespace) -> int:
    from crm.mailing import campaigns

    frame = campaigns.list_mailings(SYSTEM, _store(args))
    print(f"{'id':>5}  {'status':<8} {'created':<16} {'recipients':>10} {'sent':>8} "
          f"{'failed':>7} {'waiting':>8}  name")
    for row in frame.itertuples():
        print(f"{row.id:>5}  {row.status:<8} {row.created_at:%Y-%m-%d %H:%M} "
              f"{row.recipients:>10,} {row.sent:>8,} {row.failed:>7,} {row.waiting:>8,}  "
              f"{row.name}")
    return 0


def _mailings_send(args: argparse.Namespace) -> int:
    from crm.mailing import sending, transport

    if args.rate is not None and not 0.1 <= args.rate <= 1000:
        raise CommandError("--rate must be between 0.1 and 1000 messages per second")
    db = _store(args)
    mail = transport.settings()
    shown = {"at": 0.0}

    def progress(step: sending.Progress) -> None:
        if args.quiet or (time.monotonic() - shown["at"] < 2 and step.done < step.total):
            return
        shown["at"] = time.monotonic()
        print(f"{step.done:,} of {step.total:,} done ({step.sent:,} sent, "
              f"{step.failed:,} failed)", flush=True)

    where = transport.transport_for(mail, args.mailing_id).describe()
    try:
        report = sending.send_mailing(None, db, args.mailing_id, mail=mail, rate=args.rate,
                                      limit=args.limit, progress=progress)
    except sending.SendRefused as refused:
        raise CommandError(str(refused)) from refused
    print(report.sentence(where))
    return 0 if report.finished else 1
