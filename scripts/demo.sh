#!/bin/sh
# The README's main command: build binfarm (installing what it needs on
# Debian 12) and run the main job on embedded defaults.
#
# Today the main job is what exists: it compiles two small sample
# packages, packs them as GLEP 78 binary packages into a Portage PKGDIR
# (multi-instance layout), writes the Packages index, verifies every
# package as Portage would, and says where the result is.  Later parts
# (builder, workers, binhost) extend this same command.
#
# usage: scripts/demo.sh [OUTDIR]     (default: ./demo)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=${1:-$top/demo}
step() { printf '==> %s\n' "$*"; }

step "building binfarm"
./scripts/bootstrap.sh
bf=${BF:-$top/binfarm}

rm -rf "$out"
mkdir -p "$out/work" "$out/pkgdir"
# Reproducible unless the caller says otherwise.
: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
export SOURCE_DATE_EPOCH

# make_pkg CATEGORY PN PVR SLOT DESCRIPTION RDEPEND: compile, install into
# an image the way an ebuild's src_install would, write build-info.
make_pkg() {
	cat=$1 pn=$2 pvr=$3 slot=$4 desc=$5 rdep=$6
	pf=$pn-$pvr
	w=$out/work/$pf
	mkdir -p "$w/src" "$w/image/usr/bin" "$w/image/usr/share/doc/$pf" "$w/build-info"
	cat >"$w/src/$pn.c" <<-EOC
	#include <stdio.h>
	int main(void) { puts("$pn $pvr from binfarm"); return 0; }
	EOC
	cc -O2 -pipe -o "$w/image/usr/bin/$pn" "$w/src/$pn.c"
	echo "$desc" >"$w/image/usr/share/doc/$pf/README"
	(
		cd "$w/build-info"
		echo "$cat" >CATEGORY; echo "$pf" >PF; echo "$slot" >SLOT
		echo 8 >EAPI; echo "amd64" >KEYWORDS; echo "MIT" >LICENSE
		echo "$desc" >DESCRIPTION; echo "compile install" >DEFINED_PHASES
		echo "x86_64-pc-linux-gnu" >CHOST; echo "-O2 -pipe" >CFLAGS
		echo "abi_x86_64 amd64 elibc_glibc kernel_linux" >USE
		echo "$rdep" >RDEPEND; echo "binfarm-demo" >repository
		echo "$SOURCE_DATE_EPOCH" >BUILD_TIME
		du -sb "$w/image" | cut -f1 >SIZE
	)
	mkdir -p "$out/pkgdir/$cat/$pn"
	"$bf" pack -q --image "$w/image" --build-info "$w/build-info" \
		--build-id 1 -o "$out/pkgdir/$cat/$pn/$pf-1.gpkg.tar"
	echo "    packed $cat/$pf"
}

step "pinning the sample ebuild tree and company overlay (git, libgit2)"
scripts/sample-tree.sh "$out/trees" >/dev/null
"$bf" tree pin --mirrors "$out/mirrors" -o "$out/pin" gentoo="$out/trees/gentoo@main" \
	company="$out/trees/company@main"
cat "$out/pin" | sed 's/^/    /'

for p in web-x86-64-v2 web-x86-64-v3; do
	step "planning hw-profile $p"
	"$bf" plan --profile "profiles/$p" --pin "$out/pin" --mirrors "$out/mirrors" >"$out/plan-$p.txt"
	sed -n 's/^# \([0-9]* packages.*\)/    \1/p' "$out/plan-$p.txt"
	grep -E '^ *[0-9]+ build' "$out/plan-$p.txt" | awk '{print "    " $1 ". " $3}'
done

step "packing sample packages"
make_pkg dev-libs libdemo 1.2.3 0/1 "Demo library" ""
make_pkg app-misc hello 2.0-r1 0 "Demo program" "dev-libs/libdemo:0/1="

step "verifying packages as Portage would"
find "$out/pkgdir" -name '*.gpkg.tar' | sort | xargs "$bf" verify

step "writing the Packages index"
"$bf" index "$out/pkgdir"

step "checking the index against the packages"
"$bf" index --check "$out/pkgdir"

cat <<EOF2

Build plans (with reasons: binfarm plan --explain): $out/plan-*.txt

Done.  The binary package repository is $out/pkgdir:
$(cd "$out/pkgdir" && find . -type f ! -name '.*' | sort | sed 's|^\./|  |')

A Gentoo node can install from it with, in /etc/portage/binrepos.conf:

  [binfarm-demo]
  sync-uri = file://$out/pkgdir
  verify-signature = false

and then: emerge --getbinpkg app-misc/hello
(The packages are unsigned for now; signing comes with the repository.)
EOF2
