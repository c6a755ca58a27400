#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bf-sandbox.sh JOBDIR: binfarm-worker's "sandbox" build driver.
#
# SCAFFOLDING, NOT PORTAGE.  It runs a small, documented subset of the
# ebuild phases so that the farm can be demonstrated and tested on a
# machine without Portage.  Production builds use the "ebuild" driver.
#
# Supported (see binfarm-worker(8)):
#   phases   src_unpack src_prepare src_configure src_compile src_install
#            and their defaults (default, default_src_*); pkg_* phases
#            are recorded in DEFINED_PHASES but not run
#   helpers  inherit EXPORT_FUNCTIONS die use usex use_enable use_with
#            usev emake econf dobin insinto doins dodoc einfo ewarn
#            eapply eapply_user has
#   vars     CATEGORY P PN PV PR PVR PF SLOT FILESDIR WORKDIR S T D ED
#            ESYSROOT SYSROOT EPREFIX CHOST CBUILD CFLAGS CXXFLAGS
#            LDFLAGS MAKEOPTS FEATURES DISTCC_HOSTS
# Dependencies (the packages this one is built after) are unpacked
# into ${ESYSROOT}.  Output: JOBDIR/image (${D}, stripped as Portage's
# estrip strips) and JOBDIR/build-info with the files real Portage's
# `ebuild FILE install` writes, the same values but BUILD_TIME,
# environment.bz2 and Portage's make.globals FEATURES (t5102 compares).

JOBDIR=${1:?usage: bf-sandbox.sh JOBDIR}
cd "$JOBDIR" || exit 2
. ./env.sh || exit 2
# No "set -u": ebuilds and eclasses test unset variables freely
# ([[ -z ${_FOO_ECLASS} ]]), as Portage's bash lets them.

die() { echo "die: $*" >&2; exit 1; }
einfo() { echo " * $*"; }
ewarn() { echo " * WARNING: $*" >&2; }
has() { local x=$1; shift; local y; for y; do [[ $x == "$y" ]] && return 0; done; return 1; }
use() {
	local f=$1 neg=0
	[[ $f == !* ]] && { neg=1; f=${f#!}; }
	if has "$f" $BF_USE; then return $neg; else return $((1 - neg)); fi
}
usev() { if use "$1"; then echo "${2-${1#!}}"; fi; }
usex() { if use "$1"; then echo "${2-yes}"; else echo "${3-no}"; fi; }
use_enable() { if use "$1"; then echo "--enable-${2:-$1}"; else echo "--disable-${2:-$1}"; fi; }
use_with() { if use "$1"; then echo "--with-${2:-$1}"; else echo "--without-${2:-$1}"; fi; }
emake() {
	echo ">>> make ${MAKEOPTS} $*"
	if has distcc $FEATURES && [[ -n ${DISTCC_HOSTS} ]]; then
		export DISTCC_HOSTS
	fi
	make ${MAKEOPTS} "$@" || die "emake failed"
}
econf() {
	[[ -x ${ECONF_SOURCE:-.}/configure ]] || die "econf: no configure script"
	"${ECONF_SOURCE:-.}"/configure --prefix="${EPREFIX}/usr" --host="${CHOST}" \
		--build="${CBUILD}" --sysconfdir=/etc --localstatedir=/var "$@" ||
		die "econf failed"
}
eapply() { local p; for p; do patch -p1 -i "$p" || die "eapply $p failed"; done; }
eapply_user() { :; }
_INSDESTTREE=/usr
insinto() { _INSDESTTREE=$1; }
doins() {
	local f
	mkdir -p "${ED}${_INSDESTTREE}" || die
	for f; do
		[[ $f == -r ]] && continue
		cp -pR "$f" "${ED}${_INSDESTTREE}/" || die "doins $f failed"
		chmod -R u+w,go+r "${ED}${_INSDESTTREE}/${f##*/}" 2>/dev/null
	done
}
dobin() {
	local f
	mkdir -p "${ED}/usr/bin" || die
	for f; do install -m 0755 "$f" "${ED}/usr/bin/" || die "dobin $f failed"; done
}
dodoc() {
	local f
	mkdir -p "${ED}/usr/share/doc/${PF}" || die
	for f; do install -m 0644 "$f" "${ED}/usr/share/doc/${PF}/" || die "dodoc $f failed"; done
}

INHERITED=
_ECLASS_STACK=()
inherit() {
	local e d found
	for e; do
		found=
		for d in $BF_ECLASSDIRS; do
			[[ -f $d/$e.eclass ]] && found=$d/$e.eclass
		done
		[[ -n $found ]] || die "inherit: no eclass $e"
		_bf_repo=${found%/eclass/*}
		has "${_bf_repo##*/}" $_BF_ECLASS_REPOS ||
			_BF_ECLASS_REPOS+=" ${_bf_repo##*/}"
		_ECLASS_STACK+=("$e")
		ECLASS=$e
		local _iuse=${IUSE-} _rdep=${RDEPEND-} _dep=${DEPEND-} _bdep=${BDEPEND-} _pdep=${PDEPEND-} _idep=${IDEPEND-}
		unset IUSE RDEPEND DEPEND BDEPEND PDEPEND IDEPEND
		source "$found" || die "inherit $e failed"
		E_IUSE+=" ${IUSE-}" E_RDEPEND+=" ${RDEPEND-}" E_DEPEND+=" ${DEPEND-}"
		E_BDEPEND+=" ${BDEPEND-}" E_PDEPEND+=" ${PDEPEND-}" E_IDEPEND+=" ${IDEPEND-}"
		IUSE=$_iuse RDEPEND=$_rdep DEPEND=$_dep BDEPEND=$_bdep PDEPEND=$_pdep IDEPEND=$_idep
		# as Portage's inherit (ebuild.sh): an eclass is recorded once
		# sourced, so the eclasses it inherits come before it
		has "$e" $INHERITED || INHERITED="${INHERITED:+$INHERITED }$e"
		unset '_ECLASS_STACK[-1]'
		ECLASS=
		(( ${#_ECLASS_STACK[@]} )) && ECLASS=${_ECLASS_STACK[-1]}
	done
}
EXPORT_FUNCTIONS() {
	local f
	for f; do eval "$f() { ${ECLASS}_$f \"\$@\"; }"; done
}
default_src_unpack() { :; }
default_src_prepare() { eapply_user; }
default_src_configure() { [[ -x ./configure ]] && econf; return 0; }
default_src_compile() {
	if [[ -f Makefile || -f GNUmakefile || -f makefile ]]; then emake; fi
}
default_src_install() {
	if [[ -f Makefile || -f GNUmakefile || -f makefile ]]; then
		emake DESTDIR="${D}" install
	fi
}

# FEATURES as Portage has them for the ebuild driver's `ebuild` command:
# the profile's stack (the builder's: Portage profile, then make.conf),
# then the driver's own make.conf line (bf-ebuild.sh), applied as
# Portage applies an incremental variable ("-*" clears, "-x" removes);
# bin/ebuild discards merge-wait; sorted, as config.py writes them.
# Portage's make.globals defaults are not here: the sandbox runs without
# Portage (binfarm-worker(8)).
_bf_features() {
	local w x out=() keep
	for w in $FEATURES binpkg-multi-instance -binpkg-signing -getbinpkg -buildpkg -merge-wait; do
		case $w in
		-\*) out=() ;;
		-*) keep=()
			for x in "${out[@]}"; do [[ $x == "${w#-}" ]] || keep+=("$x"); done
			out=("${keep[@]}") ;;
		*) out+=("$w") ;;
		esac
	done
	(( ${#out[@]} )) && printf '%s\n' "${out[@]}" | LC_ALL=C sort -u | paste -sd ' '
	return 0
}
_BF_PROFILE_FEATURES=$FEATURES
FEATURES=$(_bf_features)

# Layout, as Portage's: WORKDIR, S, T, D (image/), build-info/.
WORKDIR=$JOBDIR/work T=$JOBDIR/temp D=$JOBDIR/image/ ED=$JOBDIR/image/
EPREFIX= SYSROOT=$JOBDIR/sysroot ESYSROOT=$JOBDIR/sysroot BROOT=
FILESDIR=$(dirname "$EBUILD")/files
S=$WORKDIR/$P
export CC=${CC-} AR=${AR-}
[[ -n $CC ]] || unset CC
[[ -n $AR ]] || unset AR
mkdir -p "$WORKDIR" "$T" "$D" "$SYSROOT" build-info

# The "installed" packages, for slot operators: "cat/pn SLOT" lines.
_BF_INSTALLED=
_bf_pn() {
	local re='^(.+)-[0-9]+(\.[0-9]+)*[a-z]?(_(alpha|beta|pre|rc|p)[0-9]*)*(-r[0-9]+)?$'
	[[ $1 =~ $re ]] && echo "${BASH_REMATCH[1]}"
}
for p in $BF_DEPS; do
	echo ">>> unpacking $(tar -tf "$p" | head -1 | cut -d/ -f1) into \${ESYSROOT}"
	rm -rf "$T/dep" && mkdir -p "$T/dep" &&
	tar -xOf "$p" --wildcards '*/image.tar.zst' | zstd -dcq | tar -x -C "$T/dep" &&
	tar -xOf "$p" --wildcards '*/metadata.tar.zst' | zstd -dcq | tar -x -C "$T/dep" ||
		die "cannot unpack $p"
	cp -a "$T/dep/image/." "$SYSROOT/" 2>/dev/null || :
	_BF_INSTALLED+="$(<"$T/dep/metadata/CATEGORY")/$(_bf_pn "$(<"$T/dep/metadata/PF")") $(<"$T/dep/metadata/SLOT")"$'\n'
done

E_IUSE= E_RDEPEND= E_DEPEND= E_BDEPEND= E_PDEPEND= E_IDEPEND=
_BF_ECLASS_REPOS=
# The driver's own functions: not saved in environment.bz2.
_BF_HELPERS=" $(declare -F | awk '{print $3}' | tr '\n' ' ') default usereduce evaluse slotop _bf_estrip put putw elf_deps "
source "$EBUILD" || die "cannot source $EBUILD"
IUSE="${IUSE-} ${E_IUSE}"
RDEPEND="${RDEPEND-} ${E_RDEPEND}" DEPEND="${DEPEND-} ${E_DEPEND}"
BDEPEND="${BDEPEND-} ${E_BDEPEND}" PDEPEND="${PDEPEND-} ${E_PDEPEND}"
IDEPEND="${IDEPEND-} ${E_IDEPEND}"
SLOT=${BF_SLOT}

DEFINED_PHASES=
for ph in setup unpack prepare configure compile test install preinst postinst prerm postrm config pretend info nofetch; do
	for pre in src pkg; do
		declare -F "${pre}_${ph}" >/dev/null && DEFINED_PHASES+=" $ph"
	done
done
# sorted, "-" when there is none (as the metadata Portage generates)
DEFINED_PHASES=$(echo $DEFINED_PHASES | tr ' ' '\n' | LC_ALL=C sort -u | paste -sd ' ')
DEFINED_PHASES=${DEFINED_PHASES:--}

cd "$WORKDIR" || die
for ph in src_unpack src_prepare src_configure src_compile src_install; do
	echo ">>> ${ph} for ${CATEGORY}/${PF}"
	[[ $ph != src_unpack && -d $S ]] && cd "$S"
	if declare -F "$ph" >/dev/null; then
		"$ph" || die "$ph failed"
	else
		"default_$ph" || die "$ph failed"
	fi
done
default() { :; }

# USE-reduce a dependency string: keep what the USE flags select.
usereduce() {
	local tok out=() stack=() active=1 cond=0 top
	for tok in $1; do
		case $tok in
		*\?)	stack+=("$active:c")
			if (( active )) && use "${tok%\?}"; then active=1; else active=0; fi
			cond=1 ;;
		"(")	if (( cond )); then cond=0; else
				stack+=("$active:g"); (( active )) && out+=("(")
			fi ;;
		")")	top=${stack[-1]}; unset 'stack[-1]'
			[[ $top == *:g ]] && (( ${top%%:*} )) && out+=(")")
			active=${top%%:*} ;;
		*)	(( active )) && out+=("$tok") ;;
		esac
	done
	echo "${out[*]}"
}

# USE-conditional USE dependencies evaluated with the package's USE, as
# Portage's use_reduce(..., token_class=Atom) does for the build-info it
# writes (_use_dep.evaluate_conditionals): "x?" -> "x" or dropped,
# "!x?" -> "-x" or dropped, "x=" -> "x" or "-x", "!x=" -> "-x" or "x";
# a default "(+)"/"(-)" stays with the flag; "[]" left empty goes.
evaluse() {
	local tok out=() base ud t flag def op res uds
	for tok in $1; do
		if [[ $tok != *\[*\] ]]; then
			out+=("$tok")
			continue
		fi
		base=${tok%%\[*} ud=${tok#*\[} ud=${ud%\]} res=
		IFS=, read -ra uds <<<"$ud"
		for t in "${uds[@]}"; do
			op= def=
			[[ $t == !* ]] && { op='!'; t=${t#!}; }
			[[ $t == *[?=] ]] && { op+=${t: -1}; t=${t%?}; }
			[[ $t == *\([+-]\) ]] && { def=${t: -3}; t=${t%???}; }
			flag=$t
			case $op in
			'?')	use "$flag" && res+=,$flag$def ;;
			'!?')	use "$flag" || res+=,-$flag$def ;;
			'=')	if use "$flag"; then res+=,$flag$def; else res+=,-$flag$def; fi ;;
			'!=')	if use "$flag"; then res+=,-$flag$def; else res+=,$flag$def; fi ;;
			*)	res+=,$op$flag$def ;;
			esac
		done
		if [[ -n $res ]]; then out+=("$base[${res#,}]"); else out+=("$base"); fi
	done
	echo "${out[*]}"
}

# Slot operators, as Portage's evaluate_slot_operator_equal_deps records
# them at build time: "cat/pn:=" and "cat/pn:SLOT=" become
# "cat/pn:SLOT/SUBSLOT=" of the package built against (the dependency
# unpacked into ${ESYSROOT}); one not found stays as it is.
slotop() {
	local tok out=() base use slot cp line islot
	for tok in $1; do
		use= base=$tok
		[[ $base == *\[* ]] && { use=[${base#*\[}; base=${base%%\[*}; }
		if [[ $base == *:*= && $base != !* ]]; then
			slot=${base##*:} base=${base%:*} slot=${slot%=}
			cp=${base#[<>=~]} cp=${cp#[=]}
			[[ $cp == */*-[0-9]* ]] && cp=${cp%%-[0-9]*}
			[[ $base == =*\* ]] && cp=${cp%%\**}
			while read -r line islot; do
				[[ -n $line && $line == "$cp" ]] || continue
				[[ -z $slot || $slot == "${islot%%/*}" ]] || continue
				[[ $islot == */* ]] || islot=$islot/$islot
				tok="$base:$islot=$use"
				break
			done <<<"$_BF_INSTALLED"
		fi
		out+=("$tok")
	done
	echo "${out[*]}"
}

# estrip, as Portage's install_qa_check runs it when FEATURES has
# binpkg-dostrip (make.globals' default): not with FEATURES=nostrip or
# RESTRICT=strip, nor when the profile turns binpkg-dostrip off (Portage
# then strips at merge time, not in the package).  The tools are
# ${CHOST}-strip and ${CHOST}-ranlib when they exist, else strip and
# ranlib; `file -S` tells what each regular file is (each inode once):
# executables and shared objects get the GNU strip flags Portage uses
# (--strip-unneeded -N __gentoo_check_ldflags__ -R .comment
# -R .GCC.command.line -R .note.gnu.gold-version), relocatable objects
# the safe ones only, ar archives `strip -g` and ranlib.  Not done:
# splitdebug, installsources, dostrip -x, STRIP_MASK.
_bf_estrip() {
	local f t ino strip=strip ranlib=ranlib flags safe seen=" "
	has nostrip $FEATURES && return 0
	has strip $(usereduce "${RESTRICT-}") && return 0
	has -binpkg-dostrip $_BF_PROFILE_FEATURES && return 0
	type -P "${CHOST}-strip" >/dev/null && strip=${CHOST}-strip
	type -P "${CHOST}-ranlib" >/dev/null && ranlib=${CHOST}-ranlib
	if ! type -P "$strip" >/dev/null || ! type -P file >/dev/null; then
		ewarn "estrip: no $strip or no file(1); binaries are not stripped"
		return 0
	fi
	case $("$strip" --version 2>/dev/null) in
	*elfutils*) safe=() flags=(--remove-comment) ;;
	*GNU*) safe=(--strip-unneeded -N __gentoo_check_ldflags__)
		flags=("${safe[@]}" -R .comment -R .GCC.command.line -R .note.gnu.gold-version) ;;
	*) safe=() flags=() ;;
	esac
	echo "strip: $strip ${flags[*]}"
	while IFS= read -r -d '' f; do
		ino=$(stat -c %i "$f") || continue
		[[ $seen == *" $ino "* ]] && continue
		seen+="$ino "
		t=$(file -S "$f") || continue
		if [[ $t == *"current ar archive"* ]]; then
			echo "   /${f#"$ED"}"
			"$strip" -g "$f" && "$ranlib" "$f"
		elif [[ $t == *SB\ @(?(pie )executable|shared object)* ]]; then
			echo "   /${f#"$ED"}"
			"$strip" "${flags[@]}" "$f"
		elif [[ $t == *"SB relocatable"* ]]; then
			echo "   /${f#"$ED"}"
			"$strip" "${safe[@]}" "$f"
		fi
	done < <(find "$ED" -type f -print0 | LC_ALL=C sort -z)
	return 0
}
# SIZE, as _post_src_install_uid_fix counts it when the install phase
# ends, before install_qa_check strips: the bytes of the image's regular
# files, each inode once.
_BF_SIZE=$(find "$ED" -type f -printf '%i %s\n' | sort -u -k1,1 | awk '{s+=$2} END {print s+0}')
_bf_estrip

cd "$JOBDIR" || die
bi=build-info
put() { [[ -n $2 ]] && printf '%s\n' "$2" >"$bi/$1"; return 0; }
# As __dyn_install writes most keys: words, split and joined by one space
# (x=$(echo -n ${!f}), globbing off), and only when not empty.
putw() { local x; set -f; x=$(echo -n $2); set +f; put "$1" "$x"; }
use_words=
for f in $BF_IUSE; do [[ $f != "$ARCH" ]] && use "$f" && use_words+=" $f"; done
use_words="${ARCH}${use_words}"
putw CATEGORY "$CATEGORY"
putw PF "$PF"
putw SLOT "$SLOT"
printf '%s\n' "${EAPI:-0}" >"$bi/EAPI"
printf '%s\n' "$use_words" >"$bi/USE"
# IUSE and IUSE_EFFECTIVE as _post_src_install_write_metadata writes
# them: IUSE even when empty; IUSE_EFFECTIVE the package's IUSE names
# and the profile's implicit ones (config._calc_iuse_effective), sorted.
set -f
printf '%s\n' "$(echo -n $IUSE)" >"$bi/IUSE"
_bf_ie=
for f in $IUSE; do _bf_ie+=" ${f#[+-]}"; done
[[ -n $BF_IUSE_IMPLICIT ]] || BF_IUSE_IMPLICIT=$ARCH
put IUSE_EFFECTIVE "$(printf '%s\n' $_bf_ie $BF_IUSE_IMPLICIT | LC_ALL=C sort -u | paste -sd ' ')"
set +f
putw KEYWORDS "${KEYWORDS-}"
putw PKGUSE "${BF_PKGUSE-}"
put LICENSE "$(usereduce "${LICENSE-}")"
for k in DEPEND RDEPEND BDEPEND PDEPEND IDEPEND; do
	put "$k" "$(slotop "$(evaluse "$(usereduce "${!k}")")")"
done
put RESTRICT "$(usereduce "${RESTRICT-}")"
put PROPERTIES "$(usereduce "${PROPERTIES-}")"
putw DESCRIPTION "${DESCRIPTION-}"
putw HOMEPAGE "${HOMEPAGE-}"
putw INHERITED "$INHERITED"
putw DEFINED_PHASES "$DEFINED_PHASES"
putw FEATURES "$FEATURES"
putw CHOST "$CHOST"
putw CBUILD "$CBUILD"
putw CFLAGS "$CFLAGS"
putw CXXFLAGS "$CXXFLAGS"
putw LDFLAGS "$LDFLAGS"
printf '%s\n' "$BF_REPO" >"$bi/repository"
printf '%s\n' "$(date +%s)" >"$bi/BUILD_TIME"
printf '%s\n' "$_BF_SIZE" >"$bi/SIZE"
# NEEDED, NEEDED.ELF.2, REQUIRES and PROVIDES, as Portage writes them
# from scanelf -yRBF '%a;%p;%S;%r;%n' (misc-functions.sh) and then
# doebuild's _post_src_install_soname_symlinks (multilib category as a
# sixth field; REQUIRES without what the package provides itself).
# Here from readelf (binutils).  Categories: x86_64, x86_32, x86_x32,
# arm_64; other machines get none, as Portage's unrecognized ELF files.
elf_deps() {
	local f rel hdr cls mach type arch cat dyn needed soname rpath n
	local -A prov req
	: >"$bi/NEEDED.ELF.2.tmp"
	while IFS= read -r -d '' f; do
		[[ $(head -c4 "$f" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]] || continue
		hdr=$(readelf -h "$f" 2>/dev/null) || continue
		cls=$(sed -n 's/^ *Class: *//p' <<<"$hdr")
		mach=$(sed -n 's/^ *Machine: *//p' <<<"$hdr")
		type=$(sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p' <<<"$hdr")
		case $mach in
		"Advanced Micro Devices X86-64")
			arch=X86_64 cat=x86_64
			[[ $cls == ELF32 ]] && cat=x86_x32 ;;
		"Intel 80386") arch=386 cat=x86_32 ;;
		AArch64) arch=AARCH64 cat=arm_64 ;;
		*) arch=${mach// /_} cat= ;;
		esac
		dyn=$(readelf -dW "$f" 2>/dev/null)
		needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' <<<"$dyn" | paste -sd, -)
		soname=$(sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p' <<<"$dyn")
		rpath=$(sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]$/\2/p' <<<"$dyn" | head -n 1)
		rel=/${f#image/}
		# an implicit soname for a shared object without DT_SONAME
		if [[ -z $soname && $type == DYN ]] &&
		    ! readelf -lW "$f" 2>/dev/null | grep -q INTERP; then
			soname=${rel##*/}
		fi
		printf '%s %s\n' "$rel" "$needed" >>"$bi/NEEDED"
		printf '%s;%s;%s;%s;%s;%s\n' "$arch" "$rel" "$soname" "$rpath" \
			"$needed" "$cat" >>"$bi/NEEDED.ELF.2.tmp"
		[[ -n $cat ]] || continue
		[[ -n $soname ]] && prov[$cat]+=" $soname"
		for n in ${needed//,/ }; do req[$cat]+=" $n"; done
	done < <(find image -type f -print0 | sort -z)
	if [[ -s $bi/NEEDED.ELF.2.tmp ]]; then
		mv "$bi/NEEDED.ELF.2.tmp" "$bi/NEEDED.ELF.2"
	else
		rm -f "$bi/NEEDED.ELF.2.tmp"
	fi
	local out= c words w
	for c in $(printf '%s\n' "${!req[@]}" | sort); do
		words=
		for w in $(printf '%s\n' ${req[$c]} | sort -u); do
			has "$w" ${prov[$c]-} || words+=" $w"
		done
		[[ -n $words ]] && out+="${out:+ }$c:$words"
	done
	[[ -n $out ]] && printf '%s\n' "$out" >"$bi/REQUIRES"
	out=
	for c in $(printf '%s\n' "${!prov[@]}" | sort); do
		out+="${out:+ }$c: $(printf '%s\n' ${prov[$c]} | sort -u | tr '\n' ' ')"
		out=${out% }
	done
	[[ -n $out ]] && printf '%s\n' "$out" >"$bi/PROVIDES"
	return 0
}
elf_deps

# REPO_REVISIONS, as Portage's EbuildPhase writes it: the commit of the
# package's repository and of the repositories of its eclasses, JSON
# with sorted keys.
revs=
for r in $(printf '%s\n' "$BF_REPO" $_BF_ECLASS_REPOS | sort -u); do
	for rc in $BF_REPO_COMMITS; do
		[[ ${rc%%=*} == "$r" ]] && revs+="${revs:+, }\"$r\": \"${rc#*=}\""
	done
done
[[ -n $revs ]] && printf '{%s}\n' "$revs" >"$bi/REPO_REVISIONS"
cp "$EBUILD" "$bi/$PF.ebuild"
# The saved environment, as __dyn_install keeps it: the ebuild's and its
# eclasses' functions and the build's variables; not the driver's own
# functions and variables (BF_*, _BF_*, the driver's bookkeeping).
{
	for v in $(compgen -v); do
		case $v in
		BASH*|BF_*|_BF_*|E_IUSE|E_*DEPEND|_INSDESTTREE|_ECLASS_STACK|\
		JOBDIR|EBUILD|EUID|PPID|UID|GROUPS|SHELLOPTS|FUNCNAME|PIPESTATUS|\
		DIRSTACK|RANDOM|SRANDOM|SECONDS|LINENO|HISTCMD|EPOCH*|OPTIND|\
		OPTARG|COMP_*|IFS|PS[0-9]|_|revs|rc|r|p|ph|pre|f|k|v|bi|\
		use_words|_bf_repo|_bf_ie|d)
			continue ;;
		esac
		d=$(declare -p "$v" 2>/dev/null) || continue
		d=${d#declare -}
		[[ ${d%% *} == *r* ]] && continue	# readonly: not restorable
		declare -p "$v"
	done
	for f in $(declare -F | awk '{print $3}'); do
		[[ $_BF_HELPERS == *" $f "* ]] || declare -f "$f"
	done
} | bzip2 -9 >"$bi/environment.bz2"
echo ">>> ${CATEGORY}/${PF} installed into image/ ($_BF_SIZE bytes before estrip)"
