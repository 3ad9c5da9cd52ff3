"""Every record list, by kind: what segments, mailings and the command line choose from.

Each list is declared once, in its record's module (`LEADS` in crm.records.leads, …): its
table, nouns, columns with their labels, kinds and SQL, its grid and export columns and its
filters. Anything that offers a choice of lists takes it from here.
"""

from __future__ import annotations

from crm.identity.entities import PEOPLE, Entity
from crm.lists.listing import ListSpec
from crm.records.companies import COMPANIES
from crm.records.contacts import CONTACTS
from crm.records.leads import LEADS

LISTS: dict[Entity, ListSpec] = {spec.entity: spec for spec in (LEADS, CONTACTS, COMPANIES)}
# The lists of people: what a segment or a mass mailing is made of.
PEOPLE_LISTS: dict[Entity, ListSpec] = {e: LISTS[e] for e in PEOPLE}

