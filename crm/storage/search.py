"""Keyword and ID search, the same for leads, contacts and companies."""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm.identity.entities import Entity
from crm.storage.db import Condition, Session

_ID_FORMS = re.compile(r"^\s*(#|id\s*:?\s*#?)?\s*(\d{1,18})\s*$", re.IGNORECASE)
MAX_TERMS = 8

_PERSON = ["first_name", "middle_name", "last_name", "title", "email", "secondary_email",
           "phone", "mobile", "city", "address", "description"]
_PHONES = {
    Entity.LEAD: ["phone", "mobile", "company_phone"],
    Entity.CONTACT: ["phone", "mobile"],
    Entity.COMPANY: ["phone"],
    Entity.REQUEST: ["phone"],
}
_FIELDS = {
    Entity.LEAD: [*_PERSON, "company_name", "company_email", "company_phone", "website",
                  "company_address"],
    Entity.CONTACT: [*_PERSON,
                     "(SELECT co.name || ' ' || co.website FROM companies co "
                     "WHERE co.id = contacts.company_id)"],
    Entity.COMPANY: ["name", "alternative_names", "website", "email", "phone", "city", "address"],
    Entity.REQUEST: ["first_name", "last_name", "email", "phone", "company_name", "city",
                     "subject", "message"],
}
# The record's own columns its search text is made of (a contact's also holds its company's
# name and website: see DEPENDENTS).
SEARCHED = {entity: frozenset(f for f in fields if f.isidentifier())
            | ({"company_id"} if entity is Entity.CONTACT else set())
            for entity, fields in _FIELDS.items()}
# Columns of one entity that other records' search text is made of.
DEPENDENTS = {Entity.COMPANY: (frozenset({"name", "website"}), Entity.CONTACT, "company_id")}


def affected(entity: Entity, columns) -> bool:
    """Whether changing `columns` of an `entity` record changes its search text."""
    return entity in SEARCHED and not SEARCHED[entity].isdisjoint(columns)


def search_text_sql(entity: Entity) -> str:
    """SQL computing a row's search text from its own columns (both backends)."""
    parts = [f"coalesce({field}, '')" for field in _FIELDS[entity]]
    digits = [f"regexp_replace(coalesce({p}, ''), '[^0-9]', '', 'g')" for p in _PHONES[entity]]
    return f"lower(concat_ws(' ', {', '.join(parts + digits)}))"


def refresh(tx: Session, entity: Entity | str, where: Condition | None = None) -> None:
    """Recompute `search_text` for the rows matching `where` (all rows when None)."""
    entity = Entity(entity)
    sql = f"UPDATE {Entity(entity).table} SET search_text = {search_text_sql(entity)}"
    params: tuple = ()
    if where is not None:
        sql += f" WHERE {where.sql}"
        params = where.params
    tx.execute(sql, params)


@dataclass(frozen=True)
class ParsedSearch:
    record_id: int | None
    terms: tuple[str, ...]
    id_only: bool = False  # `#123` and `ID 123` ask for the ID alone


def parse(text: str | None) -> ParsedSearch:
    """`123`, `#123`, `ID 123` ask for a record by ID; other text is keywords (all must match)."""
    text = (text or "").strip()
    found = _ID_FORMS.match(text)
    if found:
        record_id = int(found.group(2))
        if found.group(1):
            return ParsedSearch(record_id, (), id_only=True)
        return ParsedSearch(record_id, (str(record_id),))
    terms = tuple(dict.fromkeys(t.lower() for t in text.split() if t))[:MAX_TERMS]
    return ParsedSearch(None, terms)


def condition(text: str | None, alias: str) -> Condition | None:
    """The WHERE condition for a search box value, or None for an empty box.

    `#123` and `ID 123` find record 123 only; a bare `123` finds record 123 and anything
    mentioning 123 (a phone number, a postcode).
    """
    parsed = parse(text)
    if parsed.id_only:
        return Condition(f"{alias}.id = ?", (parsed.record_id,))
    if parsed.record_id is not None:
        keyword = _like(alias, parsed.terms[0])
        return Condition(f"({alias}.id = ? OR {keyword.sql})",
                         (parsed.record_id, *keyword.params))
    if not parsed.terms:
        return None
    result = _like(alias, parsed.terms[0])
    for term in parsed.terms[1:]:
        result = result & _like(alias, term)
    return result


def escape_like(text: str) -> str:
    """LIKE wildcards typed by a user match themselves (use with ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(alias: str, term: str) -> Condition:
    if not any(c in term for c in "%_\\"):
        # No wildcard to escape: a plain LIKE, which DuckDB runs as a fast substring scan
        # (an ESCAPE clause costs it about 40%).
        return Condition(f"{alias}.search_text LIKE ?", (f"%{term}%",))
    return Condition(f"{alias}.search_text LIKE ? ESCAPE '\\'", (f"%{escape_like(term)}%",))
