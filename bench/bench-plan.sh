#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-plan.sh: binfarm plan on synthetic md5-cache trees of three sizes
# (the largest about the Gentoo tree's 31,000 ebuilds), with the same
# world set of WORLD atoms, read from git objects; then, when Portage's
# sources are at hand, emerge --pretend --emptytree on the largest tree
# with the same world, and the ratio.
#
# Environment:
#   BF_BUILD_DIR   where the binfarm binary is (default: the source tree)
#   SIZES          package counts (default "4850 9700 19400": ~7.7k, 15.5k
#                  and 31k ebuilds)
#   WORLD          world atoms (default 700, which resolves to about 1,200
#                  packages)
#   RUNS           runs per size, the best is reported (default 5)
#   PORTAGE_REPO   a git repository or directory of Portage's sources
#                  (default /work/.mirror/gentoo+portage/repo when present);
#                  it is cloned into the scratch directory and run from
#                  there, never installed.  PORTAGE=0 skips it.
#   KEEP=1         keep the scratch directory
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${BF_BUILD_DIR:-$here}/binfarm
test -x "$bin" || { echo "bench-plan: build binfarm first ($bin)" >&2; exit 2; }
SIZES=${SIZES:-"4850 9700 19400"}
WORLD=${WORLD:-700}
RUNS=${RUNS:-5}
PORTAGE_REPO=${PORTAGE_REPO:-/work/.mirror/gentoo+portage/repo}
work=$(mktemp -d "${TMPDIR:-/tmp}/binfarm-bench-plan.XXXXXX")
if [ "${KEEP:-0}" != 1 ]; then
	trap 'rm -rf "$work"' EXIT
fi

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }

echo "# binfarm plan benchmark: synthetic md5-cache trees in git, world of $WORLD atoms"
echo "# machine: $(nproc) cores, $(uname -m), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "# s/plan: the whole plan; s/1-atom: the same tree with a world of one"
echo "# atom, which is mostly indexing the md5-cache (best of $RUNS runs each)"
printf "%-8s %-8s %-9s %-9s\n" ebuilds plan s/plan s/1-atom
mkdir -p "$work/prof" "$work/prof1"
printf 'CHOST="x86_64-pc-linux-gnu"\nCFLAGS="-O2 -pipe"\nACCEPT_KEYWORDS="amd64"\n' \
	>"$work/prof/make.conf"
printf '[profile]\nportage-profile = default/linux/amd64\n' >"$work/prof/profile.conf"
cp "$work/prof/make.conf" "$work/prof/profile.conf" "$work/prof1/"
last=
for n in $SIZES; do
	tree=$work/tree-$n
	ebuilds=$(python3 "$here/bench/gen-tree.py" --packages "$n" --out "$tree" \
		--world "$WORLD" --world-file "$work/prof/world")
	"$bin" tree pin --mirrors "$work/mirrors" -o "$work/pin-$n" \
		"gentoo=$tree@main" 2>/dev/null
	head -1 "$work/prof/world" >"$work/prof1/world"
	best=
	best1=
	for _ in $(seq "$RUNS"); do
		t0=$(now)
		"$bin" plan --profile "$work/prof" --pin "$work/pin-$n" \
			--mirrors "$work/mirrors" >"$work/plan-$n"
		t1=$(now)
		"$bin" plan --profile "$work/prof1" --pin "$work/pin-$n" \
			--mirrors "$work/mirrors" >/dev/null
		t2=$(now)
		best=$(min "$(secs "$t0" "$t1")" "$best")
		best1=$(min "$(secs "$t1" "$t2")" "$best1")
	done
	pkgs=$(sed -n 's/^# \([0-9]*\) packages:.*/\1/p' "$work/plan-$n")
	printf "%-8s %-8s %-9s %-9s\n" "$ebuilds" "$pkgs" "$best" "$best1"
	last=$n
	last_time=$best
done

if [ "${PORTAGE:-1}" = 0 ] || [ ! -e "$PORTAGE_REPO" ]; then
	echo "# portage: not run (no Portage sources at '$PORTAGE_REPO'; set PORTAGE_REPO)"
	exit 0
fi
git clone -q "$PORTAGE_REPO" "$work/portage"
git clone -q "$work/tree-$last" "$work/checkout"
cfg=$work/portage-config
mkdir -p "$cfg/etc/portage/sets"
ln -s "$work/checkout/profiles/default/linux/amd64" "$cfg/etc/portage/make.profile"
printf '[DEFAULT]\nmain-repo = gentoo\n[gentoo]\nlocation = %s\n' \
	"$work/checkout" >"$cfg/etc/portage/repos.conf"
printf 'FEATURES="-sandbox -usersandbox"\nACCEPT_KEYWORDS="amd64"\nCFLAGS="-O2 -pipe"\nACCEPT_LICENSE="*"\n' \
	>"$cfg/etc/portage/make.conf"
# A set in the config root rather than @world: ROOT stays "/", where the
# host's own files must not be touched.
cp "$work/prof/world" "$cfg/etc/portage/sets/benchworld"
best=
for _ in 1 2; do
	t0=$(now)
	PORTAGE_CONFIGROOT=$cfg PYTHONPATH=$work/portage/lib \
		python3 "$work/portage/bin/emerge" --pretend --emptytree --quiet \
		@benchworld >"$work/emerge.out" 2>"$work/emerge.err" || {
		echo "# portage: emerge failed, see $work/emerge.err (KEEP=1 keeps it)"
		exit 1
	}
	t1=$(now)
	best=$(min "$(secs "$t0" "$t1")" "$best")
done
sed -n 's/^\[ebuild[^]]*\] \([^ ]*\).*/\1/p' "$work/emerge.out" | sort >"$work/e.cpvs"
grep -v '^#' "$work/plan-$last" | awk '{ print $3 }' | sed 's/::.*//' | sort >"$work/b.cpvs"
if cmp -s "$work/e.cpvs" "$work/b.cpvs"; then
	same="the same $(wc -l <"$work/b.cpvs") packages"
else
	same="DIFFERENT package sets ($(diff "$work/e.cpvs" "$work/b.cpvs" | grep -c '^[<>]') lines differ)"
fi
echo "# portage $(git -C "$work/portage" describe --tags --always 2>/dev/null): emerge --pretend --emptytree on the largest tree (checked out): ${best} s, $same"
awk -v a="$best" -v b="$last_time" 'BEGIN { printf "# ratio emerge / binfarm plan: %.1fx\n", a / b }'
