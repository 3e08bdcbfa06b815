-- The large database for bench.py, on PostgreSQL: 10,000 companies, 100,000 partner apps (each
-- enabled for its company), 1,000,000 grants each with one live refresh token. Rows are
-- inserted directly into the migrated database, next to what the benchmark provisioned through
-- the admin API (which it keeps using). Run with psql -v template_app=<uuid of a registered app>.
--
-- Every seeded app copies the template app's registration, including its argon2id secret hash:
-- computing 100,000 argon2 hashes would take an hour, and no seeded app's secret is verified
-- in the benchmark (their rows only make the tables and indexes large).
-- Ids are derived from md5() of a counter, so they are spread over the key space like random
-- UUIDs; refresh-token digests are SHA-256 hex, as the server stores them.
\set ON_ERROR_STOP 1
BEGIN;

INSERT INTO companies (id, name, domain, edition, development_partner, enabled, created_at, updated_at)
SELECT md5('seed-company-' || i)::uuid, 'Seed Company ' || i, 'seed-' || i || '.example',
       'professional', true, true, now(), now()
FROM generate_series(1, 10000) AS i;

INSERT INTO partner_apps (id, company_id, name, description, active, visibility, review_status,
    review_reason, submitted_at, reviewed_by, reviewed_at, apis, redirect_uris, grant_types,
    resource_server, secret_hash, previous_secret_hash, previous_secret_valid_until,
    secret_rotated_at, created_at, updated_at)
SELECT md5('seed-app-' || i)::uuid, md5('seed-company-' || (i % 10000 + 1))::uuid,
       'Seed App ' || i, t.description, true, 'private', 'draft', NULL, NULL, NULL, NULL,
       t.apis, t.redirect_uris, t.grant_types, false, t.secret_hash, NULL, NULL,
       now(), now(), now()
FROM generate_series(1, 100000) AS i, partner_apps t
WHERE t.id = :'template_app';

INSERT INTO enablements (company_id, app_id, enabled, updated_at, updated_by)
SELECT md5('seed-company-' || (i % 10000 + 1))::uuid, md5('seed-app-' || i)::uuid, true, now(), NULL
FROM generate_series(1, 100000) AS i;

-- Company-level grants (as the request-token exchange makes them), 10 per app.
INSERT INTO grants (id, app_id, company_id, user_id, scope, created_at, revoked_at)
SELECT 'seed-grant-' || i, md5('seed-app-' || (i % 100000 + 1))::uuid,
       md5('seed-company-' || ((i % 100000 + 1) % 10000 + 1))::uuid, NULL,
       'expense.report.read travel.profile.read travel.profile.passport',
       extract(epoch from now())::bigint - (i % 86400), NULL
FROM generate_series(1, 1000000) AS i;

INSERT INTO refresh_tokens (digest, grant_id, issued_at, expires_at, rotated_at)
SELECT encode(sha256(('seed-refresh-' || i)::bytea), 'hex'), 'seed-grant-' || i,
       extract(epoch from now())::bigint - (i % 86400),
       extract(epoch from now())::bigint - (i % 86400) + 15552000, NULL
FROM generate_series(1, 1000000) AS i;

COMMIT;
VACUUM ANALYZE;
