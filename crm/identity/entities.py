"""The kinds of record and the actions on them that the permission table is about."""

from __future__ import annotations

from enum import StrEnum


class Entity(StrEnum):
    LEAD = "lead"
    CONTACT = "contact"
    COMPANY = "company"
    REQUEST = "request"  # a commercial request: in its department's scope, like a lead
    DEAL = "deal"
    SEGMENT = "segment"  # saved segments (the table's "share with the company")
    TAG = "tag"  # the tag vocabulary (rename, merge)
    USER = "user"  # users, departments and this table

    @property
    def noun(self) -> str:
        return self.value  # "lead"

    @property
    def plural(self) -> str:
        return {"company": "companies"}.get(self.value, f"{self.value}s")

    @property
    def title(self) -> str:
        return self.value.capitalize()  # "Lead 12 was changed by …"

    @property
    def table(self) -> str:
        """The table of this kind's records: its plural ("companies"). Only the kinds the
        writer writes have one here (KeyError for the others: a caller's mistake)."""
        if self not in RECORDS:
            raise KeyError(f"{self.value} is not a kind of record with a table")
        return self.plural


class Action(StrEnum):
    VIEW = "view"
    ADD = "add"
    EDIT = "edit"  # change fields, assign, unsubscribe on request, dismiss a request
    IMPORT = "import"
    UNDO_IMPORT = "undo_import"
    CONVERT = "convert"  # a lead into a company and contact; a request into a deal
    EXPORT = "export"
    EXPORT_ALL = "export_all"  # contacts: every one in scope, not only those assigned to you
    VIP = "vip"
    TAG = "tag"
    MAIL = "mail"  # create and send mass mailings
    SHARE = "share"  # share segments with the whole company
    MANAGE = "manage"  # tags: rename and merge; users: users, departments, permissions


# The kinds of record the one write path writes (their tables, versions and history).
RECORDS = (Entity.LEAD, Entity.CONTACT, Entity.COMPANY, Entity.REQUEST, Entity.DEAL)
# Leads and contacts: the kinds of record that are people (newsletter, duplicates, mailings).
PEOPLE = (Entity.LEAD, Entity.CONTACT)


def person_table(entity: Entity | str) -> str:
    """The table of a lead or a contact; KeyError for any other kind (a caller's mistake)."""
    if Entity(entity) not in PEOPLE:
        raise KeyError(f"{Entity(entity).value} is not a person")
    return Entity(entity).table

# What a role may do: (action, kind) pairs, as crm.access.permissions works them out.
Grants = frozenset[tuple[Action, Entity]]
