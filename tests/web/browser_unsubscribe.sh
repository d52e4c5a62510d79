#!/usr/bin/env bash
# The unsubscribe page clicked in a real headless Chromium: private redis-server, the built
# bouncegate-web, a token sealed by `bouncegate token seal`; then the store must show the
# unsubscribe. Usage: browser_unsubscribe.sh BIN_DIR. Fails (never skips) without chromium.
set -euo pipefail
bin_dir=$1
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v chromium >/dev/null; then
  echo "FAIL: chromium is not installed (scripts/deps installs it)" >&2
  exit 1
fi
if [ ! -d "$here/node_modules/puppeteer-core" ]; then
  npm ci --prefix "$here" --no-audit --no-fund >&2
fi

. "$(dirname "$0")/../lib.sh"
bg_setup browser
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "FAIL: nothing listens on port $1" >&2
  return 1
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
  >/dev/null 2>&1 &
pids+=($!)
wait_port "$redis_port"

web_port=$(free_port)
openssl rand -hex 32 >"$tmp/unsub.key"
cat >"$tmp/bouncegate.yaml" <<YAML
redis: {address: 127.0.0.1:$redis_port, timeout: 300ms}
suppression: {journal_path: ''}
web: {listen: 127.0.0.1:$web_port, request_timeout: 5s}
unsubscribe: {key_files: [$tmp/unsub.key]}
YAML
"$bin_dir/bouncegate-web" --config "$tmp/bouncegate.yaml" 2>"$tmp/web.log" &
pids+=($!)
wait_port "$web_port"

cli() { "$bin_dir/bouncegate" --config "$tmp/bouncegate.yaml" "$@"; }
token=$(cli token seal --list spring-offers reader@example.com)

# Loading the page must not unsubscribe (mail scanners follow links).
before=$(cli --json show reader@example.com || true)
heading=$(timeout 90 node "$here/click_unsubscribe.mjs" "http://127.0.0.1:$web_port/u/$token" \
  spring-offers)
after=$(cli --json show reader@example.com)

status=0
case "$before" in *unsubscribed*spring-offers*) echo "FAIL: unsubscribed before the click" >&2; status=1 ;; esac
case "$heading" in *unsubscribed*) ;; *) echo "FAIL: confirmation heading was '$heading'" >&2; status=1 ;; esac
case "$after" in *'"spring-offers"'*) ;; *) echo "FAIL: store shows no unsubscribe: $after" >&2; status=1 ;; esac
[ $status -eq 0 ] && echo "ok: clicked '$heading'; store: $after"
[ $status -eq 0 ] || cat "$tmp/web.log" >&2
exit $status
