"""Small builders for test data, writing rows directly (services are tested elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crm.access.users import create_department, create_user, get_user_by_id
from crm.common.names import company_name_key
from crm.identity.roles import Role
from crm.identity.user import User
from crm.storage.db import Database

STAMP = datetime(2026, 1, 15, 10, 0, 0)
PASSWORD = "correct horse battery"


def department(db: Database, name: str) -> int:
    return create_department(None, db, name)


def user(db: Database, username: str, role: Role | str, department_id: int | None,
         full_name: str | None = None) -> User:
    user_id = create_user(None, db, username=username, full_name=full_name or username.title(),
                          password=PASSWORD, role=role, department_id=department_id,
                          email=f"{username}@example.com")
    found = get_user_by_id(db, user_id)
    assert found is not None
    return found


def company(db: Database, name: str, department_id: int, owner: User | None = None,
            country: str = "DE", **values) -> int:
    """A company; `values` set other columns (`website=`, `email=`) or override these
    (`country_code=`)."""
    row = {"name": name, "name_key": company_name_key(name), "country_code": country,
           "department_id": department_id, "owner_id": owner.id if owner else None,
           "created_at": STAMP, "updated_at": STAMP, **values}
    return _insert(db, "companies", row)


def contact(db: Database, last_name: str, company_id: int, department_id: int,
            owner: User | None = None, **values) -> int:
    row = {"first_name": "Test", "last_name": last_name, "company_id": company_id,
           "department_id": department_id, "owner_id": owner.id if owner else None,
           "created_at": STAMP, "updated_at": STAMP, **values}
    return _insert(db, "contacts", row)


def lead(db: Database, last_name: str, department_id: int, owner: User | None = None,
         **values) -> int:
    row = {"first_name": "Test", "last_name": last_name, "department_id": department_id,
           "owner_id": owner.id if owner else None, "created_at": STAMP, "updated_at": STAMP,
           **values}
    return _insert(db, "leads", row)


def _insert(db: Database, table: str, row: dict) -> int:
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    return db.scalar(f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING id",
                     tuple(row.values()))


@dataclass
class World:
    """Two departments, a user of every role, and records in each department."""

    east: int
    west: int
    users: dict[str, User]
    leads: dict[str, int] = field(default_factory=dict)
    contacts: dict[str, int] = field(default_factory=dict)
    companies: dict[str, int] = field(default_factory=dict)


def world(db: Database) -> World:
    east, west = department(db, "East"), department(db, "West")
    people = {
        "sales_east": user(db, "sales.east", Role.SALES_MANAGER, east),
        "sales_east_2": user(db, "sales.east2", Role.SALES_MANAGER, east),
        "operator_east": user(db, "operator.east", Role.OPERATOR, east),
        "sales_west": user(db, "sales.west", Role.SALES_MANAGER, west),
        "company_manager": user(db, "company.manager", Role.COMPANY_MANAGER, None),
        "super_operator": user(db, "super.operator", Role.SUPER_OPERATOR, west),
        "admin": user(db, "admin", Role.ADMIN, None),
        "analyst": user(db, "analyst", Role.ANALYST, None),
        "analyst_east": user(db, "analyst.east", Role.ANALYST, east),
    }
    w = World(east=east, west=west, users=people)
    w.companies["east"] = company(db, "Eastwind GmbH", east, people["sales_east"])
    w.companies["west"] = company(db, "Westbrook Ltd", west, people["sales_west"], "GB")
    w.contacts["east_mine"] = contact(db, "Eastone", w.companies["east"], east,
                                      people["sales_east"])
    w.contacts["east_other"] = contact(db, "Easttwo", w.companies["east"], east,
                                       people["sales_east_2"])
    w.contacts["west"] = contact(db, "Westone", w.companies["west"], west, people["sales_west"])
    w.contacts["west_super"] = contact(db, "Westsuper", w.companies["west"], west,
                                       people["super_operator"])
    w.leads["east"] = lead(db, "Eastlead", east, people["sales_east"])
    w.leads["west"] = lead(db, "Westlead", west, people["sales_west"])
    return w
