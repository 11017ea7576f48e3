#!/usr/bin/env bash
# Makes the payload disk from the current tree: the built domud (dist/, its
# production node_modules, package.json), the project's D-Bus policy, the
# machine's own node, the guest initramfs and the dom0 test scripts. It is
# rebuilt on every run; the cached images are not.
#
# usage: test/xen/payload.sh CACHE_DIR OUT_DIR     -> OUT_DIR/payload.ext4
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${1:?usage: payload.sh CACHE_DIR OUT_DIR}
OUT=${2:?usage: payload.sh CACHE_DIR OUT_DIR}
die() { echo "payload: $*" >&2; exit 1; }

[ -f "$ROOT/dist/domud.cjs" ] || die "no dist/domud.cjs: run npm run build"
P=$OUT/payload
rm -rf "$P" && mkdir -p "$P/bin" "$P/app"

install -m 0755 "$(command -v node)" "$P/bin/node"
install -m 0755 "$HERE/dom0.sh" "$HERE/dom0-lib.sh" "$P/"

# domud as npm would install it: package.json, dist/src, the program
# dist/domud.cjs (the bundled daemon), the interface XML it reads (data/dbus), production
# dependencies only.
cp "$ROOT/package.json" "$P/app/"
mkdir -p "$P/app/dist" "$P/app/data" && cp -a "$ROOT/dist/src" "$ROOT/dist/domud.cjs" "$P/app/dist/"
cp -a "$ROOT/data/dbus" "$P/app/data/"
(cd "$ROOT" && npm ls --omit=dev --all --parseable 2>/dev/null) | while read -r dir; do
  rel=${dir#"$ROOT"/}
  case $rel in node_modules/*) mkdir -p "$P/app/$(dirname "$rel")" && cp -a "$dir" "$P/app/$rel" ;; esac
done
[ -d "$P/app/node_modules/dbus-next" ] || die "dbus-next is not installed: run npm ci"

# The project's own bus policy; without it the test says so and fails.
policy=$ROOT/systemd/org.domud.Domud1.conf
[ -f "$policy" ] && cp "$policy" "$P/"

# The guest's initramfs: busybox, netfront, and our /init.
G=$OUT/guest-initrd
rm -rf "$G" && mkdir -p "$G"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev}
cp "$CACHE/guest/busybox" "$G/bin/busybox"
cp "$CACHE/guest/xen-netfront.ko" "$G/"
install -m 0755 "$HERE/guest-init" "$G/init"
(cd "$G" && find . | cpio -o -H newc --quiet | gzip -6) > "$P/guest-initrd.gz"
rm -rf "$G"

size=$(($(du -sm "$P" | cut -f1) * 12 / 10 + 32))
rm -f "$OUT/payload.ext4"
mke2fs -q -t ext4 -L e2e -d "$P" "$OUT/payload.ext4" "${size}M"
rm -rf "$P"
echo "payload: ${size} MiB"
