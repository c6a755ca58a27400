#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bf-ebuild.sh [build|fetch]: binfarm-worker's "ebuild" build driver, run
# INSIDE the job's disposable build root (binfarm-worker(8), "BUILD ROOT")
# as the only command, with a clean environment (PATH, HOME, TERM, LANG).
#
# "fetch" (in a root of its own that has the network, the distfiles cache
# read-write): step 1, then
#      ebuild REPO/CAT/PN/PF.ebuild fetch
#   which downloads what is missing from GENTOO_MIRRORS / SRC_URI and
#   checks every distfile against the Manifest.
#
# "build" (no network, the distfiles read-only); every command, in order:
#
#   1. /etc/portage from the hw-profile directory (all of it), plus the
#      driver's lines at the end of make.conf; make.profile and repos.conf
#      pointing at the pinned checkouts (git, sync-type = git)
#   2. emaint binhost --fix                 (the farm's packages in PKGDIR)
#   3. emerge --pretend DEPS_OPTS =CAT/PF, where DEPS_OPTS is
#        --usepkg --onlydeps --onlydeps-with-rdeps=n --with-bdeps=n --oneshot
#      (what building CAT/PF needs: its DEPEND and BDEPEND and their
#      run-time dependencies); fails the job, naming them, if any
#      package would be compiled
#   4. emerge DEPS_OPTS =CAT/PF       (binaries only, as 3 showed)
#   5. ebuild REPO/CAT/PN/PF.ebuild clean package   (BINPKG_FORMAT=gpkg)
#   6. the gpkg's metadata and image unpacked into the job directory
#      (build-info/ and image/), which the worker packs and uploads
#
# Its input is /var/lib/binfarm/job/job.vars (shell variables, never
# exported: nothing of the worker reaches Portage or environment.bz2).

set -e
mode=${1:-build}
B=/var/lib/binfarm
J=$B/job
. "$J/job.vars"
# No variable of this script is exported; make sure.
export -n category pf pn repo portage_profile repo_names repo_uris 2>/dev/null || :

say() { printf 'binfarm-worker: %s\n' "$*"; }
# bench/bench-root.sh reads the times ("at" lines).
say "$mode driver starts at $EPOCHREALTIME"
trap 'say "$mode driver ends at $EPOCHREALTIME"' EXIT
for t in emerge ebuild emaint git; do
	if ! command -v $t >/dev/null 2>&1; then
		say "the build root has no '$t' (is the base root a Gentoo stage3, or" \
			"is the Portage layer given?)" >&2
		exit 3
	fi
done

# --- 1. configuration, from the pins only ---------------------------------
rm -rf /etc/portage
mkdir -p /etc/portage/repos.conf
cp -R "$B/profile/." /etc/portage/
rm -f /etc/portage/make.profile
main=
for r in "${repo_names[@]}"; do
	if [ -d "$B/repos/$r/profiles/$portage_profile" ]; then
		main=$r
		break
	fi
done
if [ -z "$main" ]; then
	say "no pinned repository has profiles/$portage_profile" >&2
	exit 3
fi
ln -s "$B/repos/$main/profiles/$portage_profile" /etc/portage/make.profile
rm -rf /etc/portage/repos.conf/*
{
	printf '[DEFAULT]\nmain-repo = %s\n' "$main"
	for i in "${!repo_names[@]}"; do
		printf '\n[%s]\nlocation = %s\nsync-type = git\nsync-uri = %s\nauto-sync = no\n' \
			"${repo_names[$i]}" "$B/repos/${repo_names[$i]}" "${repo_uris[$i]}"
	done
} >/etc/portage/repos.conf/binfarm.conf
cat >>/etc/portage/make.conf <<EOF

# ---- binfarm-worker, ebuild driver (binfarm-worker(8)) ----
PKGDIR="$J/pkgdir"
DISTDIR="$B/distfiles"
PORTAGE_TMPDIR="/var/tmp"
BINPKG_FORMAT="gpkg"
FEATURES="\${FEATURES} binpkg-multi-instance -binpkg-signing -getbinpkg -buildpkg"
CLEAN_DELAY="0"
EMERGE_WARNING_DELAY="0"
EOF
cat /etc/portage/repos.conf/binfarm.conf
mkdir -p "$J/pkgdir" /var/tmp /var/db/pkg /var/cache/edb
ebuild=$B/repos/$repo/$category/$pn/$pf.ebuild

if [ "$mode" = fetch ]; then
	say "ebuild $ebuild fetch"
	ebuild "$ebuild" fetch
	exit 0
fi

# --- 2. the farm's packages, as Portage's bintree wants them ---------------
say "emaint binhost --fix"
emaint binhost --fix

# --- 3. nothing but the target may be compiled -------------------------------
atom="=$category/$pf"
deps_opts=(--usepkg --onlydeps --onlydeps-with-rdeps=n --with-bdeps=n --oneshot)
say "emerge --pretend ${deps_opts[*]} $atom"
if ! emerge --pretend "${deps_opts[@]}" --color=n --nospinner \
	"$atom" >"$J/pretend.out" 2>&1; then
	cat "$J/pretend.out"
	say "emerge cannot resolve the dependencies of $atom" >&2
	exit 5
fi
cat "$J/pretend.out"
compile=$(sed -n 's/^\[ebuild[^]]*\] \([^ ]*\).*/\1/p' "$J/pretend.out" | tr '\n' ' ')
if [ -n "$compile" ]; then
	echo "$compile" >"$J/not-from-farm"
	say "not built by the farm (would be compiled here): $compile" >&2
	exit 4
fi

# --- 4. the dependencies, from the farm's binaries --------------------------
if grep -q '^\[binary' "$J/pretend.out"; then
	say "emerge ${deps_opts[*]} $atom"
	emerge "${deps_opts[@]}" --color=n --nospinner --quiet-build "$atom"
fi

# --- 5. build and package, as Portage does ----------------------------------
say "ebuild $ebuild clean package (at $EPOCHREALTIME)"
ebuild "$ebuild" clean package
say "ebuild clean package done at $EPOCHREALTIME"

# --- 6. the package phase's output, for the worker to pack --------------------
set -- "$J/pkgdir/$category/$pn/$pf"-*.gpkg.tar
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
	say "Portage wrote no single package in $J/pkgdir/$category/$pn ($*)" >&2
	exit 5
fi
say "unpacking $1"
x=$J/unpack
rm -rf "$x" "$J/image" "$J/build-info"
mkdir -p "$x"
tar -xf "$1" -C "$x"
for m in "$x"/*/metadata.tar* "$x"/*/image.tar*; do
	case $m in *.sig) continue ;; esac
	tar -x --numeric-owner -p --xattrs --xattrs-include='*' -f "$m" -C "$x"
done
mv "$x/metadata" "$J/build-info"
[ -d "$x/image" ] || mkdir "$x/image"
mv "$x/image" "$J/image"
rm -rf "$x"
# The farm's build id is the job's: the worker's packer writes it.
rm -f "$J/build-info/BUILD_ID"
say "done"
