#!/usr/bin/env bash
# The main job end to end through Airflow, on embedded defaults (SQLite online store):
# start `airflow standalone`, run the feature DAG through the REST API, start the feature API,
# run the training DAG (Feast training set -> TFX pipeline with FeastPusher -> a blessed model
# the API serves), ask the API for predictions and run the feature health DAG. Airflow keeps
# running afterwards: its hourly DAGs feed new trips and materialize them; `make stop` stops it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
check_profile
use_api_key
cli() { "$VENV/bin/taxi-platform" "$@"; }
[[ $TAXI_PROFILE == redis ]] && "$ROOT/scripts/services.sh" start redis

say "1/8 starting Airflow (standalone, AIRFLOW_HOME=var/airflow)"
cli airflow start
say "2/8 running the feature DAG through the Airflow REST API"
cli airflow trigger taxi_feature_pipeline --show load_trips --show materialize
say "3/8 the online store serves (model_inference_v1, newest trips)"
cli lookup --newest 3
if [[ $TAXI_PROFILE == redis ]]; then
  say "3b: full materialization again with the vectorized writer (Feast's bytes, about 5x faster)"
  cli materialize --writer vectorized
fi
say "4/8 starting the feature API and the Streamlit dashboard"
"$ROOT/scripts/start_feast.sh" --api --dashboard
say "5/8 running the training DAG (TFX on the real sample; about 5 minutes on 2 cores)"
cli airflow trigger taxi_training_pipeline --timeout 3600 --show build_training_set \
  --show run_tfx_pipeline \
  --show publish_model
say "6/8 predictions for the newest trips, with their Feast features, next to the real tips"
cli predict --newest 5
say "7/8 feature health: statistics, drift against the served model's baseline, freshness, alerts"
cli airflow trigger taxi_feature_health --show check_feature_health
say "Spark: the same batch feature SQL on Spark local[2] (TAXI_SPARK_MASTER; README 'Spark profile')"
cli features --engine spark
say "8/8 real-time area features: Kafka broker (Tansu), stream processor, producer replaying trips live"
"$ROOT/scripts/stream.sh" start 20  # events/s
sleep 20  # the processor joins its group, then pushes every 250 ms
cli lookup --newest 3 --service model_inference_v2 || true
say "real-time features (they move with every push; OUTSIDE_MAX_AGE 2 h after the last event):"
say "  curl -s -X POST $API_URL/feast/online-features -H 'Content-Type: application/json' -d '{\"features\": [\"area_realtime_features:current_speed_mph\", \"area_realtime_features:traffic_level\", \"area_realtime_features:demand_level\", \"area_realtime_features:weather_condition\"], \"entities\": {\"area_id\": [8, 32, 28]}}'"
say "  processor health and metrics: http://${TAXI_STREAM_HEALTH_HOST:-127.0.0.1}:${TAXI_STREAM_HEALTH_PORT:-8095}/health and /metrics"
say "done. Airflow UI: http://${TAXI_AIRFLOW_HOST:-127.0.0.1}:${TAXI_AIRFLOW_PORT:-8080} (login printed above);"
say "feature health: the UI's 'Feature health' entry (http://${TAXI_AIRFLOW_HOST:-127.0.0.1}:${TAXI_AIRFLOW_PORT:-8080}/feature-health/),"
say "  and $API_URL/feast/stats, /monitoring/freshness, /monitoring/drift, /monitoring/alerts;"
say "dashboard (Streamlit): http://127.0.0.1:${TAXI_UI_PORT:-8501} (log: var/log/ui.log);"
say "feature and prediction API: $API_URL/docs (write key in var/api_key unless TAXI_API_KEYS is set);"
say "taxi_synthetic_feed and taxi_materialize_incremental keep the store fresh hourly; stop with: make stop"
