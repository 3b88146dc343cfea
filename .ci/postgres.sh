#!/usr/bin/env bash
# Install (if needed) and start a local PostgreSQL server, create the assay test role and database,
# and a reader role with no privileges of its own, and print the URLs to export as ASSAY_TEST_POSTGRES_URL and
# ASSAY_TEST_POSTGRES_READER_URL. Idempotent: safe to run again.
#
#   eval "$(.ci/postgres.sh)"      # sets ASSAY_TEST_POSTGRES_URL in the calling shell
#
# Runs as root (CI container) or with sudo available. Uses the Debian cluster tools (pg_ctlcluster).
set -euo pipefail

PG_USER="${ASSAY_PG_USER:-assay}"
PG_PASSWORD="${ASSAY_PG_PASSWORD:-assay}"
PG_DB="${ASSAY_PG_DB:-assay_test}"
PG_PORT="${ASSAY_PG_PORT:-5432}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "installing postgresql with apt" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
fi

# The newest installed major version and its first cluster (Debian creates "main" on install).
read -r VERSION CLUSTER PORT STATUS _ < <(pg_lsclusters --no-header | sort -k1,1nr | head -n 1) || true
if [ -z "${VERSION:-}" ]; then
  VERSION="$(ls /usr/lib/postgresql | sort -n | tail -n 1)"
  CLUSTER=main
  as_root pg_createcluster "$VERSION" "$CLUSTER" --port "$PG_PORT" >&2
  PORT="$PG_PORT"
  STATUS=down
fi
if [ "$STATUS" != "online" ]; then
  as_root pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

# Wait until the server accepts connections (a fresh start takes a moment).
for _ in $(seq 1 30); do
  if as_postgres pg_isready -q -h 127.0.0.1 -p "$PORT"; then break; fi
  sleep 1
done
as_postgres pg_isready -h 127.0.0.1 -p "$PORT" >&2

psql_admin() { as_postgres psql -v ON_ERROR_STOP=1 -q -p "$PORT" "$@"; }
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '${PG_USER}'")" != "1" ]; then
  psql_admin -c "CREATE ROLE \"${PG_USER}\" LOGIN PASSWORD '${PG_PASSWORD}'" >&2
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '${PG_DB}'")" != "1" ]; then
  psql_admin -c "CREATE DATABASE \"${PG_DB}\" OWNER \"${PG_USER}\"" >&2
fi

# A role with no privileges of its own: the read-only tests grant it SELECT on their schema's tables and
# nothing more (the tests' role may grant on what it owns, but may not create roles).
READER="${PG_USER}_reader"
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '${READER}'")" != "1" ]; then
  psql_admin -c "CREATE ROLE \"${READER}\" LOGIN PASSWORD '${PG_PASSWORD}'" >&2
fi

URL="postgresql://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${PORT}/${PG_DB}"
echo "export ASSAY_TEST_POSTGRES_URL=${URL}"
echo "export ASSAY_TEST_POSTGRES_READER_URL=postgresql://${READER}:${PG_PASSWORD}@127.0.0.1:${PORT}/${PG_DB}"
