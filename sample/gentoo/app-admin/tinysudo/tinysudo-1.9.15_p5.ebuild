# Copyright 2026 binfarm authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

inherit tinyc

DESCRIPTION="Sample tree: run a command as root (prints it)"
HOMEPAGE="https://example.com/binfarm/sample"

LICENSE="ISC"
SLOT="0"
KEYWORDS="amd64 arm64"

RDEPEND="virtual/tinyeditor"

src_install() {
	dobin tinysudo
	insinto /etc
	doins "${FILESDIR}"/tinysudoers
	dodoc README
}
