# Shell helpers shared by the script-driven tests and benchmarks: a private temporary
# directory, background processes stopped on exit, and free loopback ports.
# Usage: . tests/lib.sh; bg_setup NAME; bg_start CMD...; port=$(free_port)

# Creates $tmp and arranges for every process started with bg_start to be stopped (and $tmp
# removed) when the script exits, however it exits.
bg_setup() {
  tmp=$(mktemp -d "/tmp/bouncegate-$1.XXXXXX")
  pids=()
  trap bg_cleanup EXIT
}

bg_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}

# A loopback port nothing listens on (random, checked with a connect attempt). Taken below
# Linux's ephemeral range (32768+), where outgoing connections may hold a port already.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}
