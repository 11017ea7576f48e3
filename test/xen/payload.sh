#!/usr/bin/env bash
# Makes the payload disk from the current tree: the guest initramfs, the dom0
# test scripts, and domud itself:
#   bookworm  the built domud (dist/, its production node_modules,
#             package.json), the project's D-Bus policy and the machine's own node
#   trixie    the domud and xen-support .debs, which dom0 installs with apt
# It is rebuilt on every run; the cached images are not.
#
# For trixie it also carries a guest image that domud's builder made (with
# the real debootstrap, on this host: dom0 has no network), for the guest that
# dom0 boots from an image through pygrub and reaches over ssh, and room for
# that guest's copy of it.
#
# usage: test/xen/payload.sh SUITE CACHE_DIR OUT_DIR [DEB...]   -> OUT_DIR/payload.ext4
# env:   GUEST_IMAGE="PATH KERNEL"   the image (NAME.img) and the kernel in it
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SUITE=${1:?usage: payload.sh SUITE CACHE_DIR OUT_DIR [DEB...]}
CACHE=${2:?usage: payload.sh SUITE CACHE_DIR OUT_DIR [DEB...]}
OUT=${3:?usage: payload.sh SUITE CACHE_DIR OUT_DIR [DEB...]}
shift 3
die() { echo "payload: $*" >&2; exit 1; }

P=$OUT/payload
rm -rf "$P" && mkdir -p "$P"
install -m 0755 "$HERE/dom0.sh" "$HERE/dom0-lib.sh" "$P/"

carry_tree() {
  [ -f "$ROOT/dist/domud.cjs" ] || die "no dist/domud.cjs: run npm run build"
  mkdir -p "$P/bin" "$P/app"
  install -m 0755 "$(command -v node)" "$P/bin/node"
  # domud as npm would install it: package.json, dist/src, the program
  # dist/domud.cjs (the bundled daemon), the interface XML it reads
  # (data/dbus), production dependencies only.
  cp "$ROOT/package.json" "$P/app/"
  mkdir -p "$P/app/dist" "$P/app/data" && cp -a "$ROOT/dist/src" "$ROOT/dist/domud.cjs" "$P/app/dist/"
  cp -a "$ROOT/data/dbus" "$P/app/data/"
  (cd "$ROOT" && npm ls --omit=dev --all --parseable 2>/dev/null) | while read -r dir; do
    rel=${dir#"$ROOT"/}
    case $rel in node_modules/*) mkdir -p "$P/app/$(dirname "$rel")" && cp -a "$dir" "$P/app/$rel" ;; esac
  done
  [ -d "$P/app/node_modules/dbus-next" ] || die "dbus-next is not installed: run npm ci"
  # The project's own bus policy; without it the test says so and fails.
  local policy=$ROOT/systemd/org.domud.Domud1.conf
  [ -f "$policy" ] && cp "$policy" "$P/"
  return 0
}
# dom0.sh reads how domud comes to this dom0
if [ "$SUITE" = trixie ]; then
  [ $# -gt 0 ] || die "trixie needs the .debs"
  echo DOMUD_FROM=package > "$P/suite"
  mkdir "$P/debs" && cp "$@" "$P/debs/"
  read -r image kernel <<<"${GUEST_IMAGE:-}"
  [ -f "${image:-}" ] || die "trixie needs GUEST_IMAGE (test/xen/guest-image.mjs)"
  # domud's image and disk directories in dom0 are bind-mounted from here
  mkdir "$P/images" "$P/disks"
  cp --sparse=always "$image" "$P/images/"
  printf '%s %s\n' "$(basename "$image" .img)" "$kernel" > "$P/guest-image"
  # the guest's copy: as much again as the image holds
  room=$(($(du -sm "$image" | cut -f1) + 256))
else
  echo DOMUD_FROM=tree > "$P/suite"
  carry_tree
fi

# The guest's initramfs: busybox, netfront, and our /init.
G=$OUT/guest-initrd
rm -rf "$G" && mkdir -p "$G"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev}
cp "$CACHE/guest/busybox" "$G/bin/busybox"
cp "$CACHE/guest/xen-netfront.ko" "$G/"
install -m 0755 "$HERE/guest-init" "$G/init"
(cd "$G" && find . | cpio -o -H newc --quiet | gzip -6) > "$P/guest-initrd.gz"
rm -rf "$G"

size=$(($(du -sm "$P" | cut -f1) * 12 / 10 + 32 + ${room:-0}))
rm -f "$OUT/payload.ext4"
mke2fs -q -t ext4 -L e2e -d "$P" "$OUT/payload.ext4" "${size}M"
rm -rf "$P"
echo "payload: ${size} MiB"
