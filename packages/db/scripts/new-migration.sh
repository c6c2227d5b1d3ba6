#!/usr/bin/env bash
# Creates prisma/migrations/<timestamp>_<name>/migration.sql by diffing the schema at
# the last committed migration (from git) against the working schema. Needs no database.
set -euo pipefail
name="${1:?usage: pnpm db:migration <name>}"
cd "$(dirname "$0")/.."
last=$(ls -1 prisma/migrations | grep -E '^[0-9]{14}_' | tail -n 1 || true)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$last" ]; then
  from=(--from-empty)
else
  # The schema as committed together with the last migration.
  rev=$(git log -n 1 --format=%H -- "prisma/migrations/$last")
  git show "$rev:./prisma/schema.prisma" > "$tmp/schema.prisma"
  from=(--from-schema-datamodel "$tmp/schema.prisma")
fi
sql=$(npx prisma migrate diff "${from[@]}" --to-schema-datamodel prisma/schema.prisma --script)
if ! grep -qvE '^(--.*)?$' <<<"$sql"; then
  echo "schema has not changed since $last: no migration written" >&2
  exit 1
fi
dir="prisma/migrations/$(date -u +%Y%m%d%H%M%S)_${name}"
mkdir -p "$dir"
printf '%s\n' "$sql" > "$dir/migration.sql"
echo "wrote $dir/migration.sql"
