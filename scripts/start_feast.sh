#!/usr/bin/env bash
# Start the feature store's services: Redis (redis profile); with --api the feature API
# (TAXI_API_PORT, 8000); with --dashboard the Streamlit dashboard (TAXI_UI_PORT, 8501); with
# --ui Feast's web UI on port 8888.
# Safe to run again: running services are left as they are.
#   scripts/start_feast.sh [--profile sqlite|redis] [--api] [--dashboard] [--ui]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ui=false; api=false; dashboard=false
while (($#)); do
  case "$1" in
    --profile) TAXI_PROFILE=${2:?--profile needs a value}; shift 2 ;;
    --ui) ui=true; shift ;;
    --api) api=true; shift ;;
    --dashboard) dashboard=true; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) die "unknown argument '$1'; see --help" ;;
  esac
done
export TAXI_PROFILE
check_profile
[[ -x "$VENV/bin/feast" ]] || die "environment missing; run scripts/setup.sh (or make demo) first"
[[ $TAXI_PROFILE == redis ]] && "$ROOT/scripts/services.sh" start redis

if $ui; then
  if [[ -f "$RUN_DIR/feast-ui.pid" ]] && kill -0 "$(cat "$RUN_DIR/feast-ui.pid")" 2>/dev/null; then
    say "Feast UI already running (pid $(cat "$RUN_DIR/feast-ui.pid"))"
  else
    yaml=feature_store.yaml; [[ $TAXI_PROFILE == redis ]] && yaml=feature_store.redis.yaml
    export TAXI_REDIS_CONNECTION_STRING="$TAXI_REDIS_HOST:$TAXI_REDIS_PORT" TAXI_REDIS_TYPE="${TAXI_REDIS_TYPE:-redis}"
    (cd "$ROOT/feature_repo" && exec nohup "$VENV/bin/feast" -f "$yaml" ui --host 127.0.0.1 \
      --port 8888) >"$LOG_DIR/feast-ui.log" 2>&1 &
    echo $! >"$RUN_DIR/feast-ui.pid"
    say "Feast UI starting on http://127.0.0.1:8888 (log: var/log/feast-ui.log)"
  fi
fi
running() { [[ -f "$RUN_DIR/$1.pid" ]] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

if $api; then
  if running api; then
    say "feature API already running (pid $(cat "$RUN_DIR/api.pid"))"
  else
    # exec: the recorded pid is the server itself, so stop_feast.sh stops the server
    (cd "$ROOT/api" && exec nohup "$VENV/bin/python" main.py) >"$LOG_DIR/api.log" 2>&1 &
    echo $! >"$RUN_DIR/api.pid"
    for _ in $(seq 300); do curl -fs "$API_URL/health" >/dev/null 2>&1 && break; sleep 0.2; done  # loads the model
    curl -fs "$API_URL/health" >/dev/null 2>&1 || die "the feature API did not become healthy; see var/log/api.log"
  fi
  say "feature API: $API_URL (docs: $API_URL/docs)"
fi
if $dashboard; then
  ui_url="http://127.0.0.1:${TAXI_UI_PORT:-8501}"
  if running ui; then
    say "dashboard already running (pid $(cat "$RUN_DIR/ui.pid"))"
  else
    # taxi-platform ui execs streamlit, so the recorded pid is the server itself
    nohup "$VENV/bin/taxi-platform" ui >"$LOG_DIR/ui.log" 2>&1 &
    echo $! >"$RUN_DIR/ui.pid"
    for _ in $(seq 300); do curl -fs "$ui_url/_stcore/health" >/dev/null 2>&1 && break; sleep 0.2; done
    curl -fs "$ui_url/_stcore/health" >/dev/null 2>&1 || die "the dashboard did not start; see var/log/ui.log"
  fi
  say "dashboard: $ui_url (log: var/log/ui.log)"
fi
say "feature store ready (profile $TAXI_PROFILE)"
