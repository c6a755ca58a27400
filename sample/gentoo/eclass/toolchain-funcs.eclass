# Copyright 2026 binfarm authors
# Distributed under the terms of the GNU General Public License v2

# @ECLASS: toolchain-funcs.eclass
# @MAINTAINER:
# binfarm sample tree
# @SUPPORTED_EAPIS: 7 8
# @BLURB: the part of ::gentoo's toolchain-funcs.eclass the sample tree uses
# @DESCRIPTION:
# tc-getCC and tc-getAR as in ::gentoo: the CC or AR variable when set,
# else the CHOST-prefixed tool, else the plain one (so that the sample
# builds on a machine whose compiler is not called ${CHOST}-gcc).

if [[ -z ${_TOOLCHAIN_FUNCS_ECLASS} ]]; then
_TOOLCHAIN_FUNCS_ECLASS=1

# @FUNCTION: _tc-getPROG
# @USAGE: <variable> <fallback program>
# @INTERNAL
_tc-getPROG() {
	local var=$1 prog=$2
	if [[ -n ${!var} ]]; then
		echo "${!var}"
	elif [[ -n ${CHOST} ]] && type -P "${CHOST}-${prog}" >/dev/null; then
		echo "${CHOST}-${prog}"
	else
		echo "${3:-${prog}}"
	fi
}

# @FUNCTION: tc-getCC
# @DESCRIPTION: the C compiler
tc-getCC() { _tc-getPROG CC gcc cc; }

# @FUNCTION: tc-getAR
# @DESCRIPTION: the archiver
tc-getAR() { _tc-getPROG AR ar; }

fi
