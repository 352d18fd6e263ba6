# Shared helpers of the platform's shell scripts (sourced, not run).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
RUN_DIR="$ROOT/var/run"
LOG_DIR="$ROOT/var/log"
TAXI_REDIS_HOST="${TAXI_REDIS_HOST:-127.0.0.1}"
TAXI_REDIS_PORT="${TAXI_REDIS_PORT:-6379}"
TAXI_PROFILE="${TAXI_PROFILE:-sqlite}"
export TAXI_PROFILE TAXI_REDIS_HOST TAXI_REDIS_PORT
API_URL="http://${TAXI_API_HOST:-127.0.0.1}:${TAXI_API_PORT:-8000}"  # the feature API, as settings.py
mkdir -p "$RUN_DIR" "$LOG_DIR"

say() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*"; }
die() { printf '[%s] error: %s\n' "$(basename "$0" .sh)" "$*" >&2; exit 1; }

use_api_key() {  # the demo's write key (FeastPusher materializes through the API), kept in var/
  if [[ -z "${TAXI_API_KEYS:-}" ]]; then
    local keyfile="$ROOT/var/api_key"
    [[ -s "$keyfile" ]] || (umask 077; "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(24))' >"$keyfile")
    TAXI_API_KEYS=$(cat "$keyfile")
  fi
  export TAXI_API_KEYS
}

check_profile() {
  case "$TAXI_PROFILE" in
    sqlite|redis) ;;
    *) die "unknown profile '$TAXI_PROFILE'; use sqlite or redis" ;;
  esac
}

redis_up() {
  "$VENV/bin/python" - "$TAXI_REDIS_HOST" "$TAXI_REDIS_PORT" <<'PY' 2>/dev/null
import sys, redis
redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), socket_connect_timeout=1).ping()
PY
}

stop_pidfile() {  # stop_pidfile <name>: stop a process this project started, if running
  local pidfile="$RUN_DIR/$1.pid"
  [[ -f "$pidfile" ]] || { say "$1 was not started by these scripts"; return 0; }
  local pid; pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" && say "stopped $1 (pid $pid)"
  else
    say "$1 (pid $pid) was not running"
  fi
  rm -f "$pidfile"
}
