#!/usr/bin/env bash
# Runs every test: lint, typecheck, build, unit + integration tests against real
# Postgres and Redis, the dashboard in headless Chromium, and the end-to-end test
# (mock upstream → proxy → worker → Postgres → dashboard).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

require_node
ensure_pnpm

export DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/switchyard_test}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
# Tests use their own databases and key; never a real one.
export SWITCHYARD_ENCRYPTION_KEY="${TEST_ENCRYPTION_KEY:-0000000000000000000000000000000000000000000000000000000000000001}"
export NEXT_TELEMETRY_DISABLED=1
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$CHROMIUM_PATH" ] || die "Chromium is needed for the dashboard tests: sudo apt-get install -y chromium (or set CHROMIUM_PATH)"

ensure_services
log "installing dependencies"
install_deps

mkdir -p var/test-reports
rm -f var/test-reports/*.json
log "lint, typecheck, build and test"
status=0
pnpm turbo run lint typecheck build test --concurrency=2 --output-logs=errors-only || status=$?
# A plain closing line summing every vitest report, so the total is visible at a glance.
node scripts/test-summary.mjs var/test-reports || status=1
exit $status
