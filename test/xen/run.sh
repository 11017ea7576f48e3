#!/usr/bin/env bash
# domud end to end on a real Xen hypervisor: boots Xen 4.17 with a Debian PV
# dom0 under QEMU (software emulation, no KVM needed), runs domud there against
# the real xl, and reports the checks that test/xen/dom0.sh makes.
#
# usage: npm run test:xen            (as root; bash test/xen/run.sh)
# env:   DOMUD_XEN_CACHE    image cache   (default ${XDG_CACHE_HOME:-~/.cache}/domud-xen-e2e)
#        DOMUD_XEN_TIMEOUT  seconds QEMU may run before it is killed (default 600)
#        DOMUD_XEN_KEEP=1   keep the run directory (serial log, payload) after a pass
# Exit 0 only when every check passed and dom0 finished in time; a machine that
# cannot run this (no root, no QEMU, no disk) fails with the reason, it never skips.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${DOMUD_XEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/domud-xen-e2e}
TIMEOUT=${DOMUD_XEN_TIMEOUT:-600}

T0=$EPOCHREALTIME
elapsed() { awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "xen-e2e: [$(elapsed)s] $*"; }
cannot_run() {
  echo "xen-e2e: cannot run: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}

# --- can this machine run it? -----------------------------------------------------
[ "$(id -u)" = 0 ] || cannot_run "needs root (debootstrap and chroot build the dom0 image)"
missing=()
for t in qemu-system-x86_64 debootstrap mke2fs cpio xz timeout; do command -v $t > /dev/null || missing+=($t); done
[ ${#missing[@]} = 0 ] || cannot_run "missing ${missing[*]} (apt-get install qemu-system-x86 debootstrap e2fsprogs cpio xz-utils)"
mkdir -p "$CACHE" || cannot_run "cannot create $CACHE"
free_mb=$(df -Pm "$CACHE" | awk 'NR == 2 { print $4 }')
[ "$free_mb" -ge 4096 ] || cannot_run "only ${free_mb} MiB free under $CACHE, needs 4096"
mem_mb=$(awk '/MemAvailable/ { print int($2 / 1024) }' /proc/meminfo)
# QEMU's own peak under TCG is about 3 GiB for the 2 GiB machine
[ "$mem_mb" -ge 3584 ] || cannot_run "only ${mem_mb} MiB of memory available, QEMU needs 3584"

# --- images (cached), the build, the payload -------------------------------------
declare -a PHASES
phase_done() { PHASES+=("$(printf '%-22s %6.1f s' "$1" "$2")"); }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

t=$EPOCHREALTIME
say "images: $CACHE"
"$HERE/images.sh" "$CACHE" || cannot_run "building the images failed"
phase_done images "$(since "$t")"

t=$EPOCHREALTIME
say "npm run build"
(cd "$ROOT" && npm run build --silent) || cannot_run "npm run build failed"
phase_done build "$(since "$t")"

RUN=$(mktemp -d "${TMPDIR:-/tmp}/domud-xen-e2e.XXXXXX")
t=$EPOCHREALTIME
"$HERE/payload.sh" "$CACHE" "$RUN" || cannot_run "building the payload failed"
phase_done payload "$(since "$t")"

# --- boot ---------------------------------------------------------------------------------
LOG=$RUN/serial.log
# -cpu max crashes the PV dom0 under TCG; qemu64 works. QEMU's multiboot loader
# boots the hypervisor; "-initrd" carries the dom0 kernel and its initramfs.
QEMU=(qemu-system-x86_64 -machine q35,accel=tcg -cpu qemu64 -smp 2 -m 2048
  -nographic -no-reboot -nic none
  -kernel "$CACHE/boot/xen"
  -append "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M loglvl=all guest_loglvl=all"
  -initrd "$CACHE/boot/vmlinuz console=hvc0 earlyprintk=xen,$CACHE/boot/dom0-initrd.gz"
  -drive "file=$CACHE/rootfs.ext4,if=virtio,format=raw,snapshot=on"
  -drive "file=$RUN/payload.ext4,if=virtio,format=raw")
say "booting Xen under QEMU (TCG), at most ${TIMEOUT}s; serial log: $LOG"

passed=0 failed=0 done_rc= phase= phase_t=
BOOT=$EPOCHREALTIME
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
        "phase "*) phase_to $now "${msg#phase }"; say "phase $phase" ;;
        "ok "*) passed=$((passed + 1)); echo "ok ${msg#ok }" ;;
        "not ok "*) failed=$((failed + 1)); echo "not ok ${msg#not ok }" ;;
        "time "*) read -r _ name ms <<<"$msg"; echo "  time $name: ${ms} ms" ;;
        "done rc="*) done_rc=${msg#done rc=} ;;
      esac ;;
  esac
done < <(timeout --foreground -k 5 "$TIMEOUT" "${QEMU[@]}" < /dev/null 2>&1; echo "QEMU exited rc=$?")
phase_to "$(boot_tenths)" ""
boot_s=$(since "$BOOT")

echo "---- phases ----"
printf '  %s\n' "${PHASES[@]}"
echo "  QEMU start to power-off: ${boot_s} s; whole run: $(elapsed) s"
if [ -z "$done_rc" ]; then
  echo "not ok dom0-finished: dom0 did not finish within ${TIMEOUT}s or crashed; last lines:"
  tail -n 25 "$LOG"
  failed=$((failed + 1))
elif [ "$passed" = 0 ]; then
  echo "not ok dom0-ran-checks: dom0 reported no check"; failed=$((failed + 1))
fi
[ $failed = 0 ] && [ "${DOMUD_XEN_KEEP:-0}" != 1 ] && rm -rf "$RUN" || echo "kept: $RUN (serial.log)"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
