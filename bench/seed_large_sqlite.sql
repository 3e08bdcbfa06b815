-- The large database for bench.py, on SQLite: the same rows as seed_large_pg.sql (10,000
-- companies, 100,000 apps each enabled for its company, 1,000,000 grants each with one live
-- refresh token), for timing start-up and the scenarios on a big SQLite file.
-- bench.py replaces :template_app with the id of a registered app, whose registration (and
-- argon2id secret hash: no seeded app's secret is verified) every seeded app copies.
-- UUIDs are 16-byte blobs here, as sea-orm stores them on SQLite.
PRAGMA journal_mode = WAL;
PRAGMA foreign_keys = ON;
BEGIN;
CREATE TEMP TABLE n(i INTEGER PRIMARY KEY);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1000000)
INSERT INTO n SELECT i FROM c;
CREATE TEMP TABLE tmpl AS SELECT * FROM partner_apps WHERE lower(hex(id)) = replace(:template_app, '-', '');
CREATE TEMP TABLE seed_company AS SELECT i, randomblob(16) AS id FROM n WHERE i <= 10000;
CREATE TEMP TABLE seed_app AS
  SELECT n.i, randomblob(16) AS id, c.id AS company_id FROM n JOIN seed_company c ON c.i = n.i % 10000 + 1
  WHERE n.i <= 100000;

INSERT INTO companies (id, name, domain, edition, development_partner, enabled, created_at, updated_at)
SELECT c.id, 'Seed Company ' || c.i, 'seed-' || c.i || '.example', 'professional', 1, 1,
       t.created_at, t.created_at
FROM seed_company c, tmpl t;

INSERT INTO partner_apps (id, company_id, name, description, active, visibility, review_status,
    review_reason, submitted_at, reviewed_by, reviewed_at, apis, redirect_uris, grant_types,
    resource_server, secret_hash, previous_secret_hash, previous_secret_valid_until,
    secret_rotated_at, created_at, updated_at)
SELECT a.id, a.company_id, 'Seed App ' || a.i, t.description, 1, 'private', 'draft', NULL, NULL,
       NULL, NULL, t.apis, t.redirect_uris, t.grant_types, 0, t.secret_hash, NULL, NULL,
       t.created_at, t.created_at, t.created_at
FROM seed_app a, tmpl t;

INSERT INTO enablements (company_id, app_id, enabled, updated_at, updated_by)
SELECT a.company_id, a.id, 1, t.created_at, NULL FROM seed_app a, tmpl t;

INSERT INTO grants (id, app_id, company_id, user_id, scope, created_at, revoked_at)
SELECT 'seed-grant-' || n.i, a.id, a.company_id, NULL,
       'expense.report.read travel.profile.read travel.profile.passport',
       unixepoch() - n.i % 86400, NULL
FROM n JOIN seed_app a ON a.i = n.i % 100000 + 1;

INSERT INTO refresh_tokens (digest, grant_id, issued_at, expires_at, rotated_at)
SELECT lower(hex(randomblob(32))), 'seed-grant-' || i, unixepoch() - i % 86400,
       unixepoch() - i % 86400 + 15552000, NULL
FROM n;
COMMIT;
ANALYZE;
