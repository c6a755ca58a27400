# Copyright 2026 binfarm authors
# Distributed under the terms of the GNU General Public License v2

EAPI=8

DESCRIPTION="Sample tree: virtual for a text editor"

SLOT="0"
KEYWORDS="amd64 arm64"

RDEPEND="|| (
	app-editors/tinyedit
	app-editors/tinyvi
)"
