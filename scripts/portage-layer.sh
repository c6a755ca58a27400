#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# portage-layer.sh TARBALL DIR: makes DIR a "Portage layer" for the ebuild
# driver of binfarm-worker on a host that is not Gentoo (Debian 12): a
# directory laid over the worker's / (binfarm-worker --base-root / --layer
# DIR) that adds real Portage, run from its unmodified source tarball.
# Nothing is installed onto the host's / ; the layer is read-only to jobs
# (the overlay's lower layer).
#
# The layer holds:
#   usr/lib/portage-src/          the unpacked source (its .portage_not_installed
#                                 tells Portage to run from there)
#   usr/local/bin/                emerge ebuild emaint portageq (links),
#                                 python -> python3 (Portage's #! lines say
#                                 "python"), gtar -> tar
#   usr/share/portage/config      -> Portage's cnf/ (sets.conf)
#   etc/passwd etc/group          the host's, plus the portage user and group
#
# The host needs python3, bash, git (REPO_REVISIONS), zstd, bzip2 and
# scanelf (Debian package pax-utils: NEEDED.ELF.2 and REQUIRES).
set -eu
tarball=${1:?usage: portage-layer.sh TARBALL DIR}
dir=${2:?usage: portage-layer.sh TARBALL DIR}

[ -f "$tarball" ] || { echo "portage-layer: no tarball $tarball" >&2; exit 2; }
for t in /usr/bin/python3 bash git zstd bzip2 scanelf; do
	command -v $t >/dev/null 2>&1 ||
		{ echo "portage-layer: $t is not installed on this host" >&2; exit 2; }
done
rm -rf "$dir"
mkdir -p "$dir/usr/lib/portage-src" "$dir/usr/local/bin" \
	"$dir/usr/share/portage" "$dir/etc"
tar -xf "$tarball" -C "$dir/usr/lib/portage-src" --strip-components=1
src=/usr/lib/portage-src
[ -f "$dir$src/.portage_not_installed" ] ||
	{ echo "portage-layer: $tarball is not a Portage source tree" >&2; exit 2; }
for b in emerge ebuild emaint portageq quickpkg; do
	ln -s "$src/bin/$b" "$dir/usr/local/bin/$b"
done
# the system's python3 and tar (not a user's shim: the job's PATH is clean)
py=/usr/bin/python3
[ -x $py ] || py=$(command -v python3)
ln -s "$py" "$dir/usr/local/bin/python"
ln -s /bin/tar "$dir/usr/local/bin/gtar"

# emerge looks for its sets configuration there; run from source, Portage
# takes make.globals from its own tree.  Portage's defaults apply, its
# network-, pid- and ipc-sandbox included (they nest in the job's
# namespaces); sys-apps/sandbox does not exist on Debian, and Portage
# says so and goes on without it.
ln -s "$src/cnf" "$dir/usr/share/portage/config"

cp /etc/passwd "$dir/etc/passwd"
cp /etc/group "$dir/etc/group"
grep -q '^portage:' "$dir/etc/group" ||
	echo 'portage:x:250:' >>"$dir/etc/group"
grep -q '^portage:' "$dir/etc/passwd" ||
	echo 'portage:x:250:250:portage:/var/lib/portage/home:/usr/sbin/nologin' \
		>>"$dir/etc/passwd"
echo "portage-layer: Portage from $(basename "$tarball") in $dir"
