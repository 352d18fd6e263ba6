#!/usr/bin/env bash
# Real-time area features (taxi_platform/stream): start or stop the local Kafka-protocol broker
# (Tansu, via services.sh), the stream processor and a producer replaying stored trips.
#   stream.sh start [RATE]   broker + `taxi-platform stream process` + `stream produce --rate RATE`
#   stream.sh stop           stops what start started (producer, processor, our broker)
# Logs in var/log/stream-*.log; the processor's health on TAXI_STREAM_HEALTH_PORT (8095).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cli="$VENV/bin/taxi-platform"

start_bg() {  # start_bg <name> <command...>: a background process with a pidfile and a log
  local name=$1; shift
  if [[ -f "$RUN_DIR/$name.pid" ]] && kill -0 "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null; then
    say "$name already running (pid $(cat "$RUN_DIR/$name.pid"))"; return
  fi
  nohup "$@" >"$LOG_DIR/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
  say "started $name (pid $!, log var/log/$name.log)"
}

health_url="http://${TAXI_STREAM_HEALTH_HOST:-127.0.0.1}:${TAXI_STREAM_HEALTH_PORT:-8095}/health"
case "${1:-}" in
  start)
    "$ROOT/scripts/services.sh" start kafka
    start_bg stream-processor "$cli" stream process
    for _ in $(seq 120); do
      curl -fs "$health_url" >/dev/null 2>&1 && break
      kill -0 "$(cat "$RUN_DIR/stream-processor.pid")" 2>/dev/null || die "the processor exited; see var/log/stream-processor.log"
      sleep 0.5
    done
    start_bg stream-producer "$cli" stream produce --rate "${2:-20}"
    ;;
  stop)
    stop_pidfile stream-producer
    stop_pidfile stream-processor  # SIGTERM: it finishes its checkpoint, pushes and commits
    "$ROOT/scripts/services.sh" stop kafka
    ;;
  *) die "usage: stream.sh start [RATE] | stop" ;;
esac
