#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# md5-cache.sh REPO [MASTER...]
#
# Writes REPO/metadata/md5-cache as Portage's egencache does, for machines
# without Portage (the sample tree, the tests).  Each ebuild is sourced in
# a subshell the way Portage's ebuild.sh sources it in the "depend" phase:
#
#  - inherit() looks eclasses up in REPO/eclass, then in each MASTER/eclass
#    (the repository's own eclasses override its masters', as
#    PORTAGE_ECLASS_LOCATIONS orders them), and accumulates the eclasses'
#    IUSE, REQUIRED_USE, DEPEND, RDEPEND, PDEPEND, BDEPEND and IDEPEND into
#    E_* variables that are appended to the ebuild's after sourcing;
#    EXPORT_FUNCTIONS defines the phase functions;
#  - INHERITED lists every eclass inherited, INHERIT those the ebuild
#    inherits itself (PORTAGE_EXPLICIT_INHERIT);
#  - DEFINED_PHASES lists the phase functions defined, in Portage's
#    order, or "-" when there are none;
#  - every value is written as "$(echo ${VAR})" with globbing off, which
#    collapses white space.
#
# The entry (lib/portage/cache/flat_hash.py md5_database) holds one
# KEY=value line per non-empty key, keys sorted, with INHERITED replaced
# by _eclasses_ (name<TAB>md5 pairs, sorted by name: serialize_eclasses
# with paths=False) and _md5_, the md5 of the ebuild file.  Only EAPI 8
# (and 7) metadata rules are implemented; anything else is an error.

set -u

die() { echo "md5-cache.sh: $*" >&2; exit 1; }

test $# -ge 1 || die "usage: md5-cache.sh REPO [MASTER...]"
repo=$(cd "$1" && pwd) || die "no repository '$1'"
shift
eclassdirs=("$repo/eclass")
for m in "$@"; do
	eclassdirs+=("$(cd "$m" && pwd)/eclass") || die "no master '$m'"
done

md5() { md5sum "$1" | cut -d' ' -f1; }

# gen_entry CATEGORY PF EBUILD: prints the md5-cache entry on stdout.
gen_entry() (
	set +u
	CATEGORY=$1 PF=$2
	EBUILD=$3
	PN=${PF%-r[0-9]*}
	PR=${PF#"$PN"}
	PR=${PR#-}
	PR=${PR:-r0}
	PN=$(printf '%s\n' "$PN" | sed -E 's/-[0-9][^-]*$//')
	P=${PF%-r[0-9]*}
	PV=${P#"$PN"-}
	PVR=${PF#"$PN"-}
	export CATEGORY PF PN PV PR P PVR
	unset EAPI DEPEND RDEPEND PDEPEND BDEPEND IDEPEND PROPERTIES RESTRICT
	unset INHERITED IUSE REQUIRED_USE ECLASS E_IUSE E_REQUIRED_USE
	unset E_DEPEND E_RDEPEND E_PDEPEND E_BDEPEND E_IDEPEND E_PROPERTIES
	unset E_RESTRICT PORTAGE_EXPLICIT_INHERIT SLOT KEYWORDS LICENSE
	unset DESCRIPTION HOMEPAGE SRC_URI DEFINED_PHASES INHERIT
	ECLASS_DEPTH=0

	die() { echo "md5-cache.sh: $CATEGORY/$PF: $*" >&2; exit 1; }

	EXPORT_FUNCTIONS() {
		[[ -n ${ECLASS} ]] || die "EXPORT_FUNCTIONS without a defined ECLASS"
		eval "${__export_funcs_var}+=\" \$*\""
	}

	inherit() {
		((++ECLASS_DEPTH))
		local -x ECLASS
		local location d x __export_funcs_var
		local B_IUSE B_REQUIRED_USE B_DEPEND B_RDEPEND B_PDEPEND
		local B_BDEPEND B_IDEPEND B_PROPERTIES B_RESTRICT
		while [[ -n ${1} ]]; do
			ECLASS=${1##*/}
			__export_funcs_var=__export_functions_${ECLASS_DEPTH}
			unset "${__export_funcs_var}"
			location=
			for d in "${eclassdirs[@]}"; do
				if [[ -f ${d}/${ECLASS}.eclass ]]; then
					location=${d}/${ECLASS}.eclass
					break
				fi
			done
			[[ -n ${location} ]] || die "${1}.eclass could not be found by inherit()"
			set -f
			unset B_IUSE B_REQUIRED_USE B_DEPEND B_RDEPEND B_PDEPEND
			unset B_BDEPEND B_IDEPEND B_PROPERTIES B_RESTRICT
			[[ -v IUSE ]] && B_IUSE=${IUSE}
			[[ -v REQUIRED_USE ]] && B_REQUIRED_USE=${REQUIRED_USE}
			[[ -v DEPEND ]] && B_DEPEND=${DEPEND}
			[[ -v RDEPEND ]] && B_RDEPEND=${RDEPEND}
			[[ -v PDEPEND ]] && B_PDEPEND=${PDEPEND}
			[[ -v BDEPEND ]] && B_BDEPEND=${BDEPEND}
			[[ -v IDEPEND ]] && B_IDEPEND=${IDEPEND}
			[[ -v PROPERTIES ]] && B_PROPERTIES=${PROPERTIES}
			[[ -v RESTRICT ]] && B_RESTRICT=${RESTRICT}
			unset IUSE REQUIRED_USE DEPEND RDEPEND PDEPEND BDEPEND IDEPEND
			unset PROPERTIES RESTRICT
			set +f
			source "${location}" || die "died sourcing ${location} in inherit()"
			set -f
			[[ -v IUSE ]] && E_IUSE+="${E_IUSE:+ }${IUSE}"
			[[ -v REQUIRED_USE ]] && E_REQUIRED_USE+="${E_REQUIRED_USE:+ }${REQUIRED_USE}"
			[[ -v DEPEND ]] && E_DEPEND+="${E_DEPEND:+ }${DEPEND}"
			[[ -v RDEPEND ]] && E_RDEPEND+="${E_RDEPEND:+ }${RDEPEND}"
			[[ -v PDEPEND ]] && E_PDEPEND+="${E_PDEPEND:+ }${PDEPEND}"
			[[ -v BDEPEND ]] && E_BDEPEND+="${E_BDEPEND:+ }${BDEPEND}"
			[[ -v IDEPEND ]] && E_IDEPEND+="${E_IDEPEND:+ }${IDEPEND}"
			[[ -v PROPERTIES ]] && E_PROPERTIES+=${E_PROPERTIES:+ }${PROPERTIES}
			[[ -v RESTRICT ]] && E_RESTRICT+=${E_RESTRICT:+ }${RESTRICT}
			for x in IUSE REQUIRED_USE DEPEND RDEPEND PDEPEND BDEPEND \
			    IDEPEND PROPERTIES RESTRICT; do
				local b=B_${x}
				if [[ -v ${b} ]]; then
					eval "${x}=\${${b}}"
				else
					unset "${x}"
				fi
			done
			set +f
			if [[ -n ${!__export_funcs_var} ]]; then
				for x in ${!__export_funcs_var}; do
					declare -F "${ECLASS}_${x}" >/dev/null ||
					    die "EXPORT_FUNCTIONS: ${ECLASS}_${x} is not defined"
					eval "$x() { ${ECLASS}_${x} \"\$@\" ; }"
				done
			fi
			unset "${__export_funcs_var}"
			[[ " ${INHERITED} " == *" $1 "* ]] || INHERITED+=" $1"
			[[ ${ECLASS_DEPTH} -eq 1 ]] &&
			    PORTAGE_EXPLICIT_INHERIT+=" $1"
			shift
		done
		((--ECLASS_DEPTH))
		return 0
	}

	source "$EBUILD" || die "error sourcing ebuild"
	case ${EAPI-0} in
	7|8) ;;
	*) die "EAPI '${EAPI-0}' is not supported by md5-cache.sh" ;;
	esac
	IUSE+="${IUSE:+ }${E_IUSE}"
	DEPEND+="${DEPEND:+ }${E_DEPEND}"
	RDEPEND+="${RDEPEND:+ }${E_RDEPEND}"
	PDEPEND+="${PDEPEND:+ }${E_PDEPEND}"
	BDEPEND+="${BDEPEND:+ }${E_BDEPEND}"
	IDEPEND+="${IDEPEND:+ }${E_IDEPEND}"
	REQUIRED_USE+="${REQUIRED_USE:+ }${E_REQUIRED_USE}"
	PROPERTIES+=${PROPERTIES:+ }${E_PROPERTIES}
	RESTRICT+=${RESTRICT:+ }${E_RESTRICT}
	[[ ${EAPI} == 7 ]] && unset IDEPEND
	DEFINED_PHASES=
	for _f in src_compile pkg_config src_configure pkg_info src_install \
	    pkg_nofetch pkg_postinst pkg_postrm pkg_preinst src_prepare \
	    pkg_prerm pkg_pretend pkg_setup src_test src_unpack; do
		if declare -F "${_f}" >/dev/null; then
			_f=${_f#pkg_}
			DEFINED_PHASES+=" ${_f#src_}"
		fi
	done
	[[ -n ${DEFINED_PHASES} ]] || DEFINED_PHASES=-
	INHERIT=${PORTAGE_EXPLICIT_INHERIT}

	set -f
	for f in BDEPEND DEFINED_PHASES DEPEND DESCRIPTION EAPI HOMEPAGE \
	    IDEPEND INHERIT IUSE KEYWORDS LICENSE PDEPEND PROPERTIES \
	    RDEPEND REQUIRED_USE RESTRICT SLOT SRC_URI; do
		v=$(echo ${!f})
		[[ -n ${v} ]] && printf '%s=%s\n' "${f}" "${v}"
	done
	set +f
	ecl=
	for e in $(printf '%s\n' ${INHERITED} | LC_ALL=C sort -u); do
		for d in "${eclassdirs[@]}"; do
			if [[ -f ${d}/${e}.eclass ]]; then
				ecl+="${ecl:+	}${e}	$(md5 "${d}/${e}.eclass")"
				break
			fi
		done
	done
	[[ -n ${ecl} ]] && printf '_eclasses_=%s\n' "${ecl}"
	printf '_md5_=%s\n' "$(md5 "${EBUILD}")"
)

cache=$repo/metadata/md5-cache
tmp=$repo/metadata/.md5-cache.tmp
rm -rf "$tmp"
mkdir -p "$tmp" || die "cannot create '$tmp'"
n=0
for eb in "$repo"/*/*/*.ebuild; do
	test -f "$eb" || continue
	rel=${eb#"$repo"/}
	cat=${rel%%/*}
	pf=$(basename "$eb" .ebuild)
	mkdir -p "$tmp/$cat" &&
	gen_entry "$cat" "$pf" "$eb" >"$tmp/$cat/$pf" || {
		rm -rf "$tmp"
		die "cannot generate the entry of $cat/$pf"
	}
	n=$((n + 1))
done
rm -rf "$cache"
mv "$tmp" "$cache" || die "cannot move '$tmp' to '$cache'"
echo "$n"
