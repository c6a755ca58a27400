# Copyright 2026 binfarm authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit tinyc

DESCRIPTION="Sample tree: a tiny pattern matching library"
HOMEPAGE="https://example.com/binfarm/sample"

LICENSE="BSD"
SLOT="0/3"
KEYWORDS="amd64 arm64"
IUSE="+jit"

src_compile() {
	tinyc_src_compile JIT=$(usex jit 1 0)
}

src_install() {
	insinto /usr/include
	doins tinypcre.h
	insinto /usr/${TINYC_LIBDIR}
	doins libtinypcre.a
	dodoc README
}
