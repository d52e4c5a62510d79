#!/usr/bin/env bash
# Measures bouncegate-milter RCPT decisions per second and p50/p99 latency against a real
# redis-server, next to the same driver on a `milter.gate: false` baseline, in one run:
#   bench/milter.sh [BUILD_DIR] [SECONDS]    (BUILD_DIR configured with -DBOUNCEGATE_BENCH=ON)
set -euo pipefail
build=${1:-build}
seconds=${2:-3}
bin="$build/bin"
[ -x "$bin/milter_bench" ] || { echo "build milter_bench first (-DBOUNCEGATE_BENCH=ON)" >&2; exit 64; }

. "$(dirname "$0")/../tests/lib.sh"
bg_setup bench

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" PING 2>/dev/null | grep -q PONG && break; sleep 0.1; done

gate_port=$(free_port)
base_port=$(free_port)
for kind in gate base; do
  port=$gate_port gate=true
  [ "$kind" = base ] && port=$base_port gate=false
  cat >"$tmp/$kind.yaml" <<YAML
redis: {address: 127.0.0.1:$redis_port, timeout: 250ms, pool_size: 16}
suppression: {journal_path: ''}
logging: {level: warning}
milter: {socket: "inet:$port@127.0.0.1", gate: $gate}
YAML
  "$bin/bouncegate-milter" --config "$tmp/$kind.yaml" >"$tmp/$kind.log" 2>&1 &
  pids+=($!)
done
for port in $gate_port $base_port; do
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done

"$bin/milter_bench" --gate "inet:$gate_port@127.0.0.1" --baseline "inet:$base_port@127.0.0.1" \
  --config "$tmp/gate.yaml" --seconds "$seconds" --connections 4 --rcpts 10
