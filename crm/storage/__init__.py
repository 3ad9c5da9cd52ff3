"""The database and the one write path.

`db` speaks to DuckDB or PostgreSQL with one code path; `store` opens and migrates it;
`writer` is the only module that changes records (version, who and when, audit, search).
"""
