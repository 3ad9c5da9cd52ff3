"""The demo's newsletter history: who opted in, which mailings reached whom and when, who
left and how, all consistent with each other and with the mailings sent (reference.MAILINGS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from crm.demo import arrays
from crm.demo.reference import ANCHOR_S, DAY_S, MAILINGS, SEND_SPREAD_S


@dataclass(frozen=True)
class Sent:
    """When each mailing went out (seconds) and to which department's people (-1: all)."""

    sent: np.ndarray
    department: np.ndarray


def history(rng: np.random.Generator, entity: str, ids: np.ndarray, created: np.ndarray,
            department: np.ndarray, has_email: np.ndarray, email: pa.Array, actor: np.ndarray,
            mailings: Sent) -> dict:
    """Opt-in, mailings received and unsubscriptions, consistent with each other.

    Gray people: 55 % were mailed and then used the unsubscribe link, 20 % subscribed and
    were unsubscribed by staff before any mailing reached them, 25 % never opted in.
    """
    n = len(ids)
    opt_in = rng.random(n) < 0.85
    kind = rng.random(n)
    was_mailed_then_left = ~opt_in & (kind < 0.55)
    left_unmailed = ~opt_in & (kind >= 0.55) & (kind < 0.75)
    wants_mail = ((opt_in & (rng.random(n) < 0.8)) | was_mailed_then_left) & has_email
    eligible = (
        (mailings.sent[None, :] > created[:, None] + DAY_S)
        & ((mailings.department[None, :] < 0)
           | (mailings.department[None, :] == department[:, None]))
    )
    score = rng.random((n, len(MAILINGS)))
    score[~eligible] = -1.0
    rows = np.arange(n)
    first = score.argmax(axis=1)
    mailed = wants_mail & (score[rows, first] > 0)
    score[rows, first] = -1.0
    second = score.argmax(axis=1)
    twice = mailed & (score[rows, second] > 0) & (rng.random(n) < 0.3)
    sent_first = mailings.sent[first] + rng.integers(0, SEND_SPREAD_S, n)
    sent_second = mailings.sent[second] + rng.integers(0, SEND_SPREAD_S, n)
    last_mailed = np.where(twice, np.maximum(sent_first, sent_second), sent_first)
    # Unsubscribed after the last mailing, or (never mailed) some time after joining.
    left_mailed = was_mailed_then_left & mailed
    left_unmailed = left_unmailed | (was_mailed_then_left & ~mailed)
    after_mail = last_mailed + (3_600 + rng.random(n) * 60 * DAY_S).astype(np.int64)
    after_join = created + (60 + rng.random(n) * (ANCHOR_S - created)).astype(np.int64)
    unsubscribed = np.minimum(np.where(left_mailed, after_mail, after_join), ANCHOR_S)
    left = left_mailed | left_unmailed
    touched = np.where(left, unsubscribed, created)

    # Mailing recipients: one row per mailing received.
    who = np.concatenate([np.flatnonzero(mailed), np.flatnonzero(twice)])
    mailing = np.concatenate([first[mailed], second[twice]])
    sent = np.concatenate([sent_first[mailed], sent_second[twice]])
    order = np.lexsort((sent, who))
    who, mailing, sent = who[order], mailing[order], sent[order]
    recipients = {
        "mailing_id": mailing + 1,
        "entity": pa.repeat(entity, len(who)),
        "entity_id": ids[who],
        "email": email.take(pa.array(who)),
        "status": pa.repeat("sent", len(who)),
        "sent_at": arrays.timestamps(sent),
    }
    # Subscription history: joined (if ever), then left.
    joined = opt_in | left
    sub_who = np.flatnonzero(joined)
    out_who = np.flatnonzero(left)
    event_who = np.concatenate([sub_who, out_who])
    is_out = np.concatenate([np.zeros(len(sub_who), bool), np.ones(len(out_who), bool)])
    order = np.lexsort((is_out, event_who))
    event_who, is_out = event_who[order], is_out[order]
    by_link = left_mailed[event_who]
    events = {
        "entity": pa.repeat(entity, len(event_who)),
        "entity_id": ids[event_who],
        "event": arrays.when(is_out, "unsubscribed", "subscribed"),
        "occurred_at": arrays.timestamps(np.where(is_out, unsubscribed[event_who],
                                            created[event_who])),
        "user_id": arrays.ids(actor[event_who], is_out & ~by_link),
        "source": arrays.when(is_out, arrays.when(by_link, "unsubscribe link", "operator"),
                              "demo"),
    }
    return {
        "opt_in": opt_in,
        "last_mailed_at": arrays.timestamps(last_mailed, mailed),
        "unsubscribed_at": arrays.timestamps(unsubscribed, left),
        "touched": touched,
        "recipients": recipients,
        "events": events,
    }
