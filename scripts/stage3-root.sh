#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# stage3-root.sh STAGE3_TARBALL DIR: makes DIR a base root for the ebuild
# driver of binfarm-worker (binfarm-worker --base-root [PROFILE=]DIR):
# unpacks a Gentoo stage3 (e.g. stage3-amd64-openrc-*.tar.xz, checked
# against its .DIGESTS or .asc by whoever downloaded it) with numeric
# owners, permissions and extended attributes, as the Gentoo handbook
# does, and checks that it has what the driver runs.  DIR must not exist
# or be empty; it is never written by a job (it is the overlay's lower
# layer).
#
# A stage3 has no git, which Portage needs to record REPO_REVISIONS
# (sync-type = git): install dev-vcs/git into DIR afterwards (for
# instance from the farm's own binary packages:
#   ROOT=DIR emerge --usepkgonly --oneshot dev-vcs/git
# on a Gentoo machine), or give a --layer that has it.
set -eu
tarball=${1:?usage: stage3-root.sh STAGE3_TARBALL DIR}
dir=${2:?usage: stage3-root.sh STAGE3_TARBALL DIR}

[ -f "$tarball" ] || { echo "stage3-root: no file $tarball" >&2; exit 2; }
if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
	echo "stage3-root: $dir is not empty" >&2
	exit 2
fi
mkdir -p "$dir"
tar -xpf "$tarball" --xattrs-include='*.*' --numeric-owner -C "$dir"
missing=
for f in bin/bash usr/bin/emerge usr/bin/ebuild usr/sbin/emaint usr/bin/tar \
	usr/bin/zstd usr/bin/bzip2 etc/passwd; do
	[ -e "$dir/$f" ] || [ -L "$dir/$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	echo "stage3-root: $tarball is not a Gentoo stage3 (no$missing)" >&2
	exit 1
fi
[ -e "$dir/usr/bin/git" ] ||
	echo "stage3-root: warning: no git in $dir: packages will have no REPO_REVISIONS until dev-vcs/git is installed there" >&2
dir=$(cd "$dir" && pwd -P)
echo "stage3-root: base root in $dir (binfarm-worker --base-root $dir)"
