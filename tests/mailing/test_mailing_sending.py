"""Sending through a real SMTP server on loopback: the right headers, personalisation and
unsubscribe link; throttling; refusals and deferrals kept per recipient; and a send that is
interrupted half-way and started again delivers each message exactly once."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from crm.access import Entity
from crm.mailing import campaigns, sending, subscriptions, tokens
from crm.mailing.recipients import Selection
from crm.mailing.transport import OutboxTransport, settings
from crm.storage.store import close_store, open_store
from tests.mail_server import MailServer
from tests.mailing_fixtures import PUBLIC_URL, contact, mailing_world

ROOT = Path(__file__).resolve().parents[2]
BODY = "Dear {first_name} {last_name},\n\nNews for **{company}**: <b>not bold</b>.\n"


@pytest.fixture
def smtp(mail_env, monkeypatch):
    with MailServer() as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.fixture
def world(db):
    w = mailing_world(db)
    w.people = {
        name: contact(db, w, name, f"{name.lower()}@example.com", first_name=first)
        for first, name in (("Anna", "Adler"), ("Bernd", "Becker"), ("Clara", "Conrad"),
                            ("Dora", "Dietz"), ("Emil", "Engel"), ("Fritz", "Fuchs"))
    }
    return w


def draft(db, w, subject: str = "News for {first_name}", body: str = BODY) -> int:
    return campaigns.create_mailing(w.users["sales_east"], db, Selection(Entity.CONTACT),
                                    subject=subject, body=body)


def test_each_recipient_gets_a_personal_message_with_an_unsubscribe_link(db, world, smtp):
    mailing = draft(db, world)
    report = sending.send_mailing(world.users["sales_east"], db, mailing)
    assert report.finished and report.sent == 6
    by_address = {item.rcpt_tos[0]: item for item in smtp.inbox.received}
    assert sorted(by_address) == sorted(f"{n.lower()}@example.com" for n in world.people)
    adler = by_address["adler@example.com"]
    message = adler.message
    assert message["Subject"] == "News for Anna"
    assert message["From"] == "Sales Team <news@crm.example>"
    assert message["To"] == "Anna Adler <adler@example.com>"
    assert adler.mail_from == "news@crm.example"
    recipient = db.scalar("SELECT id FROM mailing_recipients WHERE entity_id = ?",
                          (world.people["Adler"],))
    assert message["Message-ID"] == f"<mailing-{mailing}.recipient-{recipient}@crm.example>"
    token = tokens.make_token(Entity.CONTACT, world.people["Adler"], "adler@example.com")
    link = f"{PUBLIC_URL}/?view=unsubscribe&token={token}"
    assert message["List-Unsubscribe"].strip() == f"<{link}>"  # folded before the long URL
    assert "Dear Anna Adler," in adler.text()
    assert f"Unsubscribe: {link}" in adler.text()
    html = adler.html()
    assert "<strong>Eastwind GmbH</strong>" in html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html and "<b>" not in html
    assert f'href="{link.replace("&", "&amp;")}"' in html


def test_delivery_turns_the_status_turquoise_and_agrees_with_the_history(db, world, smtp):
    sending.send_mailing(world.users["sales_east"], db, draft(db, world))
    assert db.scalar("SELECT count(*) FROM contacts WHERE last_mailed_at IS NOT NULL") == 6
    assert subscriptions.disagreements(db, Entity.CONTACT) == 0
    assert subscriptions.disagreements(db, Entity.LEAD) == 0


def test_sending_is_throttled_to_the_configured_rate(db, world, smtp):
    clock = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))
        clock[0] += seconds

    sending.send_mailing(world.users["sales_east"], db, draft(db, world), rate=2,
                         clock=lambda: clock[0], sleep=sleep)
    assert waits == [0.5] * 5  # six messages at two per second: 2.5 s


def test_a_refused_address_fails_with_the_reason_and_a_deferred_one_is_retried(
        db, world, smtp):
    smtp.inbox.refuse.add("becker@example.com")
    smtp.inbox.defer.add("conrad@example.com")
    mailing = draft(db, world)
    first = sending.send_mailing(world.users["sales_east"], db, mailing)
    assert (first.sent, first.failed, first.deferred, first.finished) == (4, 1, 1, False)
    rows = {r["email"]: r for r in db.fetch_all(
        "SELECT email, status, error, attempts FROM mailing_recipients")}
    assert rows["becker@example.com"]["status"] == "failed"
    assert "550 5.1.1 No such mailbox here" in rows["becker@example.com"]["error"]
    assert rows["conrad@example.com"]["status"] == "pending"
    assert "deferred" in db.scalar("SELECT last_error FROM mailings WHERE id = ?", (mailing,))

    smtp.inbox.defer.clear()
    second = sending.send_mailing(world.users["sales_east"], db, mailing)
    assert (second.sent, second.finished) == (1, True)
    assert sorted(smtp.inbox.addresses()) == sorted(
        f"{n.lower()}@example.com" for n in world.people if n != "Becker")


def test_someone_who_unsubscribes_before_their_turn_is_skipped(db, world, smtp):
    mailing = draft(db, world)
    subscriptions.unsubscribe(world.users["sales_east"], db, Entity.CONTACT,
                              world.people["Dietz"])
    report = sending.send_mailing(world.users["sales_east"], db, mailing)
    assert (report.sent, report.skipped, report.finished) == (5, 0, True)
    assert "dietz@example.com" not in smtp.inbox.addresses()
    assert db.fetch_one("SELECT status, error FROM mailing_recipients WHERE email = ?",
                        ("dietz@example.com",)) == {
        "status": "skipped", "error": "Unsubscribed before it was sent."}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_mail_server_sign_in_is_used(db, world, mail_env, monkeypatch):
    with MailServer(user="crm", password="s3cret-pass") as server:
        for name, value in {**server.env(), "CRM_SMTP_USER": "crm",
                            "CRM_SMTP_PASSWORD": "s3cret-pass"}.items():
            monkeypatch.setenv(name, value)
        report = sending.send_mailing(world.users["sales_east"], db, draft(db, world))
    assert report.sent == 6 and server.logins == ["crm"]


def test_an_unreachable_server_stops_the_send_and_keeps_the_draft(db, world, mail_env,
                                                                 monkeypatch):
    monkeypatch.setenv("CRM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CRM_SMTP_PORT", "9")  # discard: nothing listens
    monkeypatch.setenv("CRM_SMTP_SECURITY", "none")
    monkeypatch.setenv("CRM_MAIL_FROM", "news@crm.example")
    mailing = draft(db, world)
    report = sending.send_mailing(world.users["sales_east"], db, mailing)
    assert report.sent == 0 and not report.finished
    assert report.stopped.startswith("Cannot reach the mail server 127.0.0.1:9")
    row = db.fetch_one("SELECT status, sender FROM mailings WHERE id = ?", (mailing,))
    assert row == {"status": "draft", "sender": None}
    assert db.scalar("SELECT count(*) FROM mailing_recipients WHERE status = 'pending'") == 6


def test_a_send_stopped_between_messages_resumes_and_delivers_each_exactly_once(
        db, world, smtp):
    mailing = draft(db, world)

    def stop_after_three(progress: sending.Progress) -> None:
        if progress.sent == 3:
            raise KeyboardInterrupt  # the session ends, the process is stopped…

    with pytest.raises(KeyboardInterrupt):
        sending.send_mailing(world.users["sales_east"], db, mailing, progress=stop_after_three)
    assert len(smtp.inbox.received) == 3
    assert db.fetch_one("SELECT status, sender FROM mailings WHERE id = ?", (mailing,)) == {
        "status": "sending", "sender": None}

    report = sending.send_mailing(world.users["sales_east"], db, mailing)
    assert (report.sent, report.finished) == (3, True)
    addresses = smtp.inbox.addresses()
    assert sorted(addresses) == sorted(set(addresses)) and len(addresses) == 6


def test_a_crash_while_the_server_receives_a_message_never_sends_it_again(db, world, smtp):
    """The sender dies after the server took message 3 but before it could record that."""
    mailing = draft(db, world)
    real = sending._delivered
    calls = []

    def crash_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise SystemExit("power cut")
        return real(*args, **kwargs)

    sending._delivered = crash_on_third
    try:
        with pytest.raises(SystemExit):
            sending.send_mailing(world.users["sales_east"], db, mailing)
    finally:
        sending._delivered = real
    assert len(smtp.inbox.received) == 3
    report = sending.send_mailing(world.users["sales_east"], db, mailing)
    assert report.finished and report.sent == 3
    addresses = smtp.inbox.addresses()
    assert len(addresses) == len(set(addresses)) == 6  # message 3 arrived once, not twice
    statuses = {r["status"]: r["n"] for r in db.fetch_all(
        "SELECT status, count(*) AS n FROM mailing_recipients GROUP BY status")}
    assert statuses == {"sent": 5, "unknown": 1}
    assert subscriptions.disagreements(db, Entity.CONTACT) == 0


def test_a_killed_sender_process_restarted_delivers_each_message_exactly_once(
        db, world, smtp, database_url):
    """`python -m crm mailings send` is killed while the server holds its fourth message;
    started again, it sends the rest, and nobody gets the mailing twice."""
    mailing = draft(db, world)
    close_store(database_url)  # DuckDB: one process at a time opens the file
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRM_MAIL_RATE": "20"}
    command = [sys.executable, "-m", "crm", "--db", database_url, "mailings", "send",
               str(mailing)]
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)

    def kill_on_fourth(item) -> None:
        if len(smtp.inbox.received) == 4:
            os.kill(child.pid, signal.SIGKILL)

    smtp.inbox.on_data = kill_on_fourth
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    smtp.inbox.on_data = None
    assert len(smtp.inbox.received) == 4

    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 0, again.stderr
    assert "The mailing is complete." in again.stdout
    addresses = smtp.inbox.addresses()
    assert sorted(addresses) == sorted(f"{n.lower()}@example.com" for n in world.people)
    assert len(addresses) == len(set(addresses))
    # The fourth was in the server's hands when its sender died: recorded as unknown.
    db = open_store(database_url)
    assert {r["status"]: r["n"] for r in db.fetch_all(
        "SELECT status, count(*) AS n FROM mailing_recipients GROUP BY status")} == {
        "sent": 5, "unknown": 1}


def test_without_a_mail_server_messages_go_to_the_outbox(db, world, mail_env):
    mailing = draft(db, world)
    report = sending.send_mailing(world.users["sales_east"], db, mailing)
    assert report.finished and report.sent == 6
    files = sorted((mail_env / f"mailing-{mailing}").glob("*.eml"))
    assert len(files) == 6
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["List-Unsubscribe"].strip().startswith(
        "<https://crm.example/?view=unsubscribe&token=c")
    assert not settings().uses_smtp


def test_an_outbox_message_written_before_a_crash_counts_as_sent(db, world, mail_env):
    mailing = draft(db, world)
    real = sending._delivered
    calls = []

    def crash_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("power cut")
        return real(*args, **kwargs)

    sending._delivered = crash_on_second
    try:
        with pytest.raises(SystemExit):
            sending.send_mailing(world.users["sales_east"], db, mailing)
    finally:
        sending._delivered = real
    # The file of message 2 is there, so it is known to have gone out.
    assert db.scalar("SELECT count(*) FROM mailing_recipients WHERE status = 'sent'") == 2
    report = sending.send_mailing(world.users["sales_east"], db, mailing)
    assert report.finished and report.sent == 4
    assert len(list(OutboxTransport(mail_env, mailing).folder.glob("*.eml"))) == 6


def test_only_one_process_sends_a_mailing_at_a_time(db, world, smtp):
    mailing = draft(db, world)
    db.execute("UPDATE mailings SET sender = 'elsewhere.example:1:abc', sender_seen_at = ? "
               "WHERE id = ?", (sending.now(), mailing))
    with pytest.raises(sending.SendRefused, match="is being sent right now"):
        sending.send_mailing(world.users["sales_east"], db, mailing)
    assert smtp.inbox.received == []


def test_a_mailing_of_another_department_cannot_be_sent(db, world, smtp):
    mailing = draft(db, world)
    with pytest.raises(sending.SendRefused, match=f"Mailing {mailing} does not exist"):
        sending.send_mailing(world.users["sales_west"], db, mailing)
    assert smtp.inbox.received == []


def test_the_command_line_refuses_an_unknown_mailing_in_one_line(db, world, mail_env,
                                                                  database_url, capsys):
    from crm import cli

    assert cli.main(["--db", database_url, "mailings", "send", "999"]) == 1
    assert capsys.readouterr().err == "error: Mailing 999 does not exist.\n"


def test_the_command_line_sends_and_lists(db, world, mail_env, database_url, capsys):
    from crm import cli

    mailing = draft(db, world)
    assert cli.main(["--db", database_url, "mailings", "send", str(mailing), "--limit",
                     "2", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("Sent 2 messages to the outbox folder")
    assert "Stopped: the limit of 2 messages was reached." in out
    assert cli.main(["--db", database_url, "mailings", "send", str(mailing), "--quiet"]) == 0
    assert "Sent 4 messages" in capsys.readouterr().out
    assert cli.main(["--db", database_url, "mailings", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[1].split()[:2] == [str(mailing), "sent"]


def test_a_sender_taken_for_dead_stops_when_another_took_over(db, world, smtp):
    mailing = draft(db, world)

    def taken_over(progress: sending.Progress) -> None:
        if progress.sent == 2:
            db.execute("UPDATE mailings SET sender = 'elsewhere.example:1:abc' WHERE id = ?",
                       (mailing,))

    report = sending.send_mailing(world.users["sales_east"], db, mailing, progress=taken_over)
    assert report.sent == 2 and report.stopped == "another process took this mailing over."
    assert db.scalar("SELECT count(*) FROM mailing_recipients WHERE status = 'pending'") == 4
    assert db.scalar("SELECT sender FROM mailings WHERE id = ?", (mailing,)) == (
        "elsewhere.example:1:abc")  # left to the one that holds it
