"""One write path: nothing in crm/ but crm/storage/writer.py writes a record table, bumps a
version or refreshes search text. A new writer that bypasses it fails here, naming the line."""

from __future__ import annotations

import re
from pathlib import Path

CRM = Path(__file__).resolve().parents[2] / "crm"
RECORD_TABLES = ("leads", "contacts", "companies", "requests", "deals", "lead_tags",
                 "contact_tags", "company_industries")
WRITE = re.compile(
    r"(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\{[^}]*\}|(?:" + "|".join(RECORD_TABLES) + r")\b)",
    re.IGNORECASE)
BUMP = re.compile(r"row_version\s*\+\s*1")
FRAME_INTO_RECORDS = re.compile(r"insert_frame\(\s*[\"'](" + "|".join(RECORD_TABLES) + r")[\"']")

# Writers that are allowed, and why. Each names the file and a text on the line.
ALLOWED = {
    ("storage/writer.py", ""): "the one write path",
    ("storage/search.py", "SET search_text"): "search.refresh, called by the writer only",
    ("pipeline/requests.py", "matched_contact_id"): "request match hints: derived, not a change",
    ("storage/db.py", "INSERT INTO {_identifier(table)}"): "Session.insert_frame itself",
    ("storage/migrations/m0002_reference_data.py", "INSERT INTO {target}"): "reference data",
}


def _violations(pattern: re.Pattern[str], root: Path = CRM) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not pattern.search(line):
                continue
            if any(relative == file and text in line for (file, text) in ALLOWED):
                continue
            if relative.startswith("storage/migrations/") and pattern is WRITE and \
                    not relative.endswith(("m0009_suppressions.py",)):
                continue  # schema history: tables and columns, not records
            found.append(f"crm/{relative}:{number}: {line.strip()}")
    return found


def test_only_the_writer_writes_records():
    assert _violations(WRITE) == []


def test_only_the_writer_bumps_versions():
    assert _violations(BUMP) == []


def test_only_the_writer_refreshes_search_text():
    calls = re.compile(r"search\.refresh\(")
    assert _violations(calls) == []


def test_only_the_writer_bulk_inserts_records():
    assert _violations(FRAME_INTO_RECORDS) == []


def test_the_check_finds_a_writer_that_bypasses_it(tmp_path):
    """The tests above can fail: raw writes in a module are reported, line by line."""
    (tmp_path / "rogue.py").write_text(
        'A = "UPDATE leads SET vip = TRUE"\n'
        'B = f"DELETE FROM {table} WHERE id = ?"\n'
        'C = "UPDATE contacts SET row_version = row_version + 1"\n'
        'D = "SELECT 1 FROM leads"\n')
    assert _violations(WRITE, tmp_path) == [
        'crm/rogue.py:1: A = "UPDATE leads SET vip = TRUE"',
        'crm/rogue.py:2: B = f"DELETE FROM {table} WHERE id = ?"',
        'crm/rogue.py:3: C = "UPDATE contacts SET row_version = row_version + 1"']
    assert _violations(BUMP, tmp_path) == [
        'crm/rogue.py:3: C = "UPDATE contacts SET row_version = row_version + 1"']
