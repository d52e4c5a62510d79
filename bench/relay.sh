#!/usr/bin/env bash
# Relay benchmark: smtp-source → bouncegate-relay → smtp-sink against smtp-source → smtp-sink
# directly, in the same run, at 1 and 100 concurrent sessions; then the relay's peak RSS
# with 1,000 idle client sessions. Not part of ctest.
#
#   bench/relay.sh [BUILD_DIR] [MESSAGES] [LENGTH] [IDLE]   (defaults: ./build, 2000, 2048, 1)
#
# LENGTH is the message size in bytes; IDLE=0 skips the 1,000 idle sessions step.
# BENCH_LOCAL_FILTER=1 turns gate.local_filter on.
# The relay gates every recipient in a private redis-server and forwards in clear to the
# sink (tls: none, insecure: true): the numbers measure the relay, not TLS.
set -euo pipefail

BUILD=${1:-build}
MESSAGES=${2:-2000}
LENGTH=${3:-2048}
IDLE=${4:-1}
RELAY=$BUILD/bin/bouncegate-relay
[ -x "$RELAY" ] || { echo "no $RELAY (build the bouncegate-relay target)" >&2; exit 64; }
for t in smtp-source smtp-sink redis-server python3; do
  command -v "$t" >/dev/null || { echo "$t not found" >&2; exit 69; }
done

WORK=$(mktemp -d /tmp/bouncegate-bench-XXXXXX)
PIDS=()
cleanup() {
  [ -z "${PF_DIR:-}" ] || postfix -c "$PF_DIR/etc" stop >/dev/null 2>&1 || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
  for _ in $(seq 100); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "port $1 did not open" >&2; return 1
}

ulimit -n 8192 2>/dev/null || true
REDIS_PORT=$(free_port); SINK_PORT=$(free_port); RELAY_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$WORK" >/dev/null 2>&1 &
PIDS+=($!)
smtp-sink -u postfix -c "127.0.0.1:$SINK_PORT" 1024 >/dev/null 2>&1 &
PIDS+=($!)
cat >"$WORK/bouncegate.yaml" <<YAML
redis: {address: 127.0.0.1:$REDIS_PORT}
suppression: {journal_path: $WORK/journal}
relay:
  listen: ["127.0.0.1:$RELAY_PORT"]
  max_sessions: 2000
  upstream: {host: 127.0.0.1, port: $SINK_PORT, tls: none, insecure: true, pool_size: 100}
logging: {level: warning}
YAML
# BENCH_LOCAL_FILTER=1: the gate runs with gate.local_filter (the one recipient is clean, so
# it passes without a round trip).
if [ "${BENCH_LOCAL_FILTER:-0}" = 1 ]; then
  echo "gate: {local_filter: {enabled: true}}" >>"$WORK/bouncegate.yaml"
fi
wait_port "$REDIS_PORT"; wait_port "$SINK_PORT"
"$RELAY" --config "$WORK/bouncegate.yaml" 2>"$WORK/relay.log" &
RELAY_PID=$!
PIDS+=($RELAY_PID)
wait_port "$RELAY_PORT" || { cat "$WORK/relay.log" >&2; exit 1; }

# messages/s for smtp-source with $1 sessions against port $2
rate() {
  local start end
  start=$(date +%s.%N)
  smtp-source -s "$1" -m "$MESSAGES" -l "$LENGTH" -f app@example.com -t rcpt@example.net \
    "127.0.0.1:$2" >/dev/null
  end=$(date +%s.%N)
  python3 -c "print(f'{$MESSAGES/($end-$start):.0f}')"
}

# The anchor: a pure TCP proxy hop, HAProxy in mode tcp with one thread (when installed:
# scripts/deps bench), in front of the same sink.
HA_PORT=-
if command -v haproxy >/dev/null; then
  HA_PORT=$(free_port)
  cat >"$WORK/haproxy.cfg" <<CFG
global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend bench
  bind 127.0.0.1:$HA_PORT
  default_backend sink
backend sink
  server sink 127.0.0.1:$SINK_PORT
CFG
  haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
  PIDS+=($!)
  wait_port "$HA_PORT" || { cat "$WORK/haproxy.log" >&2; exit 1; }
fi

# The second anchor: Postfix's own cut-through hop, an smtpd with smtpd_proxy_filter to the
# same sink (a before-queue proxy: each command goes on to the sink as it arrives, nothing is
# queued, the sink's end-of-data reply is the client's). Needs root to start a private
# instance (bench/lib.sh, the quickstart's main.cf).
PF_PORT=-
if command -v postfix >/dev/null && [ "$(id -u)" = 0 ]; then
  # shellcheck source=bench/lib.sh
  . "$(dirname "$0")/lib.sh"
  chmod 755 "$WORK"
  PF_PORT=$(free_port)
  PF_DIR=$WORK/postfix
  bench_write_postfix "$PF_DIR" "[127.0.0.1]:$SINK_PORT" "$(free_port)" "$(free_port)" \
    "inet:127.0.0.1:1"
  echo "127.0.0.1:$PF_PORT inet n - n - - smtpd -o smtpd_proxy_filter=127.0.0.1:$SINK_PORT" \
    >>"$PF_DIR/etc/master.cf"
  postfix -c "$PF_DIR/etc" start >"$WORK/postfix-start.log" 2>&1 ||
    { cat "$WORK/postfix-start.log" >&2; exit 1; }
  wait_port "$PF_PORT" || { cat "$WORK/postfix-start.log" >&2; exit 1; }
fi

# Interleaved repetitions (direct, relay, HAProxy, Postfix proxy each time), medians reported.
REPS=${BENCH_RELAY_REPS:-3}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-12s %12s %12s %8s %12s %10s %12s %10s\n' sessions direct/s relay/s ratio haproxy/s \
  relay/ha postfix/s relay/pf
for s in 1 100; do
  ds=() rs=() hs=() ps=()
  for _ in $(seq "$REPS"); do
    ds+=("$(rate "$s" "$SINK_PORT")")
    rs+=("$(rate "$s" "$RELAY_PORT")")
    [ "$HA_PORT" = - ] || hs+=("$(rate "$s" "$HA_PORT")")
    [ "$PF_PORT" = - ] || ps+=("$(rate "$s" "$PF_PORT")")
  done
  d=$(median "${ds[@]}") r=$(median "${rs[@]}")
  h=- rh=- p=- rp=-
  if [ "$HA_PORT" != - ]; then
    h=$(median "${hs[@]}")
    rh=$(python3 -c "print(f'{$r/$h:.2f}')")
  fi
  if [ "$PF_PORT" != - ]; then
    p=$(median "${ps[@]}")
    rp=$(python3 -c "print(f'{$r/$p:.2f}')")
  fi
  echo "runs $s: direct ${ds[*]} | relay ${rs[*]} | haproxy ${hs[*]:-} | postfix proxy ${ps[*]:-}" >&2
  printf '%-12s %12s %12s %8s %12s %10s %12s %10s\n' "$s" "$d" "$r" \
    "$(python3 -c "print(f'{$r/$d:.2f}')")" "$h" "$rh" "$p" "$rp"
done

[ "$IDLE" = 1 ] || exit 0
# 1,000 idle sessions: connected, greeted, EHLO'd, then left waiting.
python3 - "$RELAY_PORT" <<'PY' &
import socket, sys, time
port = int(sys.argv[1]); socks = []
for _ in range(1000):
    s = socket.create_connection(("127.0.0.1", port)); s.recv(512)
    s.sendall(b"EHLO bench.test\r\n"); socks.append(s)
for s in socks: s.recv(4096)
time.sleep(3)
PY
IDLE=$!
sleep 2.5
echo "relay peak RSS with 1,000 idle sessions: $(awk '/VmHWM/ {print $2, $3}' /proc/$RELAY_PID/status)"
wait "$IDLE"
if grep -q '<[0-3]>' "$WORK/relay.log"; then
  echo "relay errors:" >&2; grep '<[0-3]>' "$WORK/relay.log" | head >&2
fi
