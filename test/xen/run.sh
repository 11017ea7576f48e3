#!/usr/bin/env bash
# domud end to end on a real Xen hypervisor: boots Xen with a Debian PV dom0
# under QEMU (software emulation, no KVM needed), runs domud there against the
# real xl, and reports the checks that test/xen/dom0.sh makes. Two dom0s, one
# after the other, each with its own result:
#   bookworm  Debian 12, Xen 4.17: domud carried in from this tree (dist/, the host's node)
#   trixie    Debian 13, Xen 4.20: the domud and xen-support .debs built from this
#             tree, installed with apt, domud started by D-Bus activation
#
# usage: npm run test:xen [-- SUITE...]    (as root; bash test/xen/run.sh [SUITE...]; default both)
# env:   DOMUD_XEN_CACHE    image cache   (default ${XDG_CACHE_HOME:-~/.cache}/domud-xen-e2e)
#        DOMUD_XEN_TIMEOUT  seconds QEMU may run before it is killed (default 600;
#                           trixie 2400: its dom0 installs the .debs with apt under TCG)
#        DOMUD_XEN_KEEP=1   keep the run directory (serial log, payload) after a pass
#        DOMUD_DEBS=DIR     take the domud and xen-support .debs from DIR when it holds
#                           them (npm run test:package leaves those it checked there)
# Prints "SUITE: N passed, M failed" after each dom0 and "N passed, M failed"
# for all of them last. Exit 0 only when every check passed and each dom0
# finished in time; a machine that cannot run this (no root, no QEMU, no disk)
# fails with the reason, it never skips.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${DOMUD_XEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/domud-xen-e2e}
SUITES=("$@")
[ ${#SUITES[@]} -gt 0 ] || SUITES=(bookworm trixie)

T0=$EPOCHREALTIME
elapsed() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "xen-e2e: [$(elapsed)s] $*"; }
cannot_run() {
  echo "xen-e2e: cannot run: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}
for suite in "${SUITES[@]}"; do
  case $suite in bookworm|trixie) ;; *) cannot_run "unknown suite '$suite' (bookworm or trixie)" ;; esac
done

# --- can this machine run it? -----------------------------------------------------
[ "$(id -u)" = 0 ] || cannot_run "needs root (debootstrap and chroot build the dom0 image)"
missing=()
for t in qemu-system-x86_64 debootstrap mke2fs cpio xz zstd timeout; do command -v $t > /dev/null || missing+=($t); done
[ ${#missing[@]} = 0 ] || cannot_run "missing ${missing[*]} (apt-get install qemu-system-x86 debootstrap e2fsprogs cpio xz-utils zstd)"
command -v dpkg-buildpackage > /dev/null || [[ " ${SUITES[*]} " != *" trixie "* ]] ||
  cannot_run "missing dpkg-buildpackage: the trixie run builds the .debs (apt-get install debhelper dpkg-dev fakeroot)"
mkdir -p "$CACHE" || cannot_run "cannot create $CACHE"
free_mb=$(df -Pm "$CACHE" | awk 'NR == 2 { print $4 }')
[ "$free_mb" -ge 6144 ] || cannot_run "only ${free_mb} MiB free under $CACHE, needs 6144"
mem_mb=$(awk '/MemAvailable/ { print int($2 / 1024) }' /proc/meminfo)
# QEMU's own peak under TCG is about 3 GiB for the 2 GiB machine
[ "$mem_mb" -ge 3584 ] || cannot_run "only ${mem_mb} MiB of memory available, QEMU needs 3584"

# --- the build, once ---------------------------------------------------------------
t=$EPOCHREALTIME
say "npm run build"
(cd "$ROOT" && npm run build --silent) || cannot_run "npm run build failed"
BUILD_S=$(awk -v a="$t" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

# run_suite SUITE: images (cached), payload, one boot; prints "SUITE: N passed, M failed"
total_passed=0 total_failed=0
run_suite() {
  local suite=$1 RUN LOG t
  local -a PHASES=() DEBS=()
  phase_done() { PHASES+=("$(printf '%-22s %6.1f s' "$1" "$2")"); }
  since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
  passed=0 failed=0
  suite_fails() { echo "not ok $suite-setup $*"; failed=$((failed + 1)); }
  phase_done build "$BUILD_S"
  RUN=$(mktemp -d "${TMPDIR:-/tmp}/domud-xen-e2e.XXXXXX")

  if [ "$suite" = trixie ]; then
    t=$EPOCHREALTIME
    # The dom0 is a server: it installs domud and xen-support, not the
    # desktop window that build-deb.sh also makes.
    local wanted='/(domud|xen-support)_[^/]*\.deb$'
    [ -n "${DOMUD_DEBS:-}" ] && mapfile -t DEBS < <(printf '%s\n' "$DOMUD_DEBS"/*.deb | grep -E "$wanted")
    if [ ${#DEBS[@]} = 2 ]; then
      say "$suite: the .debs in $DOMUD_DEBS"
    else
      say "$suite: scripts/build-deb.sh"
      mapfile -t DEBS < <("$ROOT/scripts/build-deb.sh" "$RUN/debs" | grep -E "$wanted") && [ ${#DEBS[@]} = 2 ] ||
        { suite_fails "building the .debs failed"; suite_result; return; }
    fi
    phase_done debs "$(since "$t")"
    # The guest booted from an image: domud's builder, the real debootstrap
    # (cached: npm run test:images leaves the image it checked).
    t=$EPOCHREALTIME
    say "$suite: guest image"
    GUEST_IMAGE=$(node "$HERE/guest-image.mjs" bookworm) || { suite_fails "building the guest image failed"; suite_result; return; }
    export GUEST_IMAGE
    phase_done guest-image "$(since "$t")"
  fi

  t=$EPOCHREALTIME
  say "$suite: images: $CACHE/$suite"
  "$HERE/images.sh" "$suite" "$CACHE/$suite" "${DEBS[@]}" || { suite_fails "building the images failed"; suite_result; return; }
  phase_done images "$(since "$t")"
  say "$suite: $(tr '\n' ' ' < "$CACHE/$suite/versions")"

  t=$EPOCHREALTIME
  "$HERE/payload.sh" "$suite" "$CACHE/$suite" "$RUN" "${DEBS[@]}" || { suite_fails "building the payload failed"; suite_result; return; }
  phase_done payload "$(since "$t")"
  boot "$CACHE/$suite" "$RUN"
  suite_result
}
suite_result() {
  echo "---- $suite phases ----"
  printf '  %s\n' "${PHASES[@]}"
  [ $failed = 0 ] && [ "${DOMUD_XEN_KEEP:-0}" != 1 ] && rm -rf "$RUN" || echo "kept: $RUN (serial.log)"
  echo "$suite: $passed passed, $failed failed"
  total_passed=$((total_passed + passed)) total_failed=$((total_failed + failed))
}

# --- boot ---------------------------------------------------------------------------------
# boot IMAGES RUN: one QEMU run of IMAGES with RUN/payload.ext4; counts the checks dom0 reports
boot() {
  local images=$1 RUN=$2
  local LOG=$RUN/serial.log
  # -cpu max crashes the PV dom0 under TCG; qemu64 works. QEMU's multiboot loader
  # boots the hypervisor; "-initrd" carries the dom0 kernel and its initramfs.
  # The root disk is a snapshot thrown away at power-off: its flushes (dpkg
  # syncs every file it installs) need not reach the host's disk (cache=unsafe).
  local QEMU=(qemu-system-x86_64 -machine q35,accel=tcg -cpu qemu64 -smp 2 -m 2048
    -nographic -no-reboot -nic none
    -kernel "$images/boot/xen"
    -append "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M loglvl=all guest_loglvl=all"
    -initrd "$images/boot/vmlinuz console=hvc0 earlyprintk=xen,$images/boot/dom0-initrd.gz"
    -drive "file=$images/rootfs.ext4,if=virtio,format=raw,snapshot=on,cache=unsafe"
    -drive "file=$RUN/payload.ext4,if=virtio,format=raw")
  local default=600
  [ "$suite" = trixie ] && default=2400
  local TIMEOUT=${DOMUD_XEN_TIMEOUT:-$default}
  say "$suite: booting Xen under QEMU (TCG), at most ${TIMEOUT}s; serial log: $LOG"

  local done_rc= phase= phase_t= line now msg name ms
  local BOOT=$EPOCHREALTIME
  # tenths of a second since QEMU started, without a process per console line
  boot_tenths() { local us=${EPOCHREALTIME/./} b=${BOOT/./}; echo $(((us - b) / 100000)); }
  tenths() { printf '%d.%d' $(($1 / 10)) $(($1 % 10)); }
  phase_to() { [ -n "$phase" ] && phase_done "$phase" "$(tenths $(($1 - phase_t)))"; phase=$2; phase_t=$1; }
  # One loop reads the console: it stamps every line with seconds since QEMU
  # started, keeps the log, and reports the DOMUD-E2E lines as they come.
  while IFS= read -r line; do
    line=${line//$'\r'/}
    now=$(boot_tenths)
    printf '%7s %s\n' "$(tenths $now)" "$line" >> "$LOG"
    case $line in
      *"Xen version"*) [ -z "$phase" ] && phase_to $now xen ;;
      *"Linux version"*) [ "$phase" = xen ] && phase_to $now dom0-kernel ;;
      *"DOMUD-E2E: "*)
        msg=${line#*DOMUD-E2E: }
        case $msg in
          "phase "*) phase_to $now "${msg#phase }"; say "$suite: phase $phase" ;;
          "ok "*) passed=$((passed + 1)); echo "ok ${msg#ok }" ;;
          "not ok "*) failed=$((failed + 1)); echo "not ok ${msg#not ok }" ;;
          "time "*) read -r _ name ms <<<"$msg"; echo "  time $name: ${ms} ms" ;;
          "figure "*) echo "  ${msg#figure }" ;;
          "done rc="*) done_rc=${msg#done rc=} ;;
        esac ;;
    esac
  done < <(timeout --foreground -k 5 "$TIMEOUT" "${QEMU[@]}" < /dev/null 2>&1; echo "QEMU exited rc=$?")
  phase_to "$(boot_tenths)" ""
  echo "  $suite: QEMU start to power-off: $(since "$BOOT") s; whole run so far: $(elapsed) s"
  if [ -z "$done_rc" ]; then
    echo "not ok dom0-finished: dom0 did not finish within ${TIMEOUT}s or crashed; last lines:"
    tail -n 25 "$LOG"
    failed=$((failed + 1))
  elif [ "$passed" = 0 ]; then
    echo "not ok dom0-ran-checks: dom0 reported no check"; failed=$((failed + 1))
  fi
}

# One QEMU at a time: two side by side (each with two vCPUs on two cores)
# took longer than one after the other.
for suite in "${SUITES[@]}"; do run_suite "$suite"; done
echo "$total_passed passed, $total_failed failed"
[ $total_failed = 0 ]
