#!/bin/sh
# Installs what binfarm needs to build (Debian 12, as root), then
# configures and builds it in the source tree.  Extra arguments go to
# ./configure.  Quiet unless something fails.
set -eu
cd "$(dirname "$0")/.."

DEBS="build-essential autoconf automake pkg-config libarchive-dev libzstd-dev
libgit2-dev libmicrohttpd-dev libssl-dev zlib1g-dev zstd bzip2 xz-utils
mandoc git python3 curl gnupg attr openssl pax-utils"
DEBS="$DEBS libgpgme-dev libjansson-dev libsqlite3-dev sqlite3 libcurl4-openssl-dev"
DEBS="$DEBS libsodium-dev"

missing=
for p in $DEBS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "bootstrap: missing Debian packages:$missing" >&2
		echo "bootstrap: run as root, or: apt-get install$missing" >&2
		exit 2
	fi
	echo "bootstrap: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ ! -f build-aux/tap-driver.sh ]; then
	echo "bootstrap: autoreconf"
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
if [ ! -f Makefile ] || [ -n "$*" ] || [ configure -nt config.status ]; then
	echo "bootstrap: configure $*"
	./configure -q "$@"
fi
echo "bootstrap: make"
make -s -j"$(nproc)" >/dev/null
