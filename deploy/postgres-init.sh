#!/bin/sh
# Runs once, when the PostgreSQL volume is first created (docker-entrypoint-initdb.d):
# the application's own login role. It owns nothing; `flask grant-app-role` gives it
# least privilege after each migration (ledger tables: SELECT and INSERT only).
# APP_DB_ROLE names it (default lims_app, the name docker-compose.yml connects as).
#
# The password and names reach the SQL as psql variables (:'pw' a quoted literal, :"db" a
# quoted identifier), so psql does the quoting: a password with a quote, a backslash or a
# dollar sign is stored as typed and can never end the statement. The here-document is
# quoted ('SQL') so that the shell expands nothing inside it.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v role="${APP_DB_ROLE:-lims_app}" -v pw="$APP_DB_PASSWORD" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'pw';
GRANT CONNECT ON DATABASE :"db" TO :"role";
SQL
