#!/usr/bin/env bash
# Makes sure a Redis answers at ACCORD_REDIS_URL (default 127.0.0.1:6379):
# installs redis-server from Debian's packages and starts it when none does.
set -euo pipefail
url="${ACCORD_REDIS_URL:-redis://127.0.0.1:6379/0}"
ping() { command -v redis-cli >/dev/null 2>&1 && redis-cli -u "$url" ping 2>/dev/null | grep -q PONG; }
if ping; then
  echo "redis answers at $url"
  exit 0
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
port=$(echo "$url" | sed -n 's#.*:\([0-9]\+\)\(/.*\)\?$#\1#p')
redis-server --daemonize yes --bind 127.0.0.1 --port "${port:-6379}" --save "" --appendonly no \
  --logfile /tmp/accord-redis.log
for _ in $(seq 50); do
  ping && { echo "redis started on port ${port:-6379}"; exit 0; }
  sleep 0.1
done
echo "redis did not start; see /tmp/accord-redis.log" >&2
exit 1
