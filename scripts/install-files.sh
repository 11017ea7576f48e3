#!/bin/sh
# Install domud's files where Debian puts them, under a staging directory
# (DESTDIR) as packagers expect; run `npm ci && npm run build` first.
#
#   scripts/install-files.sh --destdir DIR [--prefix /usr] [--sysconfdir /etc]
#                            [--unitdir /lib/systemd/system] [--node node]
#                            [--without-node-modules] [--desktop-destdir DIR]
#
# Layout (prefix /usr):
#   /usr/lib/domud/{package.json,dist/,node_modules/}  the program
#   /usr/sbin/domud, /usr/bin/domuctl                   sh launchers
#   /lib/systemd/system/domud.service                   unit, and its alias
#   /lib/systemd/system/dbus-org.domud.Domud1.service -> domud.service
#   /usr/share/dbus-1/system.d/org.domud.Domud1.conf    bus policy
#   /usr/share/dbus-1/system-services/org.domud.Domud1.service  activation
#   /usr/share/dbus-1/interfaces/org.domud.Domud1.*.xml interface contract
#   /usr/lib/domud/data/dbus -> ../../../share/dbus-1/interfaces  (read at start-up)
#   /usr/share/man/man5/org.domud.Domud1.5              made by the build from the XML
#   /usr/share/polkit-1/actions/org.domud.domud1.policy polkit action
#   /usr/share/doc/domud/install.md
#   /etc/domud/domud.conf                               defaults, commented
#   /etc/grub.d/21_domud_xen                            when data/grub.d has it
#   /usr/lib/domud-desktop/*.js, /usr/bin/domud-desktop the desktop window (GJS),
#   /usr/share/applications/org.domud.Desktop.desktop,  under --desktop-destdir
#   /usr/share/metainfo/org.domud.Desktop.metainfo.xml, when given (the
#   /usr/share/icons/hicolor/scalable/apps/org.domud.Desktop.svg  domud-desktop package)
#
# node_modules is copied as it is (run `npm ci --omit=dev` first for a lean
# package, or --without-node-modules when the packaging provides them);
# dist/ and node_modules/ are skipped with a warning when absent.
set -eu

usage() {
	echo "usage: $0 --destdir DIR [--prefix /usr] [--sysconfdir /etc] [--unitdir /lib/systemd/system] [--node node] [--without-node-modules] [--desktop-destdir DIR]" >&2
	exit 2
}

desktop_destdir= destdir= prefix=/usr sysconfdir=/etc unitdir=/lib/systemd/system node=node trees='dist node_modules'
while [ $# -gt 0 ]; do
	case $1 in
	--destdir|--prefix|--sysconfdir|--unitdir|--node|--desktop-destdir)
		[ $# -ge 2 ] || { echo "install-files: $1 needs a value" >&2; usage; }
		case $1 in
		--destdir) destdir=$2 ;;
		--prefix) prefix=$2 ;;
		--sysconfdir) sysconfdir=$2 ;;
		--unitdir) unitdir=$2 ;;
		--node) node=$2 ;;
		--desktop-destdir) desktop_destdir=$2 ;;
		esac
		shift 2 ;;
	--without-node-modules) trees=dist; shift ;;
	-h|--help) usage ;;
	*) echo "install-files: unknown argument: $1" >&2; usage ;;
	esac
done
[ -n "$destdir" ] || { echo "install-files: --destdir is required" >&2; usage; }
for p in "$prefix" "$sysconfdir" "$unitdir"; do
	case $p in /*) ;; *) echo "install-files: not an absolute path: $p" >&2; exit 2 ;; esac
done
case $node in *[!A-Za-z0-9_./+-]*|'') echo "install-files: bad --node: $node" >&2; exit 2 ;; esac

src=$(cd "$(dirname "$0")/.." && pwd)
libdir=$prefix/lib/domud
datadir=$prefix/share
sbin=$prefix/sbin/domud
d=$destdir

# Paths inside the shipped files are Debian's; rewrite them for another prefix.
paths() {
	sed -e "s|/usr/sbin/domud|$sbin|g" "$1"
}

mkdir -p "$d$libdir"
install -m 0644 "$src/package.json" "$d$libdir/package.json"
for tree in $trees; do
	if [ -d "$src/$tree" ]; then
		rm -rf "${d:?}$libdir/$tree"
		cp -R -P -p "$src/$tree" "$d$libdir/$tree"
	else
		echo "install-files: warning: $src/$tree is missing; not installed" >&2
	fi
done

launcher() { # target, entry point
	mkdir -p "$(dirname "$d$1")"
	printf '#!/bin/sh\nexec %s %s "$@"\n' "$node" "$libdir/$2" >"$d$1"
	chmod 0755 "$d$1"
}
launcher "$sbin" dist/domud.cjs
launcher "$prefix/bin/domuctl" dist/src/cli/domuctl.js

mkdir -p "$d$unitdir"
paths "$src/systemd/domud.service" >"$d$unitdir/domud.service"
chmod 0644 "$d$unitdir/domud.service"
ln -sfn domud.service "$d$unitdir/dbus-org.domud.Domud1.service"

install -D -m 0644 "$src/systemd/org.domud.Domud1.conf" "$d$datadir/dbus-1/system.d/org.domud.Domud1.conf"
mkdir -p "$d$datadir/dbus-1/system-services"
paths "$src/systemd/org.domud.Domud1.service" >"$d$datadir/dbus-1/system-services/org.domud.Domud1.service"
chmod 0644 "$d$datadir/dbus-1/system-services/org.domud.Domud1.service"
install -D -m 0644 "$src/systemd/org.domud.domud1.policy" "$d$datadir/polkit-1/actions/org.domud.domud1.policy"
for xml in "$src"/data/dbus/*.xml; do
	[ -f "$xml" ] || continue
	install -D -m 0644 "$xml" "$d$datadir/dbus-1/interfaces/$(basename "$xml")"
done
# The daemon reads the interfaces from its package (data/dbus) at start-up:
# one copy, where D-Bus tools look for it.
mkdir -p "$d$libdir/data"
ln -sfn ../../../share/dbus-1/interfaces "$d$libdir/data/dbus"
if [ -f "$src/dist/man/org.domud.Domud1.5" ]; then
	install -D -m 0644 "$src/dist/man/org.domud.Domud1.5" "$d$datadir/man/man5/org.domud.Domud1.5"
else
	echo "install-files: warning: dist/man/org.domud.Domud1.5 is missing (npm run build makes it); not installed" >&2
fi
if [ -f "$src/docs/install.md" ]; then
	install -D -m 0644 "$src/docs/install.md" "$d$datadir/doc/domud/install.md"
fi

# An administrator's configuration is never overwritten.
if [ -e "$d$sysconfdir/domud/domud.conf" ]; then
	echo "install-files: $d$sysconfdir/domud/domud.conf exists; left as it is" >&2
else
	install -D -m 0644 "$src/systemd/domud.conf" "$d$sysconfdir/domud/domud.conf"
fi
if [ -f "$src/data/grub.d/21_domud_xen" ]; then
	install -D -m 0755 "$src/data/grub.d/21_domud_xen" "$d$sysconfdir/grub.d/21_domud_xen"
fi

# The desktop window: its own directory (not dist/, which is the daemon's),
# so that it can be a package of its own.
rm -rf "${d:?}$libdir/dist/desktop"
dd=${desktop_destdir:-$d}
if [ -f "$src/dist/desktop/main.js" ]; then
	rm -rf "${dd:?}$prefix/lib/domud-desktop"
	mkdir -p "$dd$prefix/lib/domud-desktop" "$dd$prefix/bin"
	install -m 0644 "$src"/dist/desktop/*.js "$dd$prefix/lib/domud-desktop/"
	sed -e "s|@libdir@|$prefix/lib/domud-desktop|g" "$src/desktop/domud-desktop" >"$dd$prefix/bin/domud-desktop"
	chmod 0755 "$dd$prefix/bin/domud-desktop"
	install -D -m 0644 "$src/desktop/data/org.domud.Desktop.desktop" "$dd$datadir/applications/org.domud.Desktop.desktop"
	install -D -m 0644 "$src/desktop/data/org.domud.Desktop.metainfo.xml" "$dd$datadir/metainfo/org.domud.Desktop.metainfo.xml"
	install -D -m 0644 "$src/desktop/data/org.domud.Desktop.svg" "$dd$datadir/icons/hicolor/scalable/apps/org.domud.Desktop.svg"
else
	echo "install-files: warning: $src/dist/desktop is missing; the desktop window is not installed" >&2
fi
