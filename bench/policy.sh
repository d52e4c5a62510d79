#!/usr/bin/env bash
# RCPT decisions through bouncegate's Postfix policy service (milter.policy_listen) against a
# real redis-server, next to the no-op policy service (bench/policy_noop: the same protocol,
# DUNNO without Redis) and the gate with gate.local_filter, interleaved, in one run:
#   bench/policy.sh [BUILD_DIR] [SECONDS] [REPS] [CONNECTIONS]   (defaults: build, 3, 3, 8)
# Prints one line per repetition and kind, then "median KIND rate p50 p99".
set -euo pipefail
build=${1:-build}
seconds=${2:-3}
reps=${3:-3}
conns=${4:-8}
bin="$build/bin"
[ -x "$bin/policy_bench" ] || { echo "build policy_bench first (-DBOUNCEGATE_BENCH=ON)" >&2; exit 64; }

. "$(dirname "$0")/../tests/lib.sh"
bg_setup bench

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" PING 2>/dev/null | grep -q PONG && break; sleep 0.1; done

noop_port=$(free_port)
"$bin/policy_noop" "$noop_port" >"$tmp/noop.log" 2>&1 &
pids+=($!)
declare -A port
port[noop]=$noop_port
for kind in gate filter; do
  port[$kind]=$(free_port)
  mport=$(free_port)
  cat >"$tmp/$kind.yaml" <<YAML
redis: {address: 127.0.0.1:$redis_port, timeout: 250ms, pool_size: 16}
suppression: {journal_path: ''}
logging: {level: warning}
milter: {socket: "inet:$mport@127.0.0.1", gate: true, policy_listen: "127.0.0.1:${port[$kind]}"}
YAML
  [ "$kind" = filter ] && echo "gate: {local_filter: {enabled: true}}" >>"$tmp/$kind.yaml"
done
# Seeded once (10% of the 1,000 addresses suppressed) before the daemons start, so the
# local filter is built with them.
"$bin/policy_bench" --port "$noop_port" --config "$tmp/gate.yaml" --seconds 0.1 \
  --connections 1 --label seed >/dev/null
for kind in gate filter; do
  "$bin/bouncegate-milter" --config "$tmp/$kind.yaml" >"$tmp/$kind.log" 2>&1 &
  pids+=($!)
done
for kind in noop gate filter; do
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/${port[$kind]}) 2>/dev/null && break; sleep 0.1; done
done
sleep 1  # the local filter's first build

for r in $(seq "$reps"); do
  for kind in noop gate filter; do
    "$bin/policy_bench" --port "${port[$kind]}" --seconds "$seconds" --connections "$conns" \
      --label "$kind" | tee -a "$tmp/results"
  done
done
for kind in noop gate filter; do
  awk -v k="$kind" '$1 == k {print $7, $9, $12}' "$tmp/results" | sed 's|/s||' |
    python3 -c '
import sys, statistics
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
med = lambda i: statistics.median(r[i] for r in rows)
print(f"median '"$kind"' {med(0):.0f} {med(1):.1f} {med(2):.1f}")'
done
