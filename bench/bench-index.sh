#!/bin/sh
# Benchmark: `binfarm index` over N synthetic gpkgs (default 20000), from
# scratch, as a no-op and after adding one package (by a walk, and with
# --add); and, when Portage's
# source and Python are at hand, Portage's own `emaint binhost --fix` on
# the same kind of tree, in the same run.
#
#   BENCH_N=20000            packages for binfarm
#   BENCH_PORTAGE_N=2000     packages for Portage (its cost is linear; set
#                            it to BENCH_N for the full comparison)
#   BENCH_DIR=...            work directory (kept, so re-runs skip setup)
#   PORTAGE_SRC=/work/.mirror/gentoo+portage/repo   bare git repo of Portage
#
# Run by `make bench`.  Prints a table and ratios; record them in
# bench/RESULTS.md.
set -eu

: "${BF_BUILD_DIR:=$(pwd)}"
N=${BENCH_N:-20000}
PN=${BENCH_PORTAGE_N:-2000}
W=${BENCH_DIR:-$BF_BUILD_DIR/bench/work-index}
PORTAGE_SRC=${PORTAGE_SRC:-/work/.mirror/gentoo+portage/repo}
BINFARM=$BF_BUILD_DIR/binfarm
test -x "$BINFARM" || { echo "build binfarm first" >&2; exit 2; }

now_ms() { date +%s%3N; }

# gen DIR FIRST LAST: packages FIRST..LAST-1 as cat-K/pkgI/pkgI-1.V-1.gpkg.tar
gen() {
	d=$1 i=$2 last=$3 t=$W/tmp.$$.$2
	mkdir -p "$t/img/usr/share/doc/x" "$t/info"
	head -c 2048 /dev/urandom | od -An -tx1 >"$t/img/usr/share/doc/x/README"
	printf '0\n' >"$t/info/SLOT"; printf '8\n' >"$t/info/EAPI"
	printf 'amd64\n' >"$t/info/KEYWORDS"; printf 'GPL-2\n' >"$t/info/LICENSE"
	printf 'x86_64-pc-linux-gnu\n' >"$t/info/CHOST"; printf 'gentoo\n' >"$t/info/repository"
	printf 'compile install\n' >"$t/info/DEFINED_PHASES"
	printf '1\n' >"$t/info/BUILD_ID"
	while test "$i" -lt "$last"; do
		c=cat-$((i % 100)) pf=pkg$i-1.$((i % 7))
		printf '%s\n' "$c" >"$t/info/CATEGORY"
		printf '%s\n' "$pf" >"$t/info/PF"
		printf '%s\n' $((1700000000 + i)) >"$t/info/BUILD_TIME"
		printf 'dev-libs/libfoo:0/1= >=sys-libs/zlib-1.2.%d\n' $((i % 13)) >"$t/info/RDEPEND"
		mkdir -p "$d/$c/pkg$i"
		SOURCE_DATE_EPOCH=1700000000 "$BINFARM" pack -q -T 1 -i "$t/img" \
			-b "$t/info" -o "$d/$c/pkg$i/$pf-1.gpkg.tar"
		i=$((i + 1))
	done
	rm -rf "$t"
}

# genpar DIR N: N packages on two processes
genpar() {
	if test -f "$1/.complete-$2"; then return; fi
	rm -rf "$1"; mkdir -p "$1"
	echo "generating $2 packages in $1 ..." >&2
	gen "$1" 0 $(($2 / 2)) & p=$!
	gen "$1" $(($2 / 2)) "$2"
	wait $p
	touch "$1/.complete-$2"
}

mkdir -p "$W"
genpar "$W/pkgs" "$N"
sync

# The same +1 package for both tools.
extra() { gen "$1" 999999 1000000; }

run_binfarm() {
	d=$W/pkgs
	rm -f "$d/Packages" "$d/Packages.gz" "$d/.Packages.gz.idx" "$d/.Packages.dircache"
	rm -rf "$d/cat-99/pkg999999"
	cat "$d"/cat-*/*/*.gpkg.tar >/dev/null	# warm the page cache
	t0=$(now_ms); "$BINFARM" index -q "$d"; t1=$(now_ms)
	BF_SCRATCH=$((t1 - t0))
	t0=$(now_ms); "$BINFARM" index -q "$d"; t1=$(now_ms)
	BF_NOOP=$((t1 - t0))
	extra "$d"
	t0=$(now_ms); "$BINFARM" index -q "$d"; t1=$(now_ms)
	BF_ADD=$((t1 - t0))
	"$BINFARM" index -v "$d" 2>&1 | sed 's/^/  /' >&2
	test "$(grep -c '^CPV: ' "$d/Packages")" = $((N + 1))
	rm -rf "$d/cat-99/pkg999999"
	"$BINFARM" index -q "$d"
	# The same package again, named: no walk.
	extra "$d"
	f=$(echo "$d"/cat-99/pkg999999/*.gpkg.tar)
	t0=$(now_ms); "$BINFARM" index -q --add "$d" "$f"; t1=$(now_ms)
	BF_ADDF=$((t1 - t0))
	"$BINFARM" index -v "$d" 2>&1 | grep -q 'is up to date' ||
		{ echo "--add did not give the bytes of a full re-index" >&2; exit 1; }
	rm -rf "$d/cat-99/pkg999999"
}

run_portage() {
	command -v python3 >/dev/null || return 1
	test -d "$PORTAGE_SRC" || return 1
	src=$W/portage-src
	if ! test -f "$src/.portage_not_installed"; then
		rm -rf "$src"; mkdir -p "$src"
		git -C "$PORTAGE_SRC" archive HEAD .portage_not_installed bin cnf lib |
			tar -x -C "$src" || return 1
	fi
	d=$W/portage-pkgs
	if ! test -f "$d/.complete-$PN"; then
		rm -rf "$d"; mkdir -p "$d"
		# the first PN of the binfarm packages
		(cd "$W/pkgs" && find . -name '*.gpkg.tar' | sort | head -n "$PN" |
			tar -cf - -T -) | tar -xf - -C "$d"
		test "$(find "$d" -name '*.gpkg.tar' | wc -l)" = "$PN" || return 1
		touch "$d/.complete-$PN"
	fi
	rm -f "$d/Packages" "$d/Packages.gz"
	rm -rf "$d/cat-99/pkg999999"
	cfg=$W/portage-cfg
	mkdir -p "$cfg/etc/portage" "$cfg/root"
	printf 'PKGDIR="%s"\nFEATURES="-sandbox -usersandbox -userpriv"\n' "$d" \
		>"$cfg/etc/portage/make.conf"
	emaint() {
		(cd "$src" && PORTAGE_CONFIGROOT=$cfg ROOT=$cfg/root PYTHONPATH=$src/lib \
			python3 bin/emaint binhost --fix >/dev/null 2>&1)
	}
	t0=$(now_ms); emaint; t1=$(now_ms)
	PT_SCRATCH=$((t1 - t0))
	test "$(grep -c '^CPV: ' "$d/Packages")" = "$PN" || return 1
	t0=$(now_ms); emaint; t1=$(now_ms)
	PT_NOOP=$((t1 - t0))
	extra "$d"
	t0=$(now_ms); emaint; t1=$(now_ms)
	PT_ADD=$((t1 - t0))
	rm -rf "$d/cat-99/pkg999999"
	return 0
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) b = 1; printf "%.1f", a / b }'; }
perpkg() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.3f", t / n }'; }

run_binfarm
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sed 1q)"
echo "binfarm index, $N packages:"
echo "  from scratch   $BF_SCRATCH ms   ($(perpkg "$BF_SCRATCH" "$N") ms/pkg)"
echo "  no-op          $BF_NOOP ms"
echo "  add one        $BF_ADD ms"
echo "  add one --add  $BF_ADDF ms"
if run_portage; then
	echo "Portage emaint binhost --fix (git HEAD, CPython $(python3 -c 'import platform; print(platform.python_version())')), $PN packages:"
	echo "  from scratch   $PT_SCRATCH ms   ($(perpkg "$PT_SCRATCH" "$PN") ms/pkg)"
	echo "  no-op          $PT_NOOP ms"
	echo "  add one        $PT_ADD ms"
	echo "ratios (Portage / binfarm):"
	echo "  from scratch, per package   $(ratio "$(perpkg "$PT_SCRATCH" "$PN")" "$(perpkg "$BF_SCRATCH" "$N")")x"
	echo "  add one ($PN vs $N packages)   $(ratio "$PT_ADD" "$BF_ADD")x"
else
	echo "Portage could not be run here; formats.md section 9 measured 5.6 ms/pkg"
	echo "  from scratch ratio vs 5.6 ms/pkg: $(ratio 5.6 "$(perpkg "$BF_SCRATCH" "$N")")x"
fi
