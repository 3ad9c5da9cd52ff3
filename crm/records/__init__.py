"""The records people work: leads, contacts, companies, tags; what leads and contacts share
(people, newsletter status) and how a change is checked and saved (editing).
"""
