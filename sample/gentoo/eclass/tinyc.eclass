# Copyright 2026 binfarm authors
# Distributed under the terms of the GNU General Public License v2

# @ECLASS: tinyc.eclass
# @MAINTAINER:
# binfarm sample tree
# @SUPPORTED_EAPIS: 8
# @BLURB: build the sample tree's small C packages from sources in FILESDIR
# @DESCRIPTION:
# Packages of the binfarm sample tree carry their C sources in
# ${FILESDIR}/src and have no SRC_URI, so they build offline.  This
# eclass copies the sources into ${S} and runs their Makefile with the
# compiler, archiver and flags Portage sets; headers and static libraries
# of dependencies are found under ${ESYSROOT}.  Ebuilds install with
# dobin, doins and dodoc.

case ${EAPI} in
	8) ;;
	*) die "${ECLASS}: EAPI ${EAPI:-0} not supported" ;;
esac

if [[ -z ${_TINYC_ECLASS} ]]; then
_TINYC_ECLASS=1

inherit toolchain-funcs

# @ECLASS_VARIABLE: TINYC_LIBDIR
# @DESCRIPTION: where the sample libraries are installed, under /usr
: "${TINYC_LIBDIR:=lib64}"

# @FUNCTION: tinyc_src_unpack
# @DESCRIPTION: copies ${FILESDIR}/src into ${S}
tinyc_src_unpack() {
	mkdir -p "${S}" || die
	cp -R "${FILESDIR}/src/." "${S}/" || die
}

# @FUNCTION: tinyc_src_compile
# @USAGE: [make arguments]
# @DESCRIPTION: runs make with the toolchain and the package's version
tinyc_src_compile() {
	emake CC="$(tc-getCC)" AR="$(tc-getAR)" CFLAGS="${CFLAGS}" \
		CPPFLAGS="${CPPFLAGS} -I${ESYSROOT}/usr/include" \
		LDFLAGS="${LDFLAGS} -L${ESYSROOT}/usr/${TINYC_LIBDIR}" \
		VERSION="${PV}" "$@"
}

fi

EXPORT_FUNCTIONS src_unpack src_compile
