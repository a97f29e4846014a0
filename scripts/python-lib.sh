# shellcheck shell=bash
# Shared by scripts/python-test and scripts/bench-python. Source it after lib.sh.
# python_venv: the virtual environment with python/requirements-test.txt and
# the ruvector_jit package (./python) installed; sets VENV.

VENV="${RUVECTOR_PYTHON_VENV:-$BUILD/python-venv}"

python_venv() {
  # The system interpreter, as on a fresh Debian 12 (not a pyenv shim on PATH).
  local python=/usr/bin/python3
  if ! "$python" -m venv --help >/dev/null 2>&1 || ! "$python" -c 'import ensurepip' >/dev/null 2>&1; then
    log "installing python3-venv"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating the virtual environment $VENV"
    mkdir -p "$(dirname "$VENV")"
    "$python" -m venv "$VENV"
  fi
  # Install (again) only when the pins or the package changed since the last time.
  local stamp="$VENV/.ruvector-jit-installed" want
  want=$(cat "$ROOT/python/requirements-test.txt" "$ROOT/python/pyproject.toml" "$ROOT"/python/ruvector_jit/*.py \
         | sha256sum | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing python/requirements-test.txt and ./python"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/python/requirements-test.txt" "$ROOT/python"
    echo "$want" > "$stamp"
  fi
}

# The extension installed (these scripts build nothing) and the server
# running, preloading it, with a role for the caller.
python_server() {
  if [ ! -f "$("$PG_CONFIG" --sharedir 2>/dev/null)/extension/ruvector_jit.control" ]; then
    echo "ruvector_jit is not installed into PostgreSQL $PG_MAJOR: run scripts/demo (or scripts/test) first." >&2
    exit 1
  fi
  start_server
}
