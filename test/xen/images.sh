#!/usr/bin/env bash
# Builds (once) the images that boot a real Xen 4.17 hypervisor with a Debian
# PV dom0 under QEMU, from Debian bookworm packages only. They change only when
# this script or dom0-init change, so they are cached; what changes on every run
# (domud itself, the guest's /init) goes on the payload disk instead.
#
# usage: test/xen/images.sh CACHE_DIR      (as root: debootstrap and chroot)
# env:   MIRROR, SECMIRROR   Debian archives (default: the host's apt sources)
#
# CACHE_DIR/ready names the key of a finished build; everything else in it:
#   boot/xen              the hypervisor, gunzipped: QEMU's -kernel boots it (multiboot)
#   boot/vmlinuz          Debian's kernel, the PV dom0
#   boot/dom0-initrd.gz   busybox + virtio/ext4 modules: mounts /dev/vda, runs /sbin/domud-e2e-init
#   rootfs.ext4           bookworm minbase + xl, dbus, busctl, iproute2; /boot/domu-vmlinux (the guest kernel)
#   guest/                busybox and xen-netfront.ko, for the guest initramfs the payload builds
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${1:?usage: images.sh CACHE_DIR}
SUITE=bookworm
XENV=4.17
# Packages the dom0 needs beyond minbase: the toolstack and what vif-route runs
# (net-tools: it calls ifconfig, and no xen package depends on it), a system
# bus, busctl and gdbus (which, unlike busctl, prints the name of an error) for
# the test's client, ping and ps for the checks.
DOM0_PKGS=iproute2,kmod,iputils-ping,procps,net-tools,busybox,dbus,systemd,libglib2.0-bin

key() { cat "$HERE/images.sh" "$HERE/dom0-init" | sha256sum | cut -c1-16; }
KEY=$(key)
if [ -f "$CACHE/ready" ] && [ "$(cat "$CACHE/ready")" = "$KEY" ]; then
  echo "images: cached in $CACHE ($KEY)"; exit 0
fi

die() { echo "images: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
for t in debootstrap mke2fs cpio gzip xz dpkg-deb apt-get chroot; do
  command -v $t >/dev/null || die "missing host tool: $t (apt-get install qemu-system-x86 debootstrap e2fsprogs cpio xz-utils)"
done

# The archive URIs for a suite as the host's apt sources name them (deb822 or
# one-line format), so no mirror is written down here.
archive_of() {
  local suite=$1
  awk -v s="$suite" 'BEGIN { RS = "" } {
      uri = ""; hit = 0
      n = split($0, l, "\n")
      for (i = 1; i <= n; i++) {
        if (l[i] ~ /^URIs:/) { split(l[i], f, " "); uri = f[2] }
        if (l[i] ~ /^Suites:/) { m = split(l[i], f, " "); for (j = 2; j <= m; j++) if (f[j] == s) hit = 1 }
      }
      if (hit && uri != "") { print uri; exit }
    }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed 's/\[[^]]*\]//' |
    awk -v s="$suite" '$1 == "deb" && $3 == s { print $2 }' || true
}
MIRROR=${MIRROR:-$(archive_of $SUITE | awk 'NR == 1')}
SECMIRROR=${SECMIRROR:-$(archive_of $SUITE-security | awk 'NR == 1')}
[ -n "$MIRROR" ] || die "the host's apt sources name no $SUITE archive: set MIRROR"
[ -n "$SECMIRROR" ] || die "the host's apt sources name no $SUITE-security archive: set SECMIRROR"

t0=$SECONDS
step() { echo "images: [$((SECONDS - t0))s] $*"; }
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
rm -f "$CACHE/ready"
W=$CACHE/work
rm -rf "$W" "$CACHE/boot" "$CACHE/guest"
mkdir -p "$W/debs" "$W/x" "$CACHE/boot" "$CACHE/guest"

step "apt-get download: hypervisor, kernel, busybox-static"
apt-cache show xen-hypervisor-$XENV-amd64 >/dev/null 2>&1 || apt-get update -qq
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
KVER=${KPKG#linux-image-}
[ -n "$KVER" ] || die "apt knows no linux-image-amd64"
(cd "$W/debs" && apt-get download -q xen-hypervisor-$XENV-amd64 "$KPKG" busybox-static 2>&1 |
  grep -v 'Download is performed unsandboxed' || true)
HVVER=$(dpkg-deb -f "$W"/debs/xen-hypervisor-$XENV-amd64_*.deb Version)
for d in "$W"/debs/*.deb; do dpkg -x "$d" "$W/x"; done
gunzip -c "$W/x/boot/xen-$XENV-amd64.gz" > "$CACHE/boot/xen"
cp "$W/x/boot/vmlinuz-$KVER" "$CACHE/boot/vmlinuz"
cp "$W/x/bin/busybox" "$CACHE/guest/busybox"
cp "$W/x/lib/modules/$KVER/kernel/drivers/net/xen-netfront.ko" "$CACHE/guest/"
step "hypervisor $HVVER, kernel $KVER"

R=$W/rootfs
step "debootstrap $SUITE minbase"
debootstrap --variant=minbase --include=$DOM0_PKGS $SUITE "$R" "$MIRROR" > "$W/debootstrap.log" 2>&1 ||
  { tail -n 30 "$W/debootstrap.log"; die "debootstrap failed (log: $W/debootstrap.log)"; }

# xl must be the hypervisor's exact version, which lives in -security.
step "xen-utils-$XENV=$HVVER from $SUITE-security"
printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
  "$MIRROR" $SUITE "$MIRROR" $SUITE "$SECMIRROR" $SUITE > "$R/etc/apt/sources.list"
cp /etc/resolv.conf "$R/etc/resolv.conf"
export DEBIAN_FRONTEND=noninteractive
chroot "$R" apt-get -qq update
# Its postinst says "Can't find hypervisor information in sysfs" in a chroot: harmless.
chroot "$R" apt-get -y -qq --no-install-recommends install \
  "xen-utils-$XENV=$HVVER" "xen-utils-common=$HVVER" "xenstore-utils=$HVVER" > "$W/xen-utils.log" 2>&1 ||
  { tail -n 30 "$W/xen-utils.log"; die "installing xen-utils failed"; }
chroot "$R" apt-get -y -qq upgrade > /dev/null 2>&1
chroot "$R" apt-get clean
rm -f "$R/etc/resolv.conf"

# The root is merged-/usr: modules go under /usr/lib (dpkg -x would replace /lib).
step "kernel modules"
rm -rf "$R/usr/lib/modules" && mkdir -p "$R/usr/lib/modules"
cp -a "$W/x/lib/modules/$KVER" "$R/usr/lib/modules/"
(cd "$R/usr/lib/modules/$KVER/kernel" && rm -rf sound drivers/gpu drivers/media drivers/net/wireless \
  drivers/infiniband drivers/staging drivers/iio drivers/bluetooth net/bluetooth net/wireless net/mac80211)
chroot "$R" depmod -a "$KVER"

step "dom0 files"
echo dom0 > "$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 dom0\n' > "$R/etc/hosts"
# xenconsoled keeps every guest's console in /var/log/xen/console/guest-NAME.log:
# that is how the test reads the address a guest brought up.
echo 'XENCONSOLED_ARGS="--log=guest --log-dir=/var/log/xen/console"' > "$R/etc/default/xen"
mkdir -p "$R/var/log/xen/console" "$R/e2e"
install -m 0755 "$HERE/dom0-init" "$R/sbin/domud-e2e-init"

# The domain builder xz-unpacks a bzImage slowly under TCG: give guests the ELF
# vmlinux inside it (xl create ~6 s instead of ~11).
step "guest kernel (uncompressed vmlinux)"
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$CACHE/boot/vmlinuz" | head -n 1 | cut -d: -f1)
[ -n "$off" ] || die "no xz stream in $KPKG's vmlinuz"
tail -c +$((off + 1)) "$CACHE/boot/vmlinuz" | xz -dc --single-stream > "$R/boot/domu-vmlinux" 2>/dev/null || true
head -c 4 "$R/boot/domu-vmlinux" | grep -q ELF || die "could not unpack the guest vmlinux"

step "dom0 initramfs"
I=$W/initrd
mkdir -p "$I"/{bin,proc,sys,dev,root,mods}
cp "$W/x/bin/busybox" "$I/bin/busybox"
for m in virtio_pci virtio_blk ext4; do
  chroot "$R" modprobe -S "$KVER" --show-depends $m | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r p; do
  cp "$R$p" "$I/mods/"; basename "$p" >> "$I/mods/order"
done
cat > "$I/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in $(cat /mods/order); do insmod /mods/$m; done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 /dev/vda /root || { echo "DOMUD-E2E: not ok dom0-root cannot mount /dev/vda"; poweroff -f; }
umount /proc /sys; mount --move /dev /root/dev
exec switch_root /root /sbin/domud-e2e-init
EOF
chmod +x "$I/init"
(cd "$I" && find . | cpio -o -H newc --quiet | gzip -9) > "$CACHE/boot/dom0-initrd.gz"

step "rootfs.ext4 (mke2fs -d)"
size=$(($(du -sm "$R" | cut -f1) * 12 / 10 + 256))
rm -f "$CACHE/rootfs.ext4"
mke2fs -q -t ext4 -L dom0 -d "$R" "$CACHE/rootfs.ext4" "${size}M"
printf 'xen-hypervisor %s\nkernel %s\n' "$HVVER" "$KVER" > "$CACHE/versions"
rm -rf "$W"
echo "$KEY" > "$CACHE/ready"
step "done: $(cat "$CACHE/versions" | tr '\n' ' ')"
