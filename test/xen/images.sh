#!/usr/bin/env bash
# Builds (once) the images that boot a real Xen hypervisor with a Debian PV
# dom0 under QEMU, from one Debian release's packages only:
#   bookworm  Debian 12, Xen 4.17: the run carries domud in (dist/, the host's node)
#   trixie    Debian 13, Xen 4.20: the run installs domud's .debs with apt
# They change only when this script or dom0-init change (and, for trixie, the
# packages' relations), so they are cached; what changes on every run (domud
# itself, the guest's /init) goes on the payload disk instead.
#
# usage: test/xen/images.sh SUITE CACHE_DIR [DEB...]   (as root: debootstrap and chroot)
#        DEB...: for trixie, the domud and xen-support packages the run installs
# env:   MIRROR, SECMIRROR   Debian archives (default: the host's apt sources)
#
# CACHE_DIR/ready names the key of a finished build; everything else in it:
#   boot/xen              the hypervisor, gunzipped: QEMU's -kernel boots it (multiboot)
#   boot/vmlinuz          Debian's kernel, the PV dom0
#   boot/dom0-initrd.gz   busybox + virtio/ext4 modules: mounts /dev/vda, runs /sbin/domud-e2e-init
#   rootfs.ext4           minbase + xl, dbus, busctl, iproute2; /boot/domu-vmlinux (the guest kernel)
#   guest/                busybox and xen-netfront.ko, for the guest initramfs the payload builds
#
# What a trixie dom0 holds before the run installs domud: what makes it a dom0
# is installed, the hypervisor and kernel packages it boots from among them
# (xen-support's dependencies are met as on any host that already runs Xen),
# and so is what domud's packages add (nodejs, polkitd, ...), from Debian's
# archive as apt resolves it from the .debs; the archive's package lists stay,
# so that apt in dom0, which has no network, checks the packages' relations
# against them when it installs the two .debs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=${1:?usage: images.sh SUITE CACHE_DIR [DEB...]}
CACHE=${2:?usage: images.sh SUITE CACHE_DIR [DEB...]}
shift 2
DEBS=("$@")
case $SUITE in
  bookworm) XENV=4.17 ;;
  trixie) XENV=4.20 ;;
  *) echo "images: unknown suite $SUITE (bookworm or trixie)" >&2; exit 2 ;;
esac
# Packages the dom0 needs beyond minbase: the toolstack and what vif-route runs
# (net-tools: it calls ifconfig, and no xen package depends on it), a system
# bus, busctl and gdbus (which, unlike busctl, prints the name of an error) for
# the test's client, ping and ps for the checks.
DOM0_PKGS=iproute2,kmod,iputils-ping,procps,net-tools,busybox,dbus,systemd,libglib2.0-bin
# The trixie dom0 also reaches a guest booted from an image over ssh.
[ "$SUITE" != trixie ] || DOM0_PKGS+=,openssh-client

# The trixie image holds what the packages depend on: their relations are part
# of its key, their contents (rebuilt on every run) are not.
key() {
  { cat "$HERE/images.sh" "$HERE/dom0-init"; echo "$SUITE"
    for d in "${DEBS[@]}"; do dpkg-deb -f "$d" Package Pre-Depends Depends Recommends; done; } | sha256sum | cut -c1-16
}
[ "$SUITE" != trixie ] || [ ${#DEBS[@]} -gt 0 ] || { echo "images: trixie needs the .debs the run installs" >&2; exit 2; }
KEY=$(key)
if [ -f "$CACHE/ready" ] && [ "$(cat "$CACHE/ready")" = "$KEY" ]; then
  echo "images: cached in $CACHE ($KEY)"; exit 0
fi

die() { echo "images: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
for t in debootstrap mke2fs cpio gzip xz zstd dpkg-deb apt-get chroot; do
  command -v $t >/dev/null || die "missing host tool: $t (apt-get install qemu-system-x86 debootstrap e2fsprogs cpio xz-utils zstd)"
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
# The same archive serves every release: a host that names only its own
# (Debian 12 builds the Debian 13 image) lends its archive's URIs.
HOSTSUITE=$(. /etc/os-release && echo "$VERSION_CODENAME")
MIRROR=${MIRROR:-$({ archive_of $SUITE; archive_of "$HOSTSUITE"; } | awk 'NR == 1')}
SECMIRROR=${SECMIRROR:-$({ archive_of $SUITE-security; archive_of "$HOSTSUITE-security"; } | awk 'NR == 1')}
[ -n "$MIRROR" ] || die "the host's apt sources name no Debian archive: set MIRROR"
[ -n "$SECMIRROR" ] || die "the host's apt sources name no Debian security archive: set SECMIRROR"

t0=$SECONDS
step() { echo "images: [$((SECONDS - t0))s] $*"; }
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
rm -f "$CACHE/ready"
W=$CACHE/work
rm -rf "$W" "$CACHE/boot" "$CACHE/guest"
mkdir -p "$W/debs" "$W/x" "$CACHE/boot" "$CACHE/guest"

R=$W/rootfs
step "debootstrap $SUITE minbase"
debootstrap --variant=minbase --include=$DOM0_PKGS $SUITE "$R" "$MIRROR" > "$W/debootstrap.log" 2>&1 ||
  { tail -n 30 "$W/debootstrap.log"; die "debootstrap failed (log: $W/debootstrap.log)"; }

# xl must be the hypervisor's exact version, which may live in -security.
printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
  "$MIRROR" $SUITE "$MIRROR" $SUITE "$SECMIRROR" $SUITE > "$R/etc/apt/sources.list"
cp /etc/resolv.conf "$R/etc/resolv.conf"
export DEBIAN_FRONTEND=noninteractive
chroot "$R" apt-get -qq update

# The chroot's apt, not the host's, knows the suite's packages.
step "apt-get download: hypervisor, kernel, busybox-static"
KPKG=$(chroot "$R" apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
KVER=${KPKG#linux-image-}
[ -n "$KVER" ] || die "$SUITE has no linux-image-amd64"
mkdir -p "$R/tmp/debs"
chroot "$R" sh -c "cd /tmp/debs && apt-get download -q xen-hypervisor-$XENV-amd64 $KPKG busybox-static" 2>&1 |
  grep -v 'Download is performed unsandboxed' || true
mv "$R"/tmp/debs/*.deb "$W/debs/" && rmdir "$R/tmp/debs"
HVVER=$(dpkg-deb -f "$W"/debs/xen-hypervisor-$XENV-amd64_*.deb Version)
for d in "$W"/debs/*.deb; do dpkg -x "$d" "$W/x"; done
gunzip -c "$W/x/boot/xen-$XENV-amd64.gz" > "$CACHE/boot/xen"
cp "$W/x/boot/vmlinuz-$KVER" "$CACHE/boot/vmlinuz"
# Debian 13 moved both under /usr and compresses modules (.ko.xz)
first_of() { for f in "$@"; do [ -e "$f" ] && { echo "$f"; return; }; done; die "none of: $*"; }
unxz_to() { case $1 in *.xz) xz -dc "$1" > "$2" ;; *) cp "$1" "$2" ;; esac; }
cp "$(first_of "$W/x/bin/busybox" "$W/x/usr/bin/busybox")" "$CACHE/guest/busybox"
MODS=$(first_of "$W/x/lib/modules/$KVER" "$W/x/usr/lib/modules/$KVER")
unxz_to "$(first_of "$MODS/kernel/drivers/net/xen-netfront.ko" "$MODS/kernel/drivers/net/xen-netfront.ko.xz")" \
  "$CACHE/guest/xen-netfront.ko"
step "hypervisor $HVVER, kernel $KVER"

step "xen-utils-$XENV=$HVVER"
TOOLS=("xen-utils-$XENV=$HVVER" "xen-utils-common=$HVVER" "xenstore-utils=$HVVER")
# A Debian 13 dom0 has the hypervisor and kernel packages it boots from, as any
# host that runs Xen does (update-initramfs wants /proc).
[ $SUITE = trixie ] && TOOLS+=("xen-hypervisor-$XENV-amd64=$HVVER" "$KPKG" linux-image-amd64)
mount -t proc proc "$R/proc"
trap 'umount "$R/proc" 2> /dev/null || true' EXIT
# Its postinst says "Can't find hypervisor information in sysfs" in a chroot: harmless.
chroot "$R" apt-get -y -qq --no-install-recommends install "${TOOLS[@]}" > "$W/xen-utils.log" 2>&1 ||
  { umount "$R/proc"; tail -n 30 "$W/xen-utils.log"; die "installing ${TOOLS[*]} failed"; }
chroot "$R" apt-get -y -qq upgrade > /dev/null 2>&1
if [ $SUITE = trixie ]; then
  # What the packages bring beyond that (Recommends included), as apt itself
  # resolves it from the .debs against the archive, installed here and marked
  # automatic, as apt in dom0 would leave it: unpacking nodejs, ICU and the
  # rest under QEMU's TCG took some 13 minutes a run, on the host seconds.
  # The packages themselves are not installed here: apt installs them in dom0.
  step "apt-get install what ${DEBS[*]##*/} depend on"
  mkdir -p "$R/tmp/debs" && cp "${DEBS[@]}" "$R/tmp/debs/"
  NAMES=$(for d in "${DEBS[@]}"; do dpkg-deb -f "$d" Package; done)
  chroot "$R" sh -c 'apt-get -s -y install /tmp/debs/*.deb' > "$W/resolve.log" 2>&1 ||
    { tail -n 30 "$W/resolve.log"; die "apt cannot resolve what the packages depend on"; }
  NEEDS=$(awk '$1 == "Inst" { print $2 }' "$W/resolve.log" | grep -vxF "$NAMES" || true)
  if [ -n "$NEEDS" ]; then
    # shellcheck disable=SC2086 # one package name a word
    chroot "$R" apt-get -y -q install $NEEDS > "$W/needs.log" 2>&1 ||
      { umount "$R/proc"; tail -n 30 "$W/needs.log"; die "installing what the packages depend on failed"; }
    # shellcheck disable=SC2086
    chroot "$R" apt-mark auto $NEEDS > /dev/null
  fi
  rm -rf "$R/tmp/debs"
  echo "images:   installed for them: $(echo $NEEDS)"
fi
umount "$R/proc"
chroot "$R" apt-get clean
rm -f "$R/etc/resolv.conf"

# The root is merged-/usr: modules go under /usr/lib (dpkg -x would replace
# /lib). A trixie root has them already, from the kernel package it installed.
if [ $SUITE = bookworm ]; then
  step "kernel modules"
  rm -rf "$R/usr/lib/modules" && mkdir -p "$R/usr/lib/modules"
  cp -a "$MODS" "$R/usr/lib/modules/"
  (cd "$R/usr/lib/modules/$KVER/kernel" && rm -rf sound drivers/gpu drivers/media drivers/net/wireless \
    drivers/infiniband drivers/staging drivers/iio drivers/bluetooth net/bluetooth net/wireless net/mac80211)
  chroot "$R" depmod -a "$KVER"
fi

step "dom0 files"
echo dom0 > "$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 dom0\n' > "$R/etc/hosts"
# xenconsoled keeps every guest's console in /var/log/xen/console/guest-NAME.log:
# that is how the test reads the address a guest brought up.
echo 'XENCONSOLED_ARGS="--log=guest --log-dir=/var/log/xen/console"' > "$R/etc/default/xen"
mkdir -p "$R/var/log/xen/console" "$R/e2e"
install -m 0755 "$HERE/dom0-init" "$R/sbin/domud-e2e-init"

# The domain builder unpacks a bzImage slowly under TCG: give guests the ELF
# vmlinux inside it (xl create ~6 s instead of ~11). Debian 12 packs it with
# xz, Debian 13 with zstd.
step "guest kernel (uncompressed vmlinux)"
for packer in 'xz \xfd7zXZ\x00' 'zstd \x28\xb5\x2f\xfd'; do
  read -r tool magic <<<"$packer"
  off=$(LC_ALL=C grep -m 1 -obUaP "$magic" "$CACHE/boot/vmlinuz" | cut -d: -f1 | head -n 1 || true)
  [ -n "$off" ] || continue
  tail -c +$((off + 1)) "$CACHE/boot/vmlinuz" | $tool -dc > "$R/boot/domu-vmlinux" 2> /dev/null || true
  head -c 4 "$R/boot/domu-vmlinux" | grep -q ELF && break
done
head -c 4 "$R/boot/domu-vmlinux" | grep -q ELF || die "could not unpack the guest vmlinux from $KPKG's vmlinuz (xz or zstd)"

step "dom0 initramfs"
I=$W/initrd
mkdir -p "$I"/{bin,proc,sys,dev,root,mods}
cp "$CACHE/guest/busybox" "$I/bin/busybox"
# busybox's insmod cannot read .ko.xz
for m in virtio_pci virtio_blk ext4; do
  chroot "$R" modprobe -S "$KVER" --show-depends $m | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r p; do
  b=$(basename "$p" .xz); unxz_to "$R$p" "$I/mods/$b"; echo "$b" >> "$I/mods/order"
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
# room for what the trixie run installs (nodejs, domud)
size=$(($(du -sm "$R" | cut -f1) * 12 / 10 + 512))
rm -f "$CACHE/rootfs.ext4"
mke2fs -q -t ext4 -L dom0 -d "$R" "$CACHE/rootfs.ext4" "${size}M"
printf 'xen-hypervisor %s\nkernel %s\n' "$HVVER" "$KVER" > "$CACHE/versions"
rm -rf "$W"
echo "$KEY" > "$CACHE/ready"
step "done: $(cat "$CACHE/versions" | tr '\n' ' ')"
