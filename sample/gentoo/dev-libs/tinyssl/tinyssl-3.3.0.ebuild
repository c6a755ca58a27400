# Copyright 2026 binfarm authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit tinyc

DESCRIPTION="Sample tree: a tiny message digest library"
HOMEPAGE="https://example.com/binfarm/sample"

LICENSE="Apache-2.0"
SLOT="0/3"
KEYWORDS="amd64 arm64"

DEPEND="sys-libs/tinyz:="
RDEPEND="${DEPEND}"

src_install() {
	insinto /usr/include
	doins tinyssl.h
	insinto /usr/${TINYC_LIBDIR}
	doins libtinyssl.a
	dodoc README
}
