#!/usr/bin/env bash
# Builds the .deb with CPack from the build tree, installs it on this machine, checks the
# installed example configuration, units, man pages, monitoring files (Grafana dashboard,
# Prometheus alert rules) and user, then purges the package again.
set -euo pipefail
build=$1
cd "$build"
rm -f bouncegate_*.deb
cpack -G DEB >cpack.log 2>&1 || { cat cpack.log; exit 1; }
deb=$(ls bouncegate_*.deb | head -1)
echo "built $deb"
dpkg-deb --info "$deb" > deb-info.txt
dpkg-deb -c "$deb" > deb-contents.txt
sed -n '/Depends/p' deb-info.txt
grep -q 'Depends:.*libhiredis' deb-info.txt || { echo "no shlibs dependencies"; exit 1; }
grep -q './etc/bouncegate/bouncegate.yaml' deb-contents.txt || { echo "config missing"; exit 1; }
dashboard=/usr/share/bouncegate/grafana/bouncegate-dashboard.json
rules=/usr/share/bouncegate/prometheus/bouncegate-rules.yaml
grep -q ".$dashboard" deb-contents.txt || { echo "Grafana dashboard missing"; exit 1; }
grep -q ".$rules" deb-contents.txt || { echo "Prometheus alert rules missing"; exit 1; }
cleanup() { dpkg --purge bouncegate >/dev/null 2>&1 || true; }
trap cleanup EXIT
dpkg -i "$deb"
grep -qx /etc/bouncegate/bouncegate.yaml /var/lib/dpkg/info/bouncegate.conffiles
/usr/bin/bouncegate --config /etc/bouncegate/bouncegate.yaml check-config
/usr/sbin/bouncegate-milter --config /etc/bouncegate/bouncegate.yaml --check-config
# The relay refuses the example until the ACS sign-in is set, and says what to set where.
if out=$(/usr/sbin/bouncegate-relay --config /etc/bouncegate/bouncegate.yaml --check-config 2>&1); then
  echo "the relay accepted an empty ACS username"; exit 1
fi
echo "$out" | grep -q 'relay.upstream.username is empty' || { echo "unclear refusal: $out"; exit 1; }
echo "$out" | grep -q 'password_file' || { echo "refusal names no credential file: $out"; exit 1; }
signed=$(mktemp -d)
sed -e 's/^    username: ""/    username: "relay-sender"/' \
    -e 's/^    # password_file: acs-smtp-password/    password_file: acs-smtp-password/' \
    /etc/bouncegate/bouncegate.yaml >"$signed/bouncegate.yaml"
echo 'entra-client-secret' >"$signed/acs-smtp-password"
/usr/sbin/bouncegate-relay --config "$signed/bouncegate.yaml" --check-config
rm -rf "$signed"
/usr/sbin/bouncegate-web --config /etc/bouncegate/bouncegate.yaml --check-config
for u in milter relay web; do test -f /lib/systemd/system/bouncegate-$u.service; done
test -f /usr/share/man/man8/bouncegate-relay.8* || test -f /usr/share/man/man8/bouncegate-relay.8
test -f "$dashboard" && test -f "$rules" || { echo "monitoring files not installed"; exit 1; }
python3 -m json.tool "$dashboard" >/dev/null || { echo "installed dashboard is not valid JSON"; exit 1; }
if python3 -c 'import yaml' 2>/dev/null; then
  python3 -c 'import sys, yaml; assert yaml.safe_load(open(sys.argv[1]))["groups"]' "$rules" ||
    { echo "installed alert rules are not valid YAML"; exit 1; }
fi
getent passwd bouncegate >/dev/null || { echo "postinst did not create the bouncegate user"; exit 1; }
echo "package installs, configuration checks pass, monitoring files installed, user created"
