# Fixture ebuild repositories as real git repositories, for the tree and
# plan tests.  Source after test-lib.sh.
#
#   tree_init DIR [NAME]            git repository with profiles/repo_name
#   tree_eclass DIR NAME [TEXT]     eclass/NAME.eclass
#   tree_ebuild DIR CAT/PF [VAR=VALUE...]
#                                   CAT/PN/PF.ebuild with these variables
#                                   (defaults EAPI=8 SLOT=0 KEYWORDS=amd64);
#                                   INHERIT=... lists eclasses
#   tree_egencache DIR              metadata/md5-cache from the ebuilds, as
#                                   egencache writes it (sorted keys,
#                                   _eclasses_ and _md5_)
#   tree_commit DIR [MSG]           egencache, git add -A, commit; prints nothing

GIT_AUTHOR_NAME=binfarm GIT_AUTHOR_EMAIL=t@example.com
GIT_COMMITTER_NAME=binfarm GIT_COMMITTER_EMAIL=t@example.com
GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z'
export GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
export GIT_AUTHOR_DATE GIT_COMMITTER_DATE
BINFARM_MIRRORS=$TRASH_DIRECTORY/mirrors
export BINFARM_MIRRORS
# Sanitizer builds: see t/lsan-libgit2.supp for a leak inside libgit2.
LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$TEST_DIRECTORY/lsan-libgit2.supp"
export LSAN_OPTIONS

tree_init() {
	rm -rf "$1" &&
	git init -q -b main "$1" &&
	mkdir -p "$1/profiles" "$1/eclass" &&
	echo "${2:-$(basename "$1")}" >"$1/profiles/repo_name"
}

tree_eclass() {
	printf '# eclass %s\n%s\n' "$2" "${3:-}" >"$1/eclass/$2.eclass"
}

tree_ebuild() {
	_d=$1 _cpf=$2
	shift 2
	_cat=${_cpf%%/*}
	_pf=${_cpf#*/}
	_pn=$(echo "$_pf" | sed -E 's/-[0-9][^-]*(-r[0-9]+)?$//')
	mkdir -p "$_d/$_cat/$_pn" &&
	{
		echo "EAPI=8"
		echo "SLOT=\"0\""
		echo "KEYWORDS=\"amd64\""
		for _kv in "$@"
		do
			printf '%s="%s"\n' "${_kv%%=*}" "${_kv#*=}"
		done
	} >"$_d/$_cat/$_pn/$_pf.ebuild"
}

tree_egencache() {
	rm -rf "$1/metadata/md5-cache" &&
	for _eb in "$1"/*/*/*.ebuild
	do
		test -f "$_eb" || continue
		_rel=${_eb#"$1"/}
		_cat=${_rel%%/*}
		_pf=$(basename "$_eb" .ebuild)
		mkdir -p "$1/metadata/md5-cache/$_cat" &&
		(
			BDEPEND= DEPEND= RDEPEND= PDEPEND= IDEPEND= IUSE=
			INHERIT= EAPI= SLOT= KEYWORDS= REQUIRED_USE= LICENSE=
			. "$_eb" &&
			for _k in BDEPEND DEPEND EAPI IDEPEND INHERIT IUSE KEYWORDS \
				LICENSE PDEPEND RDEPEND REQUIRED_USE SLOT
			do
				eval "_v=\$$_k"
				test -n "$_v" && printf '%s=%s\n' "$_k" "$_v"
			done
			_ecl=
			for _e in $INHERIT
			do
				_m=$(md5sum <"$1/eclass/$_e.eclass" | cut -d" " -f1)
				_ecl="$_ecl${_ecl:+	}$_e	$_m"
			done
			test -n "$_ecl" && printf '_eclasses_=%s\n' "$_ecl"
			printf '_md5_=%s\n' "$(md5sum <"$_eb" | cut -d" " -f1)"
		) >"$1/metadata/md5-cache/$_cat/$_pf" || return 1
	done
}

tree_commit() {
	tree_egencache "$1" &&
	git -C "$1" add -A &&
	git -C "$1" commit -q --allow-empty -m "${2:-update}"
}

# plan_cpvs FILE: the CPVs of a text plan, in order
plan_cpvs() {
	grep -v '^#' "$1" | grep -v '^       ' | awk '{print $3}' | sed 's/::.*//'
}

# plan_key FILE CPV: the build key of CPV in a text plan
plan_key() {
	grep " $2::" "$1" | sed 's/.* key=\([0-9a-f]*\) .*/\1/'
}
