#!/usr/bin/env bash
# Stop what scripts/start_feast.sh started (the dashboard, the API, the Feast UI, and Redis if
# these scripts started it).
# A Redis that was already running before is left alone. Safe to run again.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
stop_pidfile ui
stop_pidfile api
stop_pidfile feast-ui
"$ROOT/scripts/services.sh" stop redis
