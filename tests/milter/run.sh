#!/usr/bin/env bash
# Runs one miltertest scenario against the real bouncegate-milter and a private redis-server:
#   run.sh BIN_DIR SCENARIO.lua
# Lines "-- milter: KEY: VALUE" / "-- unsubscribe: KEY: VALUE" in the scenario add config keys.
# Everything started here is stopped and removed on exit, pass or fail.
set -euo pipefail
bin_dir=$1
scenario=$2
here=$(cd "$(dirname "$0")" && pwd)

tmp=$(mktemp -d /tmp/bouncegate-miltertest.XXXXXX)
redis_pid=""
milter_pid=""
cleanup() {
  [ -n "$milter_pid" ] && kill "$milter_pid" 2>/dev/null && wait "$milter_pid" 2>/dev/null
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

. "$here/../lib.sh"  # free_port

# Another suite may take the same random port between the check and the bind: try again.
redis_up=no
for _attempt in 1 2 3; do
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$tmp" >"$tmp/redis.log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 50); do
    if redis-cli -p "$redis_port" PING 2>/dev/null | grep -q PONG; then redis_up=yes; break; fi
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ "$redis_up" = yes ] && break
  kill "$redis_pid" 2>/dev/null || true
  wait "$redis_pid" 2>/dev/null || true
  redis_pid=
done
[ "$redis_up" = yes ] || { echo "redis-server did not start" >&2; cat "$tmp/redis.log" >&2; exit 1; }

openssl rand -hex 32 >"$tmp/token.key"
milter_port=$(free_port)
{
  echo "redis: {address: 127.0.0.1:$redis_port, timeout: 250ms, connect_timeout: 250ms, reconnect_backoff: 100ms}"
  echo "suppression:"
  echo "  journal_path: ''"
  echo "  actions: {soft: defer}"
  echo "logging: {level: debug}"
  echo "milter:"
  echo "  socket: inet:$milter_port@127.0.0.1"
  sed -n 's/^-- milter: /  /p' "$scenario"
  echo "unsubscribe:"
  echo "  key_files: [$tmp/token.key]"
  echo "  url_base: https://unsub.example.com/u/"
  echo "  mailto: unsubscribe@example.com"
  sed -n 's/^-- unsubscribe: /  /p' "$scenario"
  echo "  lists:"
  echo "    - {id: news, sender: '*@news.example.com'}"
  echo "    - {id: digest, list_id: digest.example.com}"
} >"$tmp/bouncegate.yaml"

"$bin_dir/bouncegate-milter" --config "$tmp/bouncegate.yaml" >"$tmp/milter.log" 2>&1 &
milter_pid=$!
# Scenarios send signals (SIGHUP reloads): wait until the milter has blocked them and logged
# "started", or a signal sent during start-up takes its default action and kills it.
for _ in $(seq 200); do
  grep -q '>started ' "$tmp/milter.log" 2>/dev/null && break
  kill -0 "$milter_pid" 2>/dev/null || break
  sleep 0.05
done

rc=0
BG_CLI="$bin_dir/bouncegate" BG_CONFIG="$tmp/bouncegate.yaml" MILTER_LOG="$tmp/milter.log" \
  MILTER_SOCKET="inet:$milter_port@127.0.0.1" REDIS_PORT="$redis_port" MILTER_TESTS="$here" \
  MILTER_PID="$milter_pid" \
  timeout 60 miltertest -s "$scenario" || rc=$?
if ! kill -0 "$milter_pid" 2>/dev/null; then
  echo "bouncegate-milter died during the scenario" >&2
  rc=1
fi
# A clean SIGTERM stop exits 0; sanitizer builds report leaks and errors at exit.
stop_rc=0
kill -TERM "$milter_pid" 2>/dev/null || true
wait "$milter_pid" || stop_rc=$?
milter_pid=""
if [ "$stop_rc" -ne 0 ] || grep -q "Sanitizer" "$tmp/milter.log"; then
  echo "bouncegate-milter did not stop cleanly (exit $stop_rc)" >&2
  rc=1
fi
if [ "$rc" -ne 0 ]; then
  echo "--- $(basename "$scenario") failed (rc=$rc); milter log:" >&2
  cat "$tmp/milter.log" >&2
fi
exit "$rc"
