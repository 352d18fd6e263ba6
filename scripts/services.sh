#!/usr/bin/env bash
# Start, stop or check the backing services the platform needs: services.sh start|stop|status redis
# A service already answering (for example the machine's own Redis) is used, never restarted;
# stop only stops what these scripts started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

start_redis() {
  if redis_up; then say "Redis answers on $TAXI_REDIS_HOST:$TAXI_REDIS_PORT"; return; fi
  if ! command -v redis-server >/dev/null; then
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
      say "installing redis-server (Debian package)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null \
        || die "apt-get install redis-server failed"
    else
      die "redis-server is not installed; install it (apt-get install redis-server) or set TAXI_REDIS_HOST"
    fi
  fi
  mkdir -p "$ROOT/var/redis"
  redis-server --daemonize yes --bind "$TAXI_REDIS_HOST" --port "$TAXI_REDIS_PORT" \
    --save "" --appendonly no --dir "$ROOT/var/redis" \
    --pidfile "$RUN_DIR/redis.pid" --logfile "$LOG_DIR/redis.log"
  for _ in $(seq 50); do redis_up && { say "started Redis on $TAXI_REDIS_HOST:$TAXI_REDIS_PORT"; return; }; sleep 0.1; done
  die "Redis did not start; see $LOG_DIR/redis.log"
}

status_redis() {
  if redis_up; then say "Redis: up on $TAXI_REDIS_HOST:$TAXI_REDIS_PORT"; else say "Redis: down"; return 1; fi
}

action=${1:-}; service=${2:-}
case "$action:$service" in
  start:redis) start_redis ;;
  stop:redis) stop_pidfile redis ;;
  status:redis) status_redis ;;
  *) die "usage: services.sh start|stop|status redis" ;;
esac
