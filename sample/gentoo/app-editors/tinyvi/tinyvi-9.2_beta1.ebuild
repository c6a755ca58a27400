# Copyright 2026 binfarm authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit tinyc

DESCRIPTION="Sample tree: a tiny visual editor"
HOMEPAGE="https://example.com/binfarm/sample"

LICENSE="vim"
SLOT="0"
KEYWORDS="~amd64"

src_install() {
	dobin tinyvi
	dodoc README
}
