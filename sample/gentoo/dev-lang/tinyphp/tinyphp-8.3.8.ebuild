# Copyright 2026 binfarm authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit tinyc

DESCRIPTION="Sample tree: a tiny script interpreter, slotted by minor version"
HOMEPAGE="https://example.com/binfarm/sample"

LICENSE="PHP-3.01"
SLOT="${PV%.*}"
KEYWORDS="amd64 arm64"
IUSE="+cli fpm postgres ssl"
REQUIRED_USE="|| ( cli fpm )"

DEPEND="
	sys-libs/tinyz:=
	postgres? ( dev-db/tinysql:= )
	ssl? ( dev-libs/tinyssl:0= )
"
RDEPEND="${DEPEND}"

src_configure() {
	TINYPHP_SQL=
	if use postgres; then
		local d
		for d in "${ESYSROOT}"/usr/include/tinysql-*; do
			[[ -d ${d} ]] && TINYPHP_SQL=${d##*/tinysql-}
		done
		[[ -n ${TINYPHP_SQL} ]] || die "dev-db/tinysql is not installed"
	fi
}

src_compile() {
	local sqlflags= sqllibs=
	if [[ -n ${TINYPHP_SQL} ]]; then
		sqlflags="-DWITH_SQL -I${ESYSROOT}/usr/include/tinysql-${TINYPHP_SQL}"
		sqllibs="-L${ESYSROOT}/usr/${TINYC_LIBDIR}/tinysql-${TINYPHP_SQL} -ltinysqlclient"
	fi
	tinyc_src_compile SLOT="${SLOT}" SSL=$(usex ssl 1 0) \
		SQLFLAGS="${sqlflags}" SQLLIBS="${sqllibs}" \
		$(usev cli) $(usev fpm)
}

src_install() {
	use cli && dobin tinyphp${SLOT}
	use fpm && dobin tinyphp-fpm${SLOT}
	dodoc README
}
