"""Lead conversion and commercial requests: requests, the deals made from them, the public
form's rate limit, and where a lead or contact came from.

A request keeps the normalised company name key and the mail domain it was sent from
(public mail domains left out), and hints of the contact, lead and company it matches, so
the request list shows its matches without scanning every contact on each page.
"""

STATEMENTS = [
    "CREATE SEQUENCE IF NOT EXISTS requests_id_seq",
    """CREATE TABLE requests (
        id BIGINT PRIMARY KEY DEFAULT nextval('requests_id_seq'),
        first_name VARCHAR NOT NULL DEFAULT '',
        last_name VARCHAR NOT NULL DEFAULT '',
        email VARCHAR NOT NULL DEFAULT '',
        phone VARCHAR NOT NULL DEFAULT '',
        company_name VARCHAR NOT NULL DEFAULT '',
        company_key VARCHAR NOT NULL DEFAULT '',
        email_domain VARCHAR NOT NULL DEFAULT '',
        country_code VARCHAR,
        city VARCHAR NOT NULL DEFAULT '',
        subject VARCHAR NOT NULL DEFAULT '',
        message VARCHAR NOT NULL DEFAULT '',
        lead_source_id BIGINT,
        newsletter_opt_in BOOLEAN NOT NULL DEFAULT FALSE,
        channel VARCHAR NOT NULL,
        status VARCHAR NOT NULL DEFAULT 'new',
        owner_id BIGINT,
        department_id BIGINT NOT NULL,
        deal_id BIGINT,
        contact_id BIGINT,
        lead_id BIGINT,
        matched_contact_id BIGINT,
        matched_lead_id BIGINT,
        matched_company_id BIGINT,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        created_by BIGINT,
        modified_by BIGINT,
        row_version INTEGER NOT NULL DEFAULT 1,
        search_text VARCHAR NOT NULL DEFAULT '',
        CHECK (channel IN ('form', 'manual', 'import')),
        CHECK (status IN ('new', 'deal', 'dismissed'))
    )""",
    "CREATE SEQUENCE IF NOT EXISTS deals_id_seq",
    """CREATE TABLE deals (
        id BIGINT PRIMARY KEY DEFAULT nextval('deals_id_seq'),
        name VARCHAR NOT NULL,
        amount DECIMAL(14, 2),
        stage VARCHAR NOT NULL DEFAULT 'new',
        owner_id BIGINT,
        department_id BIGINT NOT NULL,
        company_id BIGINT,
        contact_id BIGINT,
        lead_id BIGINT,
        request_id BIGINT,
        created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL,
        created_by BIGINT,
        modified_by BIGINT,
        row_version INTEGER NOT NULL DEFAULT 1,
        CHECK (stage IN ('new', 'qualification', 'proposal', 'negotiation', 'won', 'lost'))
    )""",
    "CREATE SEQUENCE IF NOT EXISTS request_form_attempts_id_seq",
    """CREATE TABLE request_form_attempts (
        id BIGINT PRIMARY KEY DEFAULT nextval('request_form_attempts_id_seq'),
        client_key VARCHAR NOT NULL,
        attempted_at TIMESTAMP NOT NULL
    )""",
    "ALTER TABLE leads ADD COLUMN source_request_id BIGINT",
    "ALTER TABLE contacts ADD COLUMN source_request_id BIGINT",
]

POSTGRES_ONLY = [
    "CREATE INDEX requests_department_created_idx ON requests (department_id, created_at)",
    "CREATE INDEX requests_search_idx ON requests USING gin (search_text public.gin_trgm_ops)",
    "CREATE INDEX deals_lead_idx ON deals (lead_id)",
    "CREATE INDEX deals_contact_idx ON deals (contact_id)",
    "CREATE INDEX request_form_attempts_client_idx ON request_form_attempts "
    "(client_key, attempted_at)",
    "CREATE INDEX companies_email_domain_idx ON companies (lower(split_part(email, '@', 2)))",
    "CREATE INDEX leads_contact_idx ON leads (contact_id)",
]
