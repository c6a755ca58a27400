# Copyright 2026 binfarm authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit tinyc

DESCRIPTION="Sample tree: a tiny line input library"
HOMEPAGE="https://example.com/binfarm/sample"

LICENSE="GPL-3"
SLOT="0/8"
KEYWORDS="amd64 arm64"

src_install() {
	insinto /usr/include
	doins tinyreadline.h
	insinto /usr/${TINYC_LIBDIR}
	doins libtinyreadline.a
	dodoc README
}
