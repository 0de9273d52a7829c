#!/usr/bin/env bash
# Starts the local services switchyard's service-backed suites use, when they are not running,
# and prints the environment that enables those suites. Idempotent.
#   bash scripts/services.sh          # start what is down, print `export ...` lines
#   eval "$(bash scripts/services.sh)"
set -euo pipefail

log() { echo "services: $*" >&2; }

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  log "$name did not come up within 60 s"; return 1
}

start_postgres() {
  if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then return 0; fi
  command -v pg_ctlcluster >/dev/null || { log "PostgreSQL is not installed (apt-get install postgresql)"; return 1; }
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432
}

start_mariadb() {
  if mariadb-admin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; then return 0; fi
  command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || { log "MariaDB is not installed (apt-get install mariadb-server)"; return 1; }
  log "starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for MariaDB mariadb-admin -h 127.0.0.1 -P 3306 -u root ping
}

start_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
  command -v redis-server >/dev/null || { log "Redis is not installed (apt-get install redis-server)"; return 1; }
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping
}

start_postgres
start_mariadb
start_redis

echo "export SWITCHYARD_PG_URL=postgres://postgres@127.0.0.1:5432/test"
echo "export SWITCHYARD_MYSQL_URL=mysql://root@127.0.0.1:3306/test"
echo "export SWITCHYARD_REDIS_URL=redis://127.0.0.1:6379"
