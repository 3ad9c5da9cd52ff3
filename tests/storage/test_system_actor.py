"""One system actor: the command line, the demo, the mail sender and migrations write as
`SYSTEM`, which reads as an admin and stamps no user id on records or in the audit log."""

from __future__ import annotations

from crm.identity.entities import Entity
from crm.identity.roles import Role
from crm.identity.user import SYSTEM, User, stamp_id
from crm.storage.writer import Writer
from tests import factories


def test_the_system_stamps_no_user_id_on_the_record_or_in_its_history(db):
    east = factories.department(db, "East")
    with db.transaction() as tx:
        lead_id = Writer(tx, SYSTEM).insert(Entity.LEAD, {
            "first_name": "Ada", "last_name": "Lovelace", "department_id": east})
    with db.transaction() as tx:
        Writer(tx, SYSTEM).update(Entity.LEAD, lead_id, {"last_name": "King"})
    row = db.fetch_one("SELECT created_by, modified_by, row_version FROM leads WHERE id = ?",
                       (lead_id,))
    assert row == {"created_by": None, "modified_by": None, "row_version": 2}
    history = db.fetch_all("SELECT action, field, user_id FROM audit_log WHERE entity = 'lead' "
                           "AND entity_id = ? ORDER BY id", (lead_id,))
    assert [h["user_id"] for h in history] == [None] * len(history)
    assert ("update", "last_name") in {(h["action"], h["field"]) for h in history}


def test_a_user_is_stamped_and_the_system_is_not():
    sales = User(7, "sales.east", "Sales East", "", Role.SALES_MANAGER, 1, True)
    assert stamp_id(sales) == 7
    assert stamp_id(SYSTEM) is None
    assert stamp_id(None) is None
