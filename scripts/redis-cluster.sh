#!/usr/bin/env bash
# Makes sure a 3-master Redis Cluster answers on loopback (ports 7001-7003,
# ACCORD_CLUSTER_PORTS to change them) with every slot served: installs
# redis-server from Debian's packages when missing, starts the nodes that do
# not answer, creates the cluster once, and waits for cluster_state:ok.
# Idempotent: a second run finds it up and returns at once. Prints the
# ACCORD_REDIS_URL of the cluster on its last line.
set -euo pipefail
ports=(${ACCORD_CLUSTER_PORTS:-7001 7002 7003})
dir="${ACCORD_CLUSTER_DIR:-/tmp/accord-redis-cluster}"
url="redis+cluster://$(printf '127.0.0.1:%s,' "${ports[@]}" | sed 's/,$//')"

if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

ping() { redis-cli -p "$1" ping 2>/dev/null | grep -q PONG; }
state_ok() { redis-cli -p "${ports[0]}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

if state_ok; then
  echo "redis cluster answers at $url"
  echo "$url"
  exit 0
fi

for p in "${ports[@]}"; do
  ping "$p" && continue
  mkdir -p "$dir/$p"
  # The node's cluster config lives in its folder: a restarted node rejoins
  # the cluster it was part of. --save "": the cluster holds test data only.
  (cd "$dir/$p" && redis-server --daemonize yes --bind 127.0.0.1 --port "$p" \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
    --save "" --appendonly no --logfile "$dir/$p/redis.log")
done
for p in "${ports[@]}"; do
  for _ in $(seq 100); do ping "$p" && break; sleep 0.1; done
  ping "$p" || { echo "redis node on port $p did not start; see $dir/$p/redis.log" >&2; exit 1; }
done

# Create the cluster unless the nodes already know each other.
known=$(redis-cli -p "${ports[0]}" cluster info | sed -n 's/^cluster_known_nodes:\([0-9]*\).*/\1/p')
if [ "${known:-1}" -lt "${#ports[@]}" ]; then
  redis-cli --cluster create $(printf '127.0.0.1:%s ' "${ports[@]}") --cluster-replicas 0 --cluster-yes >/dev/null
fi
for _ in $(seq 300); do
  if state_ok; then
    echo "redis cluster started on ports ${ports[*]}"
    echo "$url"
    exit 0
  fi
  sleep 0.1
done
echo "redis cluster did not reach cluster_state:ok; see $dir/*/redis.log" >&2
redis-cli -p "${ports[0]}" cluster info >&2 || true
exit 1
