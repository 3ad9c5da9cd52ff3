"""Who acts and on what: roles, the user, the kinds of record and the actions on them.

Plain values, no database: every layer above may name a user or a kind of record.
"""
