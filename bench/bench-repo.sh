#!/bin/sh
# Benchmark: the repository on a 20,000-package profile.  Times
# `binfarm snapshot create` (first cut, then after one more package, when
# the parent's compressed Packages.gz segments are reused) and
# `binfarm promote` (a new channel, then an upgrade of a channel already
# holding 20,000 packages, diff included), plus the bulk add that fills
# the profile.  Target (issue 3): snapshot create and promote < 1 s each.
#
#   BENCH_N=20000            packages
#   BENCH_DIR=...            work directory (packages are kept between runs)
#
# The repository is --unsigned: signing costs three gpg runs per package
# at add time and does not touch snapshot create or promote.
set -eu

: "${BF_BUILD_DIR:=$(pwd)}"
N=${BENCH_N:-20000}
W=${BENCH_DIR:-$BF_BUILD_DIR/bench/work-repo}
BINFARM=$BF_BUILD_DIR/binfarm
test -x "$BINFARM" || { echo "build binfarm first" >&2; exit 2; }

now_ms() { date +%s%3N; }

# gen DIR FIRST LAST: packages FIRST..LAST-1, each its own CPV
gen() {
	d=$1 i=$2 last=$3 t=$W/tmp.$$.$2
	mkdir -p "$t/img/usr/share/doc/x" "$t/info" "$d"
	head -c 2048 /dev/urandom | od -An -tx1 >"$t/img/usr/share/doc/x/README"
	printf '0\n' >"$t/info/SLOT"; printf '8\n' >"$t/info/EAPI"
	printf 'amd64\n' >"$t/info/KEYWORDS"; printf 'GPL-2\n' >"$t/info/LICENSE"
	printf 'x86_64-pc-linux-gnu\n' >"$t/info/CHOST"; printf 'gentoo\n' >"$t/info/repository"
	while test "$i" -lt "$last"; do
		printf 'cat-%d\n' $((i % 100)) >"$t/info/CATEGORY"
		printf 'pkg%d-1.%d\n' "$i" $((i % 7)) >"$t/info/PF"
		printf '%s\n' $((1700000000 + i)) >"$t/info/BUILD_TIME"
		SOURCE_DATE_EPOCH=1700000000 "$BINFARM" pack -q -T 1 -i "$t/img" \
			-b "$t/info" -o "$d/p$i.gpkg.tar"
		i=$((i + 1))
	done
	rm -rf "$t"
}

P=$W/pkgs
if ! test -f "$P/.complete-$N"; then
	rm -rf "$P"
	echo "generating $N packages in $P ..." >&2
	gen "$P" 0 $((N / 2)) & p=$!
	gen "$P" $((N / 2)) "$N"
	wait $p
	touch "$P/.complete-$N"
fi
rm -rf "$P/extra"
gen "$P/extra" 0 1	# pkg0-1.0 again: a rebuild of one package

R=$W/repo
rm -rf "$R"
"$BINFARM" repo init --unsigned "$R" 2>/dev/null
ls "$P"/p*.gpkg.tar >"$W/list"
t0=$(now_ms); "$BINFARM" add -q -R "$R" -p amd64 --files-from "$W/list" 2>/dev/null; t1=$(now_ms)
ADD=$((t1 - t0))
sync

t0=$(now_ms); S1=$("$BINFARM" snapshot -R "$R" -p amd64 create 2>/dev/null); t1=$(now_ms)
SNAP1=$((t1 - t0))
t0=$(now_ms); "$BINFARM" promote -R "$R" -p amd64 -c production "$S1" >/dev/null 2>&1; t1=$(now_ms)
PROM1=$((t1 - t0))
"$BINFARM" add -q -R "$R" -p amd64 "$P/extra/p0.gpkg.tar" 2>/dev/null
t0=$(now_ms); S2=$("$BINFARM" snapshot -R "$R" -p amd64 create 2>/dev/null); t1=$(now_ms)
SNAP2=$((t1 - t0))
t0=$(now_ms); "$BINFARM" promote -R "$R" -p amd64 -c production "$S2" >"$W/promote.out" 2>&1; t1=$(now_ms)
PROM2=$((t1 - t0))
t0=$(now_ms); "$BINFARM" rollback -R "$R" -p amd64 -c production >/dev/null 2>&1; t1=$(now_ms)
ROLL=$((t1 - t0))
t0=$(now_ms); "$BINFARM" snapshot -R "$R" -p amd64 diff "$S1" "$S2" >/dev/null 2>&1; t1=$(now_ms)
DIFF=$((t1 - t0))
t0=$(now_ms); "$BINFARM" fsck -R "$R" --no-digests >/dev/null 2>&1; t1=$(now_ms)
FSCK=$((t1 - t0))

pk=$(sed -n 's/^PACKAGES: //p' "$R/snapshots/amd64/$S2/Packages")
sz=$(wc -c <"$R/snapshots/amd64/$S2/Packages")
verdict() { if test "$1" -lt 1000; then echo "met"; else echo "NOT met"; fi; }
echo "repository bench: $pk packages in the profile, Packages $sz bytes"
printf '| operation | ms | target < 1000 ms |\n|---|---|---|\n'
printf '| bulk add of %d packages (verify, number, rewrite, stage) | %d | |\n' "$N" "$ADD"
printf '| snapshot create, first (no parent) | %d | %s |\n' "$SNAP1" "$(verdict "$SNAP1")"
printf '| snapshot create, one package changed | %d | %s |\n' "$SNAP2" "$(verdict "$SNAP2")"
printf '| promote to a new channel | %d | %s |\n' "$PROM1" "$(verdict "$PROM1")"
printf '| promote over 20,000 (diff: 1 rebuilt) | %d | %s |\n' "$PROM2" "$(verdict "$PROM2")"
printf '| rollback | %d | |\n' "$ROLL"
printf '| snapshot diff | %d | |\n' "$DIFF"
printf '| fsck --no-digests (2 snapshots) | %d | |\n' "$FSCK"
grep -q "1 rebuilt" "$W/promote.out" || { echo "unexpected promote diff:" >&2; cat "$W/promote.out" >&2; exit 1; }
