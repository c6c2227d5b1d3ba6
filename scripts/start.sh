#!/usr/bin/env bash
# Quick start: installs, starts Postgres/Redis if needed, migrates, seeds a demo org,
# user and key, and runs the mock demo upstream + proxy + worker + dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

require_node
ensure_pnpm

# Local settings live in .env (created once; the encryption key must stay the same
# across restarts or stored provider keys cannot be decrypted).
if [ ! -f .env ]; then
  log "creating .env with a fresh SWITCHYARD_ENCRYPTION_KEY"
  {
    echo "SWITCHYARD_ENCRYPTION_KEY=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')"
    echo "DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/switchyard}"
    echo "REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}"
  } > .env
fi
set -a; source .env; set +a
export NEXT_TELEMETRY_DISABLED=1

ensure_services
log "installing dependencies"
install_deps
log "building"
pnpm build
log "migrating the database"
pnpm --silent switchyard migrate
log "applying switchyard.yaml"
pnpm --silent switchyard config apply "${SWITCHYARD_CONFIG:-switchyard.yaml}"
exec node scripts/run-all.mjs
