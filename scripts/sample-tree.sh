#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# sample-tree.sh [--regen] DESTDIR
#
# Makes the sample ebuild repositories shipped in sample/ into git
# repositories: DESTDIR/gentoo (repo_name gentoo) and DESTDIR/company
# (the company overlay, masters = gentoo), each with one commit on branch
# main, and prints their paths, one per line, as NAME=PATH.  The commits
# are reproducible (fixed author, committer and dates), so the same
# sample gives the same commit ids.  An existing DESTDIR/gentoo or
# DESTDIR/company is replaced.
#
# The md5-cache shipped in sample/*/metadata/md5-cache is used as it is;
# --regen regenerates it in the copies with scripts/md5-cache.sh first.
#
# Use them with:
#   binfarm plan --profile profiles/web-x86-64-v3 \
#       --tree gentoo=DESTDIR/gentoo@main --tree company=DESTDIR/company@main

set -eu

regen=0
if [ "${1:-}" = "--regen" ]; then
	regen=1
	shift
fi
if [ $# -ne 1 ]; then
	echo "usage: sample-tree.sh [--regen] DESTDIR" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
dest=$(cd "$1" && pwd)

GIT_AUTHOR_NAME="binfarm sample" GIT_AUTHOR_EMAIL=sample@example.com
GIT_COMMITTER_NAME="binfarm sample" GIT_COMMITTER_EMAIL=sample@example.com
GIT_AUTHOR_DATE='2026-01-15T12:00:00Z' GIT_COMMITTER_DATE='2026-01-15T12:00:00Z'
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
export GIT_AUTHOR_DATE GIT_COMMITTER_DATE

mkrepo() {
	name=$1 src=$2
	shift 2
	rm -rf "${dest:?}/$name"
	cp -R "$src" "$dest/$name"
	if [ "$regen" = 1 ]; then
		bash "$here/scripts/md5-cache.sh" "$dest/$name" "$@" >/dev/null
	fi
	git init -q -b main "$dest/$name"
	git -C "$dest/$name" -c core.autocrlf=false add -A
	git -C "$dest/$name" -c commit.gpgsign=false commit -q \
		-m "binfarm sample tree: $name"
	echo "$name=$dest/$name"
}

mkrepo gentoo "$here/sample/gentoo"
mkrepo company "$here/sample/overlay" "$dest/gentoo"
