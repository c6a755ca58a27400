# Copyright 2026 binfarm authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit tinyc

DESCRIPTION="Sample tree: a tiny line editor"
HOMEPAGE="https://example.com/binfarm/sample"

LICENSE="GPL-3"
SLOT="0"
KEYWORDS="amd64 arm64"

DEPEND="sys-libs/tinyreadline:="
RDEPEND="${DEPEND}"

src_install() {
	dobin tinyedit
	dodoc README
}
