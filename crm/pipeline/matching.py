"""Finding the existing company or person a lead or request is about, so that converting
a lead or turning a request into a deal links to it instead of creating a silent duplicate.

Companies match on the loose name key (case, accents, punctuation and legal forms such as
Ltd/Limited/GmbH/Inc ignored), or on the domain of their email or website. Public mail
domains (gmail.com, outlook.com, ...) say nothing about an employer and never match. People
match on the same email, or the same name and phone. Matches are always inside the user's
scope and in the record's own department: a contact and its company share a department.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from crm.access import Action, Entity, scope
from crm.common.names import company_name_key
from crm.identity.user import User
from crm.records import people
from crm.storage.db import Database, Session

PUBLIC_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.de", "yahoo.fr",
    "yahoo.es", "yahoo.it", "ymail.com", "rocketmail.com", "hotmail.com", "hotmail.co.uk",
    "hotmail.de", "hotmail.fr", "hotmail.it", "hotmail.es", "outlook.com", "outlook.de",
    "outlook.fr", "live.com", "live.de", "live.fr", "live.co.uk", "msn.com", "aol.com",
    "aol.de", "icloud.com", "me.com", "mac.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch",
    "gmx.com", "web.de", "t-online.de", "freenet.de", "posteo.de", "mailbox.org",
    "protonmail.com", "proton.me", "pm.me", "tutanota.com", "tuta.io", "fastmail.com",
    "zoho.com", "mail.com", "email.com", "yandex.ru", "yandex.com", "mail.ru", "rambler.ru",
    "qq.com", "163.com", "126.com", "sina.com", "naver.com", "hanmail.net", "daum.net",
    "orange.fr", "free.fr", "laposte.net", "wanadoo.fr", "sfr.fr", "libero.it",
    "virgilio.it", "tiscali.it", "alice.it", "btinternet.com", "sky.com", "virginmedia.com",
    "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "seznam.cz", "wp.pl", "o2.pl",
    "onet.pl", "interia.pl", "bluewin.ch", "telenet.be", "skynet.be", "ziggo.nl",
    "kpnmail.nl", "rediffmail.com", "terra.com.br", "uol.com.br", "bol.com.br",
})

# No "?" quantifier: SQL text never holds a literal "?" (it is the placeholder).
_SCHEME_AND_WWW = r"^([a-z][a-z0-9+.-]*://){0,1}(www\.){0,1}"


def email_domain(email: str | None) -> str:
    """The domain an email address was sent from, or "" (none, or a public mail domain)."""
    text = (email or "").strip().lower()
    if "@" not in text:
        return ""
    domain = text.rsplit("@", 1)[1].strip(". ")
    return "" if domain in PUBLIC_MAIL_DOMAINS else domain


def website_domain(url: str | None) -> str:
    """"https://www.Acme.com/about" -> "acme.com". Mirrors WEBSITE_DOMAIN_SQL exactly."""
    text = re.sub(_SCHEME_AND_WWW, "", (url or "").strip().lower(), count=1)
    domain = text.split("/", 1)[0].split(":", 1)[0]
    return "" if domain in PUBLIC_MAIL_DOMAINS else domain


def email_domain_sql(column: str) -> str:
    return f"lower(split_part({column}, '@', 2))"


def website_domain_sql(column: str) -> str:
    """The domain of a website column, computed in SQL the same way as `website_domain`."""
    stripped = f"regexp_replace(lower(trim({column})), '{_SCHEME_AND_WWW}', '')"
    return f"split_part(split_part({stripped}, '/', 1), ':', 1)"


# ----------------------------------------------------------------------- companies


@dataclass(frozen=True)
class CompanyMatch:
    id: int
    name: str
    country_code: str | None
    country: str | None
    reasons: tuple[str, ...]

    def same_name_in(self, country_code: str | None) -> bool:
        """A new company of that name in that country would be this one again."""
        return "same name" in self.reasons and self.country_code == country_code

    def label(self) -> str:
        return (f"{self.name} (ID {self.id}, {self.country or 'no country'}): "
                + ", ".join(self.reasons))


def matching_companies(user: User, db: Database | Session, *, name: str,
                       domains: Iterable[str], department_id: int,
                       limit: int = 10) -> list[CompanyMatch]:
    """Companies of `department_id` that the user may edit, with the same loose name or a
    mail or website domain in `domains`; the reasons say which."""
    key = company_name_key(name)
    wanted = sorted({d for d in domains if d and d not in PUBLIC_MAIL_DOMAINS})
    if not key and not wanted:
        return []
    allowed = scope(user, Entity.COMPANY, Action.VIEW, alias="co")
    email_dom, web_dom = email_domain_sql("co.email"), website_domain_sql("co.website")
    marks = ", ".join("?" for _ in wanted)
    same_email = f"{email_dom} IN ({marks})" if wanted else "FALSE"
    same_web = f"{web_dom} IN ({marks})" if wanted else "FALSE"
    same_name = "co.name_key = ?" if key else "FALSE"
    name_params: tuple[Any, ...] = (key,) if key else ()
    rows = db.fetch_all(
        f"SELECT co.id, co.name, co.country_code, cn.name AS country, "
        f"{same_name} AS same_name, {same_email} AS same_email, {same_web} AS same_web, "
        f"{email_dom} AS email_dom, {web_dom} AS web_dom "
        "FROM companies co LEFT JOIN countries cn ON cn.code = co.country_code "
        f"WHERE co.department_id = ? AND {allowed.sql} "
        f"AND (({same_name}) OR ({same_email}) OR ({same_web})) "
        "ORDER BY same_name DESC, co.id LIMIT ?",
        (*name_params, *wanted, *wanted, department_id, *allowed.params, *name_params,
         *wanted, *wanted, limit),
    )
    matches = []
    for row in rows:
        reasons = []
        if row["same_name"]:
            reasons.append("same name")
        if row["same_email"]:
            reasons.append(f"same email domain ({row['email_dom']})")
        if row["same_web"]:
            reasons.append(f"same website domain ({row['web_dom']})")
        matches.append(CompanyMatch(row["id"], row["name"], row["country_code"],
                                    row["country"], tuple(reasons)))
    return matches


# ----------------------------------------------------------------------- people


@dataclass(frozen=True)
class PersonMatch:
    entity: Entity
    id: int
    name: str
    email: str
    reason: str
    company_id: int | None
    company: str  # a contact's company; a lead's free-text company name
    converted: bool = False  # a lead already converted (its contact is the one to use)

    def label(self) -> str:
        at = f" at {self.company}" if self.company else ""
        return f"{self.name or self.email} (ID {self.id}){at}: {self.reason}"


def matching_people(user: User, db: Database | Session, entity: Entity, *, email: str = "",
                    first_name: str = "", last_name: str = "", phones: Sequence[str] = (),
                    department_id: int, exclude_id: int | None = None) -> list[PersonMatch]:
    """Leads or contacts of `department_id` the user may edit: same email, or same name and
    phone (any of `phones`)."""
    found: dict[int, str] = {}
    for n, phone in enumerate([p for p in phones if p] or [""]):
        for duplicate in people.likely_duplicates(  # the email is looked up once
                user, db, entity, email=email if n == 0 else "", first_name=first_name,
                last_name=last_name, phone=phone, exclude_id=exclude_id):
            found.setdefault(duplicate.id, duplicate.reason)
    if not found:
        return []
    allowed = scope(user, entity, Action.VIEW, alias="p")
    marks = ", ".join("?" for _ in found)
    if entity is Entity.CONTACT:
        sql = ("SELECT p.id, trim(concat_ws(' ', p.first_name, p.last_name)) AS name, p.email, "
               "p.company_id, co.name AS company, FALSE AS converted FROM contacts p "
               "JOIN companies co ON co.id = p.company_id")
    else:
        sql = ("SELECT p.id, trim(concat_ws(' ', p.first_name, p.last_name)) AS name, p.email, "
               "p.company_id, p.company_name AS company, p.converted_at IS NOT NULL AS converted "
               "FROM leads p")
    rows = db.fetch_all(
        f"{sql} WHERE p.id IN ({marks}) AND p.department_id = ? AND {allowed.sql} "
        "ORDER BY p.id", (*found, department_id, *allowed.params))
    return [PersonMatch(entity, r["id"], r["name"], r["email"], found[r["id"]], r["company_id"],
                        r["company"] or "", bool(r["converted"])) for r in rows]
