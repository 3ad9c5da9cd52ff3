"""The permission table's overrides (crm.access.permissions), the analyst role, and the departments
an admin assigns to an analyst.

`role_permissions` holds only an admin's differences from the defaults in code, so that a
new release's defaults reach every role nobody changed. The users table's role check gains
`analyst`: PostgreSQL swaps the constraint; DuckDB cannot drop a constraint, so the table is
rebuilt (nothing references it by foreign key).
"""

ROLES = "'sales_manager', 'operator', 'company_manager', 'super_operator', 'analyst', 'admin'"

STATEMENTS = [
    # The departments an admin gives an analyst besides their own (none: every department).
    """CREATE TABLE user_departments (
        user_id BIGINT NOT NULL,
        department_id BIGINT NOT NULL,
        PRIMARY KEY (user_id, department_id)
    )""",
    """CREATE TABLE role_permissions (
        role VARCHAR NOT NULL,
        action VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        allowed BOOLEAN NOT NULL,
        changed_by BIGINT,
        changed_at TIMESTAMP NOT NULL,
        PRIMARY KEY (role, action, entity)
    )""",
]

POSTGRES_ONLY = [
    "ALTER TABLE users DROP CONSTRAINT users_role_check",
    f"ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ({ROLES}))",
]

DUCKDB_ONLY = [  # renamed first: a table created under another name keeps that name in
    # DuckDB's foreign-key catalog and breaks later updates of departments
    "ALTER TABLE users RENAME TO users_before_analysts",
    f"""CREATE TABLE users (
        id BIGINT PRIMARY KEY DEFAULT nextval('users_id_seq'),
        username VARCHAR NOT NULL UNIQUE,
        full_name VARCHAR NOT NULL,
        email VARCHAR NOT NULL DEFAULT '',
        role VARCHAR NOT NULL,
        department_id BIGINT REFERENCES departments (id),
        active BOOLEAN NOT NULL DEFAULT TRUE,
        password_hash VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        CHECK (role IN ({ROLES}))
    )""",
    "INSERT INTO users SELECT id, username, full_name, email, role, department_id, active, "
    "password_hash, created_at, updated_at FROM users_before_analysts",
    "DROP TABLE users_before_analysts",
    "CREATE INDEX users_department_idx ON users (department_id)",
]
