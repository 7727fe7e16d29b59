#!/usr/bin/env bash
# Installs the PostgreSQL server binaries (initdb, pg_ctl) when none are found.
# The tests and the embedded database start their own private clusters from
# them; no system service is started or needed.
set -euo pipefail
if [ -n "${TEST_DATABASE_URL:-}" ] || [ -n "${PG_BINDIR:-}" ]; then exit 0; fi
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi
if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then exit 0; fi
echo "PostgreSQL server binaries not found: installing the postgresql package with apt-get" >&2
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq postgresql >/dev/null
# Debian's package starts a system cluster; the crawler does not use it.
$SUDO service postgresql stop >/dev/null 2>&1 || true
