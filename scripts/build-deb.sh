#!/bin/sh
# Build the domud and xen-support Debian packages from this tree, offline,
# in a scratch copy so that the build leaves nothing behind in the tree.
#
#   scripts/build-deb.sh OUTDIR
#
# Needs `npm ci` to have run (the copy's node_modules provides typescript
# for the build and the production modules for the package) and
# debhelper, dpkg-dev and fakeroot. Prints the paths of the .debs.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
src=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$src/node_modules" ] || { echo "build-deb: $src/node_modules is missing; run npm ci first" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/domud-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
# dpkg-buildpackage writes the .debs next to the source tree: give it a
# directory of its own.
tree=$work/domud
mkdir "$tree"

# The sources as they are in the working tree; build output, caches and git
# stay behind (debian/rules compiles dist/ afresh).
tar -C "$src" \
	--exclude=./.git --exclude=./dist --exclude=./.tap --exclude=./.cache --exclude=./.scratch \
	--exclude=./tmp --exclude=./node_modules/.cache --exclude='./debian/domud' --exclude='./debian/xen-support' --exclude='./debian/.debhelper' \
	--exclude='*.log' -cf - . | tar -C "$tree" -xf -

(cd "$tree" && dpkg-buildpackage -b --no-sign) >"$work/build.log" 2>&1 || {
	cat "$work/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed" >&2
	exit 1
}
for deb in "$work"/*.deb; do
	cp "$deb" "$out/"
	echo "$out/$(basename "$deb")"
done
