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

step "publishing: a signed repository, a snapshot, testing, then production"
repo=$out/repo
"$bf" repo init "$repo" >/dev/null
"$bf" -R "$repo" add --profile web-x86-64-v3 \
	$(find "$out/pkgdir" -name '*.gpkg.tar' | sort)
"$bf" -R "$repo" snapshot --profile web-x86-64-v3 create \
	--tree-commit "$(sed -n 's/^gentoo[ =\t]*\([0-9a-f]\{40\}\).*/\1/p' "$out/pin" | head -n 1)" \
	-m "demo" >/dev/null
snap=$("$bf" -R "$repo" snapshot --profile web-x86-64-v3 list | awk 'NF {id=$1} END {print id}')
"$bf" -R "$repo" promote --profile web-x86-64-v3 --channel testing "$snap"
"$bf" -R "$repo" promote --profile web-x86-64-v3 --channel production --from testing
"$bf" -R "$repo" fsck

step "serving it with binfarm-binhost on 127.0.0.1 and fetching as a node would"
"$top/binfarm-binhost" -d -r "$repo" -l 127.0.0.1:0 --port-file "$out/binhost.port" \
	2>"$out/binhost.log" &
bhpid=$!
trap 'kill $bhpid 2>/dev/null' EXIT
n=0
while ! test -s "$out/binhost.port" && test $n -lt 100; do sleep 0.05; n=$((n + 1)); done
url=http://127.0.0.1:$(cat "$out/binhost.port")/production/web-x86-64-v3
mkdir -p "$out/node"
curl -fsS -A "Gentoo Portage" -o "$out/node/Packages" "$url/Packages"
path=$(sed -n 's/^PATH: //p' "$out/node/Packages" | head -n 1)
curl -fsS -o "$out/node/pkg.gpkg.tar" "$url/$path"
echo "    GET $url/Packages: $(grep -c '^CPV:' "$out/node/Packages") packages"
echo "    GET $url/$path: $(wc -c <"$out/node/pkg.gpkg.tar") bytes"
"$bf" verify --keyring "$repo/keys/binfarm.asc" "$out/node/pkg.gpkg.tar"
kill $bhpid
wait $bhpid 2>/dev/null || true
trap - EXIT

cat <<EOF2

Build plans (with reasons: binfarm plan --explain): $out/plan-*.txt
Repository: $repo (binfarm -R $repo snapshot --profile web-x86-64-v3 list)

Done.  To serve it to the fleet:

  binfarm-binhost -r $repo -l :8080

and on each node of hw-profile web-x86-64-v3, in /etc/portage/binrepos.conf:

  [binfarm]
  sync-uri = http://<this host>:8080/production/web-x86-64-v3

after trusting the repository key (http://<this host>:8080/keys/binfarm.asc)
in /etc/portage/gnupg as README.md says; then: emerge --getbinpkg app-misc/hello
EOF2
