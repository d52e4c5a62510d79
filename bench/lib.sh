# Shell helpers shared by the bench/ scripts (sourced, not run): free ports, waiting for a
# listener, a private Redis, a private Postfix configured like scripts/quickstart's.

# A loopback TCP port nothing listens on (the kernel picks it).
bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits (≤ 10 s) until something accepts on 127.0.0.1:$1.
bench_wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "port $1 did not open" >&2
  return 1
}

# The 1-minute load average now.
bench_load() { cut -d' ' -f1 /proc/loadavg; }

# Starts redis-server on port $1 with data in directory $2; prints its pid.
bench_start_redis() {
  redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no --dir "$2" \
    >"$2/redis.log" 2>&1 &
  echo $!
}

# Writes a private Postfix configuration under $1 (etc/, queue/, data/, maillog): the
# main.cf/master.cf of scripts/quickstart, with relayhost $2 and two smtpd listeners that
# differ only in the milter: 127.0.0.1:$3 without, 127.0.0.1:$4 with smtpd_milters $5.
bench_write_postfix() {
  # $6, $7 (optional): a policy service (inet:HOST:PORT) and the smtpd port that asks it;
  # $8, $9 (optional): the same for the no-op policy service anchor.
  local pc=$1 relayhost=$2 plain_port=$3 milter_port=$4 milter=$5 policy=${6:-} policy_port=${7:-}
  local noop=${8:-} noop_port=${9:-}
  # ${10}, ${11} (optional): a no-op milter (inet:HOST:PORT) and the smtpd port that uses it.
  local noop_milter=${10:-} noop_milter_port=${11:-}
  mkdir -p "$pc/etc" "$pc/queue" "$pc/data"
  chmod 755 "$pc"
  chown postfix "$pc/data"
  cat >"$pc/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pc/queue
data_directory = $pc/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.bouncegate.test
mydomain = bouncegate.test
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = $relayhost
smtp_send_xforward_command = yes
smtpd_milters =
non_smtpd_milters =
milter_protocol = 6
milter_default_action = tempfail
syslog_name = postfix-bouncegate-bench
maillog_file = $pc/maillog
maillog_file_prefixes = /tmp
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
local_recipient_maps =
smtp_dns_support_level = disabled
minimal_backoff_time = 5s
maximal_backoff_time = 10s
queue_run_delay = 5s
EOF
  cat >"$pc/etc/master.cf" <<EOF
127.0.0.1:$plain_port inet n - n - - smtpd
127.0.0.1:$milter_port inet n - n - - smtpd -o smtpd_milters=$milter
$([ -n "$policy" ] && echo "127.0.0.1:$policy_port inet n - n - - smtpd -o { smtpd_recipient_restrictions = check_policy_service $policy }")
$([ -n "$noop" ] && echo "127.0.0.1:$noop_port inet n - n - - smtpd -o { smtpd_recipient_restrictions = check_policy_service $noop }")
$([ -n "$noop_milter" ] && echo "127.0.0.1:$noop_milter_port inet n - n - - smtpd -o smtpd_milters=$noop_milter")
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
tlsmgr    unix - - n 1000? 1 tlsmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
local     unix - n n - - local
lmtp      unix - - n - - lmtp
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
}

# Number of messages still in the Postfix queue under $1 (incoming, active, deferred).
bench_postfix_queued() {
  find "$1/queue/incoming" "$1/queue/active" "$1/queue/deferred" "$1/queue/maildrop" \
    -type f 2>/dev/null | wc -l
}
