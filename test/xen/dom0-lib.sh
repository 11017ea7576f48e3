# Helpers for dom0.sh (sourced). Everything the host reads is a line on the
# console starting with "DOMUD-E2E:":
#   DOMUD-E2E: phase NAME             a phase starts (the host times it)
#   DOMUD-E2E: ok NAME                a check passed
#   DOMUD-E2E: not ok NAME DETAIL     a check failed
#   DOMUD-E2E: time NAME MS           a measured duration
FAILED=0

phase() { echo "DOMUD-E2E: phase $1"; }
ok() { echo "DOMUD-E2E: ok $1"; }
not_ok() {
  local name=$1; shift
  echo "DOMUD-E2E: not ok $name $(printf '%s' "$*" | tr '\n' ' ' | cut -c1-600)"
  FAILED=$((FAILED + 1))
  # what domud said last, for whoever reads the serial log
  [ -f /tmp/domud.log ] && tail -n 4 /tmp/domud.log | cut -c1-1000 | sed 's/^/domud.log: /'
}
# check NAME COMMAND...: one result line; a failing command's output is the
# detail. COMMAND runs in this shell (it may set variables for later checks);
# what it must show on the console it writes to fd 3.
exec 3>&1
check() {
  local name=$1; shift
  if "$@" > /tmp/check.out 2>&1; then ok "$name"; else not_ok "$name" "$(cat /tmp/check.out)"; fi
}
now_ms() { date +%s%3N; }
timing() { echo "DOMUD-E2E: time $1 $2" >&3; }
# fail MESSAGE: a check function's way to explain itself
fail() { echo "$*"; return 1; }

# wait_for SECONDS COMMAND...: polls every 0.2 s until COMMAND succeeds
wait_for() {
  local until=$(($(now_ms) + $1 * 1000)); shift
  until "$@" > /dev/null 2>&1; do
    [ "$(now_ms)" -ge $until ] && return 1
    sleep 0.2
  done
}

# --- D-Bus: busctl for calls, gdbus where the error's name matters ----------
DEST=org.domud.Domud1
MGR=/org/domud/Domud1
manager() { busctl --system --timeout=300 call $DEST $MGR $DEST.Manager "$@"; }
# unquote: busctl prints `s "x"`, `u 3`, `b false`, `a(ss) 1 "x" "y"`; drop the type
values() { cut -d' ' -f2- | tr -d '"'; }
manager_prop() { busctl --system get-property $DEST $MGR $DEST.Manager "$1" | values; }
domain_prop() { busctl --system get-property $DEST "$1" $DEST.Domain "$2" | values; }
# gdbus_call METHOD ARGS...: prints gdbus's reply or its "GDBus.Error:NAME: message"
gdbus_call() {
  local method=$1; shift
  gdbus call --system --timeout 300 --dest $DEST --object-path $MGR --method $DEST.Manager.$method "$@" 2>&1
}

# list_domains: "name id state address path" per row of ListDomains
list_domains() {
  manager ListDomains | values | awk '{ for (i = 2; i + 4 <= NF; i += 5) print $i, $(i+1), $(i+2), $(i+3), $(i+4) }'
}
# list_leases: "address name mac acquired" per row of ListLeases
list_leases() {
  manager ListLeases | values | awk '{ for (i = 2; i + 3 <= NF; i += 4) print $i, $(i+1), $(i+2), $(i+3) }'
}
# xl_row NAME: "name id mem vcpus state" from xl list, nothing if absent
xl_row() { xl list | awk -v n="$1" '$1 == n { print $1, $2, $3, $4, $5 }'; }
domain_gone_from_xl() { [ -z "$(xl_row "$1")" ]; }
# xl's state flags as the contract names them. A guest flips between running,
# blocked and "------" (neither, at that instant) from one read to the next, so
# any of those fits either name.
xl_state_fits() {
  local flags=$1 state=$2
  case $flags in
    r*|?b*|------) [ "$state" = running ] || [ "$state" = blocked ] ;;
    ??p*) [ "$state" = paused ] ;;
    ???s*) [ "$state" = shutdown ] ;;
    ????c*) [ "$state" = crashed ] ;;
    ?????d) [ "$state" = dying ] ;;
    *) return 1 ;;
  esac
}
# console NAME: what the guest printed, as xenconsoled logged it
console() { cat "/var/log/xen/console/guest-$1.log" 2>/dev/null | tr -d '\r'; }
# figure TEXT: a measurement the host prints as it is
figure() { echo "DOMUD-E2E: figure $*" >&3; }
