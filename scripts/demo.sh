#!/usr/bin/env bash
# The main job end to end through Airflow, on embedded defaults (SQLite online store):
# start `airflow standalone`, trigger the feature DAG through the REST API, wait for it, print
# the run's task states and a sample online lookup. Airflow keeps running afterwards: its
# hourly DAGs feed new trips and materialize them; `make stop` stops it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
check_profile
cli() { "$VENV/bin/taxi-platform" "$@"; }
[[ $TAXI_PROFILE == redis ]] && "$ROOT/scripts/services.sh" start redis

say "1/4 starting Airflow (standalone, AIRFLOW_HOME=var/airflow)"
cli airflow start
say "2/4 running the feature DAG through the Airflow REST API"
cli airflow trigger taxi_feature_pipeline --show load_trips --show materialize
say "3/4 the online store serves (model_inference_v1, newest trips)"
cli lookup --newest 3
say "4/4 starting the feature API"
"$ROOT/scripts/start_feast.sh" --api
say "done. Airflow UI: http://${TAXI_AIRFLOW_HOST:-127.0.0.1}:${TAXI_AIRFLOW_PORT:-8080} (login printed above);"
say "taxi_synthetic_feed and taxi_materialize_incremental keep the store fresh hourly; stop with: make stop"
