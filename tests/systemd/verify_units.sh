#!/usr/bin/env bash
# Runs `systemd-analyze verify` on every shipped unit, with ExecStart pointing at the built
# binaries, and fails on any complaint.
set -euo pipefail
src=$1 bin=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for unit in "$src"/systemd/*.service; do
  name=$(basename "$unit")
  sed -e "s|/usr/sbin/|$bin/|g" "$unit" > "$tmp/$name"
  out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp/$name" 2>&1 || true)
  # Units name the bouncegate user and redis-server.service, which a build machine may lack.
  out=$(printf '%s\n' "$out" | grep -v -e 'redis-server.service' -e "Failed to resolve user" -e '^$' || true)
  if [ -n "$out" ]; then
    echo "FAIL $name:"; echo "$out"; status=1
  else
    echo "ok   $name"
  fi
done
exit $status
