# Shared by scripts/start.sh and scripts/test.sh. Sourced, not run.
PNPM_VERSION=12.4.2

log() { printf '\033[1;36m[switchyard]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[switchyard] %s\033[0m\n' "$*" >&2; exit 1; }

require_node() {
  command -v node >/dev/null 2>&1 || die "Node.js 20.19+ is required (https://nodejs.org or your package manager)."
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || die "Node.js 20.19+ is required; this is $(node --version)."
}

# Puts pnpm $PNPM_VERSION on PATH: the installed one if it matches, else a global npm install,
# else a private prefix (no root needed).
ensure_pnpm() {
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then return; fi
  log "installing pnpm $PNPM_VERSION"
  if ! npm i -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1; then
    npm i -g --prefix "$HOME/.switchyard-pnpm" "pnpm@$PNPM_VERSION" >/dev/null || die "could not install pnpm $PNPM_VERSION with npm"
    export PATH="$HOME/.switchyard-pnpm/bin:$PATH"
  fi
  hash -r
  [ "$(pnpm --version)" = "$PNPM_VERSION" ] || die "pnpm $PNPM_VERSION is not first on PATH"
}

install_deps() {
  if [ -n "${CI:-}" ]; then pnpm install --frozen-lockfile; else pnpm install; fi
}

# host and port of a URL, e.g. url_host_port postgresql://u@h:5432/db → "h 5432"
url_host_port() {
  node -e 'const u=new URL(process.argv[1]); const d={"postgresql:":5432,"postgres:":5432,"redis:":6379}[u.protocol]; console.log(u.hostname.replace(/^\[|\]$/g,""), u.port||d)' "$1"
}

reachable() { timeout 2 bash -c "</dev/tcp/$1/$2" >/dev/null 2>&1; }

wait_reachable() { # host port seconds
  local i
  for ((i = 0; i < $3 * 5; i++)); do reachable "$1" "$2" && return 0; sleep 0.2; done
  return 1
}

docker_usable() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

# Makes sure Postgres and Redis answer at DATABASE_URL / REDIS_URL, starting them when
# they are local and stopped: docker compose where Docker runs, else local binaries.
ensure_services() {
  local pg_host pg_port rd_host rd_port
  read -r pg_host pg_port < <(url_host_port "$DATABASE_URL")
  read -r rd_host rd_port < <(url_host_port "$REDIS_URL")

  if ! reachable "$pg_host" "$pg_port"; then
    if docker_usable; then
      log "starting Postgres with docker compose"
      docker compose up -d postgres >/dev/null
    elif command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
      log "starting the local Postgres cluster"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
    fi
    wait_reachable "$pg_host" "$pg_port" 30 || die "Postgres is not reachable at $pg_host:$pg_port.
  Start one (Debian/Ubuntu: sudo apt-get install -y postgresql; or docker compose up -d postgres)
  or point DATABASE_URL at yours, then run this again."
  fi

  if ! reachable "$rd_host" "$rd_port"; then
    if docker_usable; then
      log "starting Redis with docker compose"
      docker compose up -d redis >/dev/null
    elif command -v redis-server >/dev/null 2>&1; then
      log "starting a local redis-server"
      redis-server --daemonize yes --bind 127.0.0.1 --port "$rd_port" --save "" --appendonly no --maxmemory-policy noeviction >/dev/null
    fi
    wait_reachable "$rd_host" "$rd_port" 30 || die "Redis is not reachable at $rd_host:$rd_port.
  Start one (Debian/Ubuntu: sudo apt-get install -y redis-server; or docker compose up -d redis)
  or point REDIS_URL at yours, then run this again."
  fi
}
