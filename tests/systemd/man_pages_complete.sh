#!/usr/bin/env bash
# Fails unless the man pages document what the built binaries' --help prints (every option of
# every verb and daemon, every exit code of the footers) and man/bouncegate.yaml.5 is current.
set -euo pipefail
src=$1 bin=$2
man=$src/man
status=0
fail() { echo "FAIL $*"; status=1; }

# The --name options a text mentions, one a line ("--queue-id").
options_in() { grep -oE -- '--[a-z0-9]+(-[a-z0-9]+)*' | sort -u || true; }
# The options a man page spells in troff form (\-\-queue\-id), as --queue-id.
page_options() { grep -oE -- '\\-\\-[a-z0-9]+(\\-[a-z0-9]+)*' "$@" | sed 's/\\-/-/g' | sort -u || true; }
# The options a --help lists in its Options: block (not -h,--help).
listed_options() {
  sed -n '/^Options:/,/^$/p' | grep -oE -- '^ +--[a-z0-9-]+' | tr -d ' ' | grep -vx -- '--help' |
    sort -u || true
}
# The numbers of the "Exit codes: 0 ok, 64 usage, ..." footer, which may wrap, to its full stop.
exit_codes_in() {
  awk '/Exit codes:/ { f = 1 } f { print } f && /\.$/ { exit }' | sed 's/.*Exit codes://' |
    tr ',' '\n' | grep -oE -- '^ *[0-9]+ ' | tr -d ' ' | sort -un || true
}
# The text of a page's section: from `.SH NAME` to the next .SH, or from the `.SS` whose first
# word is NAME to the next heading.
section() {  # page .SH|.SS name
  awk -v m="$2" -v n="$3" '
    function title(line) { sub(/^\.S[HS] +/, "", line); gsub(/"/, "", line); gsub(/\\-/, "-", line)
                           split(line, w, " "); return w[1] }
    function heading(line) { sub(/^\.SH +/, "", line); gsub(/"/, "", line); return line }
    $1 == ".SH" || ($1 == ".SS" && m == ".SS") { if (f) exit }
    $1 == m && (m == ".SH" ? heading($0) == n : title($0) == n) { f = 1 }
    f { print }' "$1"
}
# Each code must be a word of the EXIT STATUS section.
check_codes() {  # page codes...
  local page=$1 text code
  shift
  text=$(section "$page" .SH "EXIT STATUS")
  [ -n "$text" ] || { fail "$(basename "$page"): no EXIT STATUS section"; return; }
  for code in "$@"; do
    grep -qE "(^|[ (])$code([ ,:;)]|\$)" <<<"$text" ||
      fail "$(basename "$page"): exit code $code (--help footer) missing from EXIT STATUS"
  done
}
# Each option must be spelled in troff form somewhere in the text read on stdin.
check_options() {  # where options...
  local where=$1 have o
  shift
  have=$(page_options /dev/stdin)
  for o in "$@"; do
    grep -qxF -- "$o" <<<"$have" || fail "$where: $o is not documented"
  done
}

# (a) bouncegate(1): every verb of the Subcommands list has a .SS section listing the options
# of its --help; every option any --help mentions is in the page.
page=$man/bouncegate.1
top=$("$bin/bouncegate" --help)
verbs=$(sed -n '/^Subcommands:/,/^$/p' <<<"$top" | grep -oE '^  [a-z][a-z0-9-]*' | tr -d ' ' || true)
[ -n "$verbs" ] || fail "bouncegate --help: no Subcommands section"
# shellcheck disable=SC2046
check_options "bouncegate.1" $(options_in <<<"$top") < "$page"
codes=$(exit_codes_in <<<"$top")
[ -n "$codes" ] || fail "bouncegate --help: no exit codes in the footer"
for verb in $verbs; do
  help=$("$bin/bouncegate" "$verb" --help) || { fail "bouncegate $verb --help failed"; continue; }
  text=$(section "$page" .SS "$verb")
  if [ -z "$text" ]; then
    fail "bouncegate.1: no .SS section for verb $verb"
  else
    # shellcheck disable=SC2046
    check_options "bouncegate.1 ($verb)" $(listed_options <<<"$help") <<<"$text"
  fi
  # shellcheck disable=SC2046
  check_options "bouncegate.1" $(options_in <<<"$help") < "$page"
  codes=$(printf '%s\n%s\n' "$codes" "$(exit_codes_in <<<"$help")" | sort -un)
done
# shellcheck disable=SC2086
check_codes "$page" $codes
[ $status -eq 0 ] && echo "ok   bouncegate.1 ($(wc -w <<<"$verbs") verbs)"

# (b), (c) the daemons: every option in the OPTIONS section, every exit code in EXIT STATUS.
for d in milter relay web; do
  s=$status
  page=$man/bouncegate-$d.8
  [ -f "$page" ] || { fail "no $page"; continue; }
  help=$("$bin/bouncegate-$d" --help) || { fail "bouncegate-$d --help failed"; continue; }
  # shellcheck disable=SC2046
  check_options "bouncegate-$d.8" $(options_in <<<"$help") < "$page"
  # shellcheck disable=SC2046
  check_options "bouncegate-$d.8 (OPTIONS)" --help $(listed_options <<<"$help") \
    <<<"$(section "$page" .SH OPTIONS)"
  codes=$(exit_codes_in <<<"$help")
  [ -n "$codes" ] || fail "bouncegate-$d --help: no exit codes in the footer"
  # shellcheck disable=SC2086
  check_codes "$page" $codes
  [ $status -eq "$s" ] && echo "ok   bouncegate-$d.8"
done

# (d) bouncegate.yaml(5) is what scripts/gen-man-config makes of docs/configuration.md.
if "$src/scripts/gen-man-config" --check; then
  echo "ok   bouncegate.yaml.5"
else
  fail "bouncegate.yaml.5: not current"
fi
exit $status
