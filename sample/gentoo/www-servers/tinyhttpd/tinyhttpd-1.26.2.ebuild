# Copyright 2026 binfarm authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit tinyc

DESCRIPTION="Sample tree: a tiny web server"
HOMEPAGE="https://example.com/binfarm/sample"

LICENSE="BSD-2"
SLOT="0"
KEYWORDS="amd64 arm64"
IUSE="http2 +pcre ssl"

DEPEND="
	sys-libs/tinyz:=
	pcre? ( dev-libs/tinypcre:= )
	ssl? ( dev-libs/tinyssl:0= )
"
RDEPEND="${DEPEND}"

src_compile() {
	tinyc_src_compile SSL=$(usex ssl 1 0) PCRE=$(usex pcre 1 0) \
		HTTP2=$(usex http2 1 0)
}

src_install() {
	dobin tinyhttpd
	insinto /etc/tinyhttpd
	doins "${FILESDIR}"/tinyhttpd.conf
	dodoc README
}
