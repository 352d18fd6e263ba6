#!/usr/bin/env bash
# Deploy the feature store from nothing: install, start Redis (redis profile), put data in the
# offline store, compute features, feast apply, materialize, verify with an online lookup.
#   scripts/deploy_feast.sh [--profile sqlite|redis] [--generate N_TRIPS]
# Without --generate the real Chicago Taxi sample is ingested. Safe to run again.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

generate=""
while (($#)); do
  case "$1" in
    --profile) TAXI_PROFILE=${2:?--profile needs a value}; shift 2 ;;
    --generate) generate=${2:?--generate needs a number of trips}; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) die "unknown argument '$1'; see --help" ;;
  esac
done
export TAXI_PROFILE
check_profile

say "1/3 installing the pinned environments"
"$ROOT/scripts/setup.sh"
[[ $TAXI_PROFILE == redis ]] && "$ROOT/scripts/services.sh" start redis
cli() { "$VENV/bin/taxi-platform" "$@"; }

if [[ -z $generate ]]; then
  say "2/3 running the feature job on the real sample (profile $TAXI_PROFILE)"
  cli run
else
  say "2/3 generating $generate trips after the sample and building the store"
  cli ingest-sample
  cli generate --trips "$generate" --continue-hours 720
  cli features
  cli apply
  cli materialize
fi
say "3/3 verifying"
"$VENV/bin/python" -m taxi_platform.store.verify || die "verification failed"
say "done: the feature store is deployed (profile $TAXI_PROFILE)"
