"""The initial schema: every entity of SPEC.md.

Written in the SQL that DuckDB and PostgreSQL share. Secondary indexes are PostgreSQL-only:
DuckDB scans columns fast and its ART indexes would only slow bulk loads.
"""

PERSON_COLUMNS = """
    first_name VARCHAR NOT NULL DEFAULT '',
    middle_name VARCHAR NOT NULL DEFAULT '',
    last_name VARCHAR NOT NULL DEFAULT '',
    title VARCHAR NOT NULL DEFAULT '',
    email VARCHAR NOT NULL DEFAULT '',
    secondary_email VARCHAR NOT NULL DEFAULT '',
    phone VARCHAR NOT NULL DEFAULT '',
    mobile VARCHAR NOT NULL DEFAULT '',
    country_code VARCHAR,
    city VARCHAR NOT NULL DEFAULT '',
    address VARCHAR NOT NULL DEFAULT '',
    description VARCHAR NOT NULL DEFAULT '',
    lead_source_id BIGINT,
    vip BOOLEAN NOT NULL DEFAULT FALSE,
    newsletter_opt_in BOOLEAN NOT NULL DEFAULT TRUE,
    last_mailed_at TIMESTAMP,
    unsubscribed_at TIMESTAMP,
    disqualified BOOLEAN NOT NULL DEFAULT FALSE,
    owner_id BIGINT,
    department_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    created_by BIGINT,
    modified_by BIGINT,
    row_version INTEGER NOT NULL DEFAULT 1
"""

STATEMENTS = [
    """CREATE TABLE app_settings (
        name VARCHAR PRIMARY KEY,
        value VARCHAR NOT NULL
    )""",
    "CREATE SEQUENCE IF NOT EXISTS departments_id_seq",
    """CREATE TABLE departments (
        id BIGINT PRIMARY KEY DEFAULT nextval('departments_id_seq'),
        name VARCHAR NOT NULL UNIQUE,
        created_at TIMESTAMP NOT NULL
    )""",
    "CREATE SEQUENCE IF NOT EXISTS users_id_seq",
    """CREATE TABLE users (
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
        CHECK (role IN ('sales_manager', 'operator', 'company_manager', 'super_operator', 'admin'))
    )""",
    "CREATE SEQUENCE IF NOT EXISTS sign_in_attempts_id_seq",
    """CREATE TABLE sign_in_attempts (
        id BIGINT PRIMARY KEY DEFAULT nextval('sign_in_attempts_id_seq'),
        username VARCHAR NOT NULL,
        attempted_at TIMESTAMP NOT NULL,
        succeeded BOOLEAN NOT NULL
    )""",
    """CREATE TABLE countries (
        code VARCHAR PRIMARY KEY,
        alpha3 VARCHAR NOT NULL,
        name VARCHAR NOT NULL
    )""",
    "CREATE SEQUENCE IF NOT EXISTS industries_id_seq",
    """CREATE TABLE industries (
        id BIGINT PRIMARY KEY DEFAULT nextval('industries_id_seq'),
        name VARCHAR NOT NULL UNIQUE
    )""",
    "CREATE SEQUENCE IF NOT EXISTS company_types_id_seq",
    """CREATE TABLE company_types (
        id BIGINT PRIMARY KEY DEFAULT nextval('company_types_id_seq'),
        name VARCHAR NOT NULL UNIQUE
    )""",
    "CREATE SEQUENCE IF NOT EXISTS lead_sources_id_seq",
    """CREATE TABLE lead_sources (
        id BIGINT PRIMARY KEY DEFAULT nextval('lead_sources_id_seq'),
        name VARCHAR NOT NULL UNIQUE
    )""",
    "CREATE SEQUENCE IF NOT EXISTS tags_id_seq",
    """CREATE TABLE tags (
        id BIGINT PRIMARY KEY DEFAULT nextval('tags_id_seq'),
        name VARCHAR NOT NULL UNIQUE
    )""",
    "CREATE SEQUENCE IF NOT EXISTS companies_id_seq",
    """CREATE TABLE companies (
        id BIGINT PRIMARY KEY DEFAULT nextval('companies_id_seq'),
        name VARCHAR NOT NULL,
        name_key VARCHAR NOT NULL,
        alternative_names VARCHAR NOT NULL DEFAULT '',
        website VARCHAR NOT NULL DEFAULT '',
        email VARCHAR NOT NULL DEFAULT '',
        phone VARCHAR NOT NULL DEFAULT '',
        country_code VARCHAR,
        city VARCHAR NOT NULL DEFAULT '',
        address VARCHAR NOT NULL DEFAULT '',
        company_type_id BIGINT,
        owner_id BIGINT,
        department_id BIGINT NOT NULL,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        created_by BIGINT,
        modified_by BIGINT,
        row_version INTEGER NOT NULL DEFAULT 1,
        UNIQUE (name_key, country_code)
    )""",
    """CREATE TABLE company_industries (
        company_id BIGINT NOT NULL,
        industry_id BIGINT NOT NULL,
        PRIMARY KEY (company_id, industry_id)
    )""",
    "CREATE SEQUENCE IF NOT EXISTS contacts_id_seq",
    f"""CREATE TABLE contacts (
        id BIGINT PRIMARY KEY DEFAULT nextval('contacts_id_seq'),
        company_id BIGINT NOT NULL,
        source_lead_id BIGINT,
        {PERSON_COLUMNS}
    )""",
    """CREATE TABLE contact_tags (
        contact_id BIGINT NOT NULL,
        tag_id BIGINT NOT NULL,
        PRIMARY KEY (contact_id, tag_id)
    )""",
    "CREATE SEQUENCE IF NOT EXISTS leads_id_seq",
    f"""CREATE TABLE leads (
        id BIGINT PRIMARY KEY DEFAULT nextval('leads_id_seq'),
        company_name VARCHAR NOT NULL DEFAULT '',
        company_email VARCHAR NOT NULL DEFAULT '',
        company_phone VARCHAR NOT NULL DEFAULT '',
        website VARCHAR NOT NULL DEFAULT '',
        company_address VARCHAR NOT NULL DEFAULT '',
        industry_id BIGINT,
        company_type_id BIGINT,
        converted_at TIMESTAMP,
        converted_by BIGINT,
        company_id BIGINT,
        contact_id BIGINT,
        {PERSON_COLUMNS}
    )""",
    """CREATE TABLE lead_tags (
        lead_id BIGINT NOT NULL,
        tag_id BIGINT NOT NULL,
        PRIMARY KEY (lead_id, tag_id)
    )""",
    "CREATE SEQUENCE IF NOT EXISTS subscription_events_id_seq",
    """CREATE TABLE subscription_events (
        id BIGINT PRIMARY KEY DEFAULT nextval('subscription_events_id_seq'),
        entity VARCHAR NOT NULL,
        entity_id BIGINT NOT NULL,
        event VARCHAR NOT NULL,
        occurred_at TIMESTAMP NOT NULL,
        user_id BIGINT,
        source VARCHAR NOT NULL DEFAULT '',
        note VARCHAR NOT NULL DEFAULT '',
        CHECK (entity IN ('lead', 'contact')),
        CHECK (event IN ('subscribed', 'unsubscribed', 'resubscribed'))
    )""",
    "CREATE SEQUENCE IF NOT EXISTS mailings_id_seq",
    """CREATE TABLE mailings (
        id BIGINT PRIMARY KEY DEFAULT nextval('mailings_id_seq'),
        name VARCHAR NOT NULL,
        subject VARCHAR NOT NULL,
        body VARCHAR NOT NULL DEFAULT '',
        status VARCHAR NOT NULL DEFAULT 'draft',
        department_id BIGINT,
        created_by BIGINT,
        created_at TIMESTAMP NOT NULL,
        started_at TIMESTAMP,
        finished_at TIMESTAMP
    )""",
    "CREATE SEQUENCE IF NOT EXISTS mailing_recipients_id_seq",
    """CREATE TABLE mailing_recipients (
        id BIGINT PRIMARY KEY DEFAULT nextval('mailing_recipients_id_seq'),
        mailing_id BIGINT NOT NULL,
        entity VARCHAR NOT NULL,
        entity_id BIGINT NOT NULL,
        email VARCHAR NOT NULL,
        status VARCHAR NOT NULL DEFAULT 'pending',
        error VARCHAR NOT NULL DEFAULT '',
        sent_at TIMESTAMP,
        UNIQUE (mailing_id, entity, entity_id),
        CHECK (status IN ('pending', 'sent', 'failed'))
    )""",
    "CREATE SEQUENCE IF NOT EXISTS import_batches_id_seq",
    """CREATE TABLE import_batches (
        id BIGINT PRIMARY KEY DEFAULT nextval('import_batches_id_seq'),
        entity VARCHAR NOT NULL,
        user_id BIGINT NOT NULL,
        file_name VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL,
        created_count INTEGER NOT NULL DEFAULT 0,
        updated_count INTEGER NOT NULL DEFAULT 0,
        skipped_count INTEGER NOT NULL DEFAULT 0,
        rejected_count INTEGER NOT NULL DEFAULT 0,
        undone_at TIMESTAMP,
        undone_by BIGINT
    )""",
    """CREATE TABLE import_batch_items (
        batch_id BIGINT NOT NULL,
        entity_id BIGINT NOT NULL,
        action VARCHAR NOT NULL,
        before_image VARCHAR,
        PRIMARY KEY (batch_id, entity_id)
    )""",
    "CREATE SEQUENCE IF NOT EXISTS audit_log_id_seq",
    """CREATE TABLE audit_log (
        id BIGINT PRIMARY KEY DEFAULT nextval('audit_log_id_seq'),
        changed_at TIMESTAMP NOT NULL,
        user_id BIGINT,
        entity VARCHAR NOT NULL,
        entity_id BIGINT NOT NULL,
        action VARCHAR NOT NULL,
        field VARCHAR NOT NULL DEFAULT '',
        old_value VARCHAR,
        new_value VARCHAR,
        batch_id BIGINT
    )""",
]

POSTGRES_ONLY = [
    "CREATE INDEX sign_in_attempts_username_idx ON sign_in_attempts (username, attempted_at)",
    "CREATE INDEX users_department_idx ON users (department_id)",
    "CREATE INDEX companies_department_idx ON companies (department_id)",
    "CREATE INDEX companies_owner_idx ON companies (owner_id)",
    "CREATE INDEX contacts_department_created_idx ON contacts (department_id, created_at)",
    "CREATE INDEX contacts_owner_idx ON contacts (owner_id)",
    "CREATE INDEX contacts_company_idx ON contacts (company_id)",
    "CREATE INDEX contacts_email_idx ON contacts (lower(email))",
    "CREATE INDEX contact_tags_tag_idx ON contact_tags (tag_id)",
    "CREATE INDEX leads_department_created_idx ON leads (department_id, created_at)",
    "CREATE INDEX leads_owner_idx ON leads (owner_id)",
    "CREATE INDEX leads_email_idx ON leads (lower(email))",
    "CREATE INDEX lead_tags_tag_idx ON lead_tags (tag_id)",
    "CREATE INDEX subscription_events_entity_idx ON subscription_events (entity, entity_id)",
    "CREATE INDEX mailing_recipients_entity_idx ON mailing_recipients (entity, entity_id)",
    "CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, changed_at)",
]
