"""Mass mailing: recipients chosen from a selection or a filtered list (with the reasons others
were left out), personalised Markdown messages, throttled and resumable sending through SMTP
or to an outbox folder, signed unsubscribe links and the subscription history.

Modules: `recipients` (who gets it, who is left out and why), `campaigns` (mailings and their
counts), `compose` (a message as one person receives it), `tokens` (signed unsubscribe
links), `transport` (SMTP or the outbox), `sending` (the send loop), `subscriptions`
(unsubscribe and subscribe again, the newsletter history).
"""
