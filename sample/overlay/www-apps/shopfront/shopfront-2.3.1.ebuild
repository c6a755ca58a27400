# Copyright 2026 Example Web Shop Ltd.
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit tinyc company-webapp

DESCRIPTION="The company's web shop: PHP pages and a signing helper"
HOMEPAGE="https://git.example.com/web/shopfront"

LICENSE="Example-Proprietary"
SLOT="0"
KEYWORDS="amd64"
IUSE="+postgres"
RESTRICT="bindist mirror"

DEPEND="
	dev-db/tinysql:16=
	dev-libs/tinyssl:0=
	sys-libs/tinyz
"
RDEPEND="
	${DEPEND}
	dev-lang/tinyphp:8.3[fpm,postgres?]
	app-admin/tinysudo
"

src_compile() {
	tinyc_src_compile \
		SQLFLAGS="-I${ESYSROOT}/usr/include/tinysql-16" \
		SQLLIBS="-L${ESYSROOT}/usr/${TINYC_LIBDIR}/tinysql-16 -ltinysqlclient"
}

src_install() {
	dobin shopfront-ctl
	company-webapp_install_htdocs "${FILESDIR}"/htdocs/index.php
	dodoc README
}
