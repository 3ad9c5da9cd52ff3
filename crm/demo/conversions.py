"""Demo conversions: some leads have become customers, so the Leads list has converted
leads, their contacts carry the leads' newsletter history, and the overview's conversion
rate is not flat. Each one goes through crm.pipeline.conversion as a person would do it (linked to
the matching contact, else to the matching company, else a new company and contact), by the
lead's manager, dated some weeks after the lead was added. Deterministic for a seed."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from crm.access import Action, Entity, can
from crm.access.users import get_user, get_user_by_id
from crm.common import clock
from crm.identity.user import User
from crm.pipeline.conversion import NEW, convert_lead_in, plan_conversion
from crm.storage.db import Session

SHARE = 0.01  # of the leads
MOST = 100  # each conversion matches against every company and person of its department
_EARLIEST_DAYS, _LATEST_DAYS = 5, 150


def add_demo_conversions(tx: Session, *, leads: int, seed: int, until: datetime) -> int:
    """Convert about 1% of the demo leads (at most MOST), none later than `until`; returns
    how many were converted."""
    wanted = min(MOST, int(leads * SHARE))
    if wanted == 0:
        return 0
    rng = np.random.default_rng((seed, 7001))
    picked = rng.choice(np.arange(1, leads + 1), size=min(leads, wanted * 3), replace=False)
    marks = ", ".join("?" for _ in picked)
    candidates = tx.fetch_all(
        f"SELECT id, owner_id, created_at FROM leads WHERE id IN ({marks}) "
        "AND NOT disqualified AND converted_at IS NULL ORDER BY id",
        tuple(int(i) for i in picked))
    admin = get_user(tx, "admin")
    managers: dict[int, User | None] = {}
    converted = 0
    for lead in candidates:
        if converted == wanted:
            break
        owner = lead["owner_id"]
        if owner is not None and owner not in managers:
            managers[owner] = get_user_by_id(tx, owner)
        user = managers.get(owner)
        if user is None or not can(user, Action.CONVERT, Entity.LEAD):
            user = admin  # an operator's lead is converted by someone who may
        moment = min(lead["created_at"] + timedelta(
            days=int(rng.integers(_EARLIEST_DAYS, _LATEST_DAYS))), until)
        with clock.fixed_at(moment):
            if _convert(tx, user, lead["id"]):
                converted += 1
    return converted


def _convert(tx: Session, user: User, lead_id: int) -> bool:
    plan = plan_conversion(user, tx, lead_id)
    contact = plan.contact_matches[0].id if plan.contact_matches else NEW
    company = plan.company_matches[0].id if plan.company_matches and contact == NEW else NEW
    if plan.problems(company, contact):
        return False
    convert_lead_in(tx, user, lead_id, version=plan.version, company=company, contact=contact,
                    plan=plan)
    return True
