# Copyright 2026 binfarm authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit tinyc

DESCRIPTION="Sample tree: a tiny SQL database, slotted by major version"
HOMEPAGE="https://example.com/binfarm/sample"

LICENSE="POSTGRESQL"
SLOT="${PV%%.*}"
KEYWORDS="amd64 arm64"
IUSE="+readline ssl"

DEPEND="
	sys-libs/tinyz:=
	readline? ( sys-libs/tinyreadline:0= )
	ssl? ( dev-libs/tinyssl:0= )
"
RDEPEND="${DEPEND}"

src_compile() {
	tinyc_src_compile SLOT="${SLOT}" READLINE=$(usex readline 1 0) \
		SSL=$(usex ssl 1 0)
}

src_install() {
	dobin tinysql${SLOT}
	insinto /usr/include/tinysql-${SLOT}
	doins tinysql.h
	insinto /usr/${TINYC_LIBDIR}/tinysql-${SLOT}
	doins libtinysqlclient.a
	dodoc README
}
