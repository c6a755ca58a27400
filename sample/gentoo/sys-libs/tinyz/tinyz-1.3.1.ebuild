# Copyright 2026 binfarm authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit tinyc

DESCRIPTION="Sample tree: a tiny checksum and run-length coding library"
HOMEPAGE="https://example.com/binfarm/sample"

LICENSE="ZLIB"
SLOT="0/1"
KEYWORDS="amd64 arm64"

src_install() {
	insinto /usr/include
	doins tinyz.h
	insinto /usr/${TINYC_LIBDIR}
	doins libtinyz.a
	dodoc README
}
