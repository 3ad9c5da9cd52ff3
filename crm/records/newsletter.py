"""Newsletter status: one definition, used by lists, filters, detail pages, exports and charts.

A person's status follows from their subscription (the latest subscription event, kept on the
row as `newsletter_opt_in` / `unsubscribed_at`) and whether a newsletter was delivered to
them (`last_mailed_at`, kept from mailing recipients).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class NewsletterStatus(StrEnum):
    NOT_MAILED = "not_mailed"
    RECEIVING = "receiving"
    UNSUBSCRIBED = "unsubscribed"


@dataclass(frozen=True)
class StatusLook:
    label: str
    colour: str
    meaning: str


LOOKS: dict[NewsletterStatus, StatusLook] = {
    NewsletterStatus.NOT_MAILED: StatusLook(
        "Subscribed, not mailed yet", "#e4572e", "subscribed, has not yet received a newsletter"
    ),
    NewsletterStatus.RECEIVING: StatusLook(
        "Receiving newsletters", "#23949f", "has received newsletters and has not unsubscribed"
    ),
    NewsletterStatus.UNSUBSCRIBED: StatusLook(
        "Unsubscribed", "#8c8c8c",
        "unsubscribed, or never subscribed (opted out from the start; the list says which)"
    ),
}


NEVER_SUBSCRIBED = "Never subscribed"  # the gray label of a person who never opted in


def never_subscribed_sql(alias: str) -> str:
    """True for the gray people who never unsubscribed: opted out from the start (a gray
    person who did unsubscribe has the date of it)."""
    return f"(NOT {alias}.newsletter_opt_in AND {alias}.unsubscribed_at IS NULL)"


def status_label(status: NewsletterStatus | str, never_subscribed: bool = False) -> str:
    """The text beside the icon: gray tells "Unsubscribed" from "Never subscribed"."""
    status = NewsletterStatus(status)
    if status is NewsletterStatus.UNSUBSCRIBED and never_subscribed:
        return NEVER_SUBSCRIBED
    return LOOKS[status].label


def status_sql(alias: str = "") -> str:
    """The SQL expression giving a lead's or contact's status (see NewsletterStatus)."""
    p = f"{alias}." if alias else ""
    return (
        f"CASE WHEN NOT {p}newsletter_opt_in THEN '{NewsletterStatus.UNSUBSCRIBED}' "
        f"WHEN {p}last_mailed_at IS NULL THEN '{NewsletterStatus.NOT_MAILED}' "
        f"ELSE '{NewsletterStatus.RECEIVING}' END"
    )
