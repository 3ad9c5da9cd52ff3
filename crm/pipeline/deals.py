"""Deals: what a commercial request becomes. Name, amount, stage, owner, and links to the
company, contact, lead and request it is about. Shown on lead and contact detail pages; a
full pipeline is not part of this workspace yet."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from crm.access import Action, Entity, scope
from crm.common.errors import Refusal
from crm.identity.user import User
from crm.records import editing
from crm.storage.db import Database, Session
from crm.storage.writer import EditRejected, Problem, Writer

STAGES = {
    "new": "New", "qualification": "Qualification", "proposal": "Proposal",
    "negotiation": "Negotiation", "won": "Won", "lost": "Lost",
}
MAX_AMOUNT = Decimal("999999999999.99")


def check_amount(value: Any) -> Decimal | None:
    """An amount of money, at most two decimals; "12,500.50" and "12500,50" both read."""
    text = "" if value is None else str(value).strip().replace(" ", "")
    if not text:
        return None
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise Refusal(f"“{value}” is not an amount.") from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise Refusal("The amount must be between 0 and 999,999,999,999.99.")
    if amount != amount.quantize(Decimal("0.01")):
        raise Refusal("The amount has at most two decimals.")
    return amount.quantize(Decimal("0.01"))


def insert_deal(tx: Session, user: User, values: dict[str, Any], *, department_id: int,
                links: dict[str, int | None]) -> int:
    """Validate and insert a deal inside `tx` (the caller checked the links' scope).

    Raises EditRejected listing every problem; nothing is written then.
    """
    problems: list[Problem] = []
    row: dict[str, Any] = {"department_id": department_id}
    name = str(values.get("name") or "").strip()
    if not name:
        problems.append(Problem(None, "name", "Give the deal a name."))
    elif len(name) > 300:
        problems.append(Problem(None, "name", "The deal name has at most 300 characters."))
    try:
        amount = check_amount(values.get("amount"))
    except ValueError as problem:
        problems.append(Problem(None, "amount", f"Amount: {problem}"))
        amount = None
    stage = values.get("stage") or "new"
    if stage not in STAGES:
        problems.append(Problem(None, "stage", f"Unknown stage “{stage}”."))
    try:
        owner = editing.check_owner(values.get("owner_id"), tx, row)
    except ValueError as problem:
        problems.append(Problem(None, "owner_id", f"Owner: {problem}"))
        owner = None
    if problems:
        raise EditRejected(problems)
    row.update({"name": name, "amount": amount, "stage": stage, "owner_id": owner,
                **{k: v for k, v in links.items() if v is not None}})
    writer = Writer(tx, user)
    deal_id = writer.insert(Entity.DEAL, row)
    # A deal is part of what its lead or contact is: their versions move on with it.
    for entity, column in ((Entity.LEAD, "lead_id"), (Entity.CONTACT, "contact_id")):
        if links.get(column) is not None:
            writer.touch(entity, int(links[column]), "deal", deal_id)
    return deal_id


def move_to_contact(writer: Writer, lead_id: int, contact_id: int, company_id: int) -> int:
    """A converted lead's deals follow it to its contact and company; returns how many."""
    rows = writer.tx.fetch_all("SELECT id, company_id FROM deals WHERE lead_id = ? "
                               "AND contact_id IS NULL ORDER BY id", (lead_id,))
    for row in rows:
        writer.update(Entity.DEAL, row["id"], {"contact_id": contact_id,
                                               "company_id": row["company_id"] or company_id})
        writer.touch(Entity.CONTACT, contact_id, "deal", row["id"])
    return len(rows)


def deals_of(user: User, db: Database, *, lead_id: int | None = None,
             contact_id: int | None = None) -> list[dict[str, Any]]:
    """The deals of a lead or contact that the user may see, newest first."""
    if (lead_id is None) == (contact_id is None):
        raise ValueError("deals of a lead or of a contact")
    allowed = scope(user, Entity.DEAL, Action.VIEW, alias="d")
    column, value = ("d.lead_id", lead_id) if lead_id is not None else ("d.contact_id",
                                                                         contact_id)
    rows = db.fetch_all(
        "SELECT d.id, d.name, d.amount, d.stage, ow.full_name AS owner, d.created_at, "
        "d.request_id, d.company_id, co.name AS company FROM deals d "
        "LEFT JOIN users ow ON ow.id = d.owner_id "
        "LEFT JOIN companies co ON co.id = d.company_id "
        f"WHERE {column} = ? AND {allowed.sql} ORDER BY d.created_at DESC, d.id DESC",
        (value, *allowed.params))
    for row in rows:
        row["stage"] = STAGES.get(row["stage"], row["stage"])
    return rows
