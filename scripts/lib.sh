# Shared by scripts/demo, scripts/test and scripts/bench. Source it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_MAJOR=15
PG_BIN="/usr/lib/postgresql/$PG_MAJOR/bin"
PG_CONFIG="$PG_BIN/pg_config"
PG_LOG="/var/log/postgresql/postgresql-$PG_MAJOR-main.log"
BUILD="$ROOT/build"
PACKAGES=(postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR llvm-14-dev libeigen3-dev libtbb-dev
          libgtest-dev libbenchmark-dev cmake g++ make)
# scripts/test also runs the NEON kernels under emulation.
TEST_PACKAGES=(qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross)

# The login role: the user who invoked us, also through sudo.
DB_USER="${SUDO_USER:-$(id -un)}"

# psql and friends as that user, so peer authentication matches the role.
as_user() {
  if [ "$(id -un)" != "$DB_USER" ]; then runuser -u "$DB_USER" -- "$@"; else "$@"; fi
}

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# Run as root directly, or through sudo.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs PACKAGES and the extra packages given as arguments.
install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    # server-dev and server together: server-dev may upgrade the server to its point release
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" postgresql-$PG_MAJOR >/dev/null
  fi
}

# Configure (once) and build in Release; $1 = build dir, rest = cmake options.
# BUILD_TARGET limits the build to one target (the demo needs only the module).
build() {
  local dir="$1"; shift
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DPG_CONFIG="$PG_CONFIG" "$@" >/dev/null
  fi
  cmake --build "$dir" -j"$(nproc)" ${BUILD_TARGET:+--target "$BUILD_TARGET"}
}

install_extension() {
  log "installing the extension into PostgreSQL $PG_MAJOR"
  as_root cmake --install "$BUILD" >/dev/null
  # A preloading server keeps the library it started with: restart it.
  if cluster_online && [ "$(as_root runuser -u postgres -- psql -XtAc 'SHOW shared_preload_libraries' 2>/dev/null)" = ruvector_jit ]; then
    as_root pg_ctlcluster $PG_MAJOR main restart
  fi
}

cluster_online() {
  as_root pg_lsclusters -h 2>/dev/null | awk -v v=$PG_MAJOR '$1==v && $2=="main" {print $4}' | grep -q online
}

# The Debian cluster on its default port, and a superuser role for the caller.
start_server() {
  if ! as_root pg_lsclusters -h 2>/dev/null | grep -q "^$PG_MAJOR main"; then
    log "creating the PostgreSQL $PG_MAJOR cluster"
    as_root pg_createcluster $PG_MAJOR main >/dev/null
  fi
  if ! cluster_online; then
    log "starting PostgreSQL $PG_MAJOR"
    as_root pg_ctlcluster $PG_MAJOR main start
  fi
  # Preloaded, the library (and libLLVM) is mapped once by the postmaster:
  # backends and parallel workers skip the load (README: Preloading).
  if [ "$(as_root runuser -u postgres -- psql -XtAc 'SHOW shared_preload_libraries')" != ruvector_jit ]; then
    log "preloading ruvector_jit (shared_preload_libraries) and restarting PostgreSQL $PG_MAJOR"
    as_root runuser -u postgres -- psql -Xq -c "ALTER SYSTEM SET shared_preload_libraries = 'ruvector_jit'"
    as_root pg_ctlcluster $PG_MAJOR main restart
  fi
  local port
  port=$(as_root pg_lsclusters -h | awk -v v=$PG_MAJOR '$1==v && $2=="main" {print $3}')
  if [ "$port" != 5432 ]; then
    echo "PostgreSQL $PG_MAJOR/main listens on port $port, not the default 5432 (another cluster has it?)." >&2
    echo "Free 5432 or move that cluster (pg_lsclusters; /etc/postgresql/*/main/postgresql.conf), then rerun." >&2
    exit 1
  fi
  # Roles for the invoking user and, under sudo, for root too (pg_regress runs as root).
  local me
  for me in $(printf '%s\n' "$DB_USER" "$(id -un)" | sort -u); do
    if ! as_root runuser -u postgres -- psql -XtAc "SELECT 1 FROM pg_roles WHERE rolname = '$me'" | grep -q 1; then
      log "creating superuser role $me"
      as_root runuser -u postgres -- createuser --superuser "$me"
    fi
  done
}

ensure_database() {
  local db="$1"
  if ! as_user psql -XtAc "SELECT 1 FROM pg_database WHERE datname = '$db'" postgres | grep -q 1; then
    as_user createdb "$db"
  fi
}

# CREATE EXTENSION in $1, recreating it (after dropping the tables named in
# the other arguments, which depend on its type) when the installed SQL script
# changed since the database last saw it: during development the script can
# change while the version stays the same.
ensure_extension() {
  local db="$1"; shift
  local sha have
  sha=$(cat "$ROOT"/sql/ruvector_jit--*.sql | sha256sum | cut -c1-16)
  have=$(as_user psql -X -tA "$db" -c "SELECT sha FROM ruvector_jit_script" 2>/dev/null || true)
  if [ "$have" != "$sha" ]; then
    local drops=""
    for t in "$@"; do drops+="DROP TABLE IF EXISTS $t; "; done
    as_user psql -X -q -v ON_ERROR_STOP=1 "$db" >/dev/null <<SQL
SET client_min_messages = warning;
$drops
DROP EXTENSION IF EXISTS ruvector_jit CASCADE;
CREATE EXTENSION ruvector_jit;
DROP TABLE IF EXISTS ruvector_jit_script;
CREATE TABLE ruvector_jit_script AS SELECT '$sha'::text AS sha;
SQL
  fi
}

# Server-wide settings (ruvector_jit.cache_dir is PGC_SIGHUP): ALTER SYSTEM,
# reload, and wait until a new backend sees the value. $2 = RESET resets.
set_server_setting() {
  local name="$1" value="$2" now=""
  if [ "$value" = RESET ]; then
    as_user psql -X -q -c "LOAD 'ruvector_jit'" -c "ALTER SYSTEM RESET $name" postgres
  else
    as_user psql -X -q -c "LOAD 'ruvector_jit'" -c "ALTER SYSTEM SET $name = '$value'" postgres
  fi
  as_user psql -X -q -tA -c "SELECT pg_reload_conf()" postgres >/dev/null
  for _ in $(seq 50); do
    sleep 0.1
    [ "$value" = RESET ] && return 0
    now=$(as_user psql -X -q -tA -c "LOAD 'ruvector_jit'" -c "SHOW $name" postgres 2>/dev/null || true)
    [ "$now" = "$value" ] && return 0
  done
  echo "setting $name = '$value' did not take effect (still '$now')" >&2
  return 1
}

# Bytes in the server log so far: crash checks read only what follows.
log_size() { as_root stat -c %s "$PG_LOG" 2>/dev/null || echo 0; }

# Fails if a backend died on a signal since offset $1.
check_no_crash() {
  local from="$1"
  if as_root tail -c +"$((from + 1))" "$PG_LOG" | grep -E 'terminated by signal|server process .* was terminated'; then
    echo "FAIL: a backend crashed (see $PG_LOG)" >&2
    return 1
  fi
}
