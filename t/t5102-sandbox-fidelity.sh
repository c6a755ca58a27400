#!/bin/sh
test_description='the sandbox driver writes the build-info real Portage writes, for every package of the sample world'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-portage.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

PROF=web-x86-64-v3

sandbox_worker() {
	binfarm-worker -s state --name a --tags x86-64-v3,web \
		--profiles "$BF_SRC_DIR/profiles" --workdir work-a \
		>>worker-a.log 2>&1 &
	echo $! >worker-a.pid
}

test_expect_success 'setup: a Portage layer, the sample trees, a builder' '
	"$BF_SRC_DIR/scripts/portage-layer.sh" "$PORTAGE_TARBALL" layer >/dev/null &&
	"$BF_SRC_DIR/scripts/sample-tree.sh" trees >/dev/null &&
	binfarm-builder --init state -l 127.0.0.1:0 \
		-P "$BF_SRC_DIR/profiles/$PROF" \
		-r gentoo="$PWD/trees/gentoo@main" \
		-r company="$PWD/trees/company@main" >/dev/null &&
	printf "[builder]\nmax-attempts = 1\nbackoff = 0\n" >>state/builder.conf &&
	farm_add_worker a "tags = x86-64-v3 web" &&
	binfarm-builder -t -s state >/dev/null &&
	mkdir pout
'

test_expect_success 'the farm builds the sample world with the sandbox driver' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	binfarm rebuild --profile $PROF >out &&
	test_grep "11 packages, 11 to build" out &&
	sandbox_worker &&
	farm_wait_rebuild complete 300 &&
	P=state/repo/channels/testing/$PROF &&
	for pkg in $P/*/*/*.gpkg.tar
	do
		rm -rf m && mkdir m &&
		tar -xf "$pkg" -C m &&
		tar -xf m/*/metadata.tar.zst -C m &&
		cpv=$(cat m/metadata/CATEGORY)/$(cat m/metadata/PF) &&
		mkdir -p sandbox/${cpv%/*} &&
		mv m/metadata sandbox/$cpv || return 1
	done &&
	ls -d sandbox/*/* >built &&
	test $(wc -l <built) = 11
'

# In the root: /etc/portage as the ebuild driver makes it (bf-ebuild.sh,
# step 1: the whole hw-profile, its lines at the end of make.conf,
# make.profile and repos.conf at the trees, git), then for each package,
# in build order: ebuild FILE clean install; its build-info is kept, and
# the package is merged into the root for those built after it.
cat >portage.sh <<\EOS
set -e
B=/var/lib/binfarm
O=$B/out
rm -rf /etc/portage
mkdir -p /etc/portage/repos.conf
cp -R $B/profile/. /etc/portage/
ln -s $B/repos/gentoo/profiles/$(cat $O/portage-profile) /etc/portage/make.profile
{
	printf '[DEFAULT]\nmain-repo = gentoo\n'
	for r in gentoo company
	do
		printf '\n[%s]\nlocation = %s\nsync-type = git\nsync-uri = %s\nauto-sync = no\n' \
			$r $B/repos/$r https://example.com/$r.git
	done
} >/etc/portage/repos.conf/binfarm.conf
cat >>/etc/portage/make.conf <<EOF

# ---- binfarm-worker, ebuild driver (binfarm-worker(8)) ----
PKGDIR="/var/cache/binpkgs"
DISTDIR="/var/cache/distfiles"
PORTAGE_TMPDIR="/var/tmp"
BINPKG_FORMAT="gpkg"
FEATURES="\${FEATURES} binpkg-multi-instance -binpkg-signing -getbinpkg -buildpkg"
CLEAN_DELAY="0"
EMERGE_WARNING_DELAY="0"
EOF
mkdir -p /var/tmp /var/db/pkg /var/cache/edb /var/cache/binpkgs /var/cache/distfiles
while read -r cpv repo
do
	c=${cpv%%/*} pf=${cpv#*/}
	f=$(ls $B/repos/$repo/$c/*/$pf.ebuild)
	echo ">>> ebuild $f clean install"
	ebuild "$f" clean install
	mkdir -p $O/portage/$c
	cp -R /var/tmp/portage/$c/$pf/build-info $O/portage/$cpv
	mkdir -p $O/image/$c
	cp -a /var/tmp/portage/$c/$pf/image $O/image/$cpv
	ebuild "$f" qmerge
done <$O/order
EOS

test_expect_success 'real Portage builds each package with ebuild FILE install' '
	binfarm plan --profile "$BF_SRC_DIR/profiles/$PROF" \
		--tree "gentoo=$PWD/trees/gentoo@main" \
		--tree "company=$PWD/trees/company@main" >plan &&
	sed -n "s/^ *[0-9]* build \([^:]*\)::\([^ ]*\) .*/\1 \2/p" plan >pout/order &&
	test $(wc -l <pout/order) = 11 &&
	sed -n "s/^portage-profile = //p" "$BF_SRC_DIR/profiles/$PROF/profile.conf" \
		>pout/portage-profile &&
	portage_root root "$PWD/portage.sh" \
		"$PWD/trees/gentoo=/var/lib/binfarm/repos/gentoo" \
		"$PWD/trees/company=/var/lib/binfarm/repos/company" \
		"$BF_SRC_DIR/profiles/$PROF=/var/lib/binfarm/profile" \
		"$PWD/pout=/var/lib/binfarm/out:rw" >portage.log 2>&1 &&
	ls -d pout/portage/*/* >built &&
	test $(wc -l <built) = 11
'

# Keys left out of the comparison, each because it is the run's or the
# machine's, not the package's:
#   BUILD_TIME     the second the build ended
#   BUILD_ID       not written by `ebuild FILE install` (the package phase
#                  numbers the binary; the farm's packer writes the job's)
# and compared in part:
#   environment.bz2  the saved shell environment: Portage's holds its own
#                  phase functions and internal variables (ebuild.sh, of
#                  the installed Portage's version) beside the ebuild's;
#                  the sandbox's holds the ebuild's and eclasses' only
#                  (t5010 checks that it holds no worker variable).  Each
#                  function of the sandbox's must be in Portage's, with
#                  the same text.
#   FEATURES       Portage writes its final FEATURES, which start from
#                  the make.globals of the Portage installed on the
#                  machine (cnf/make.globals here; a node has its own),
#                  and doebuild drops distcc/ccache where the machine
#                  lacks them; the sandbox runs without Portage, so it
#                  writes the profile's and the driver's FEATURES only.
#                  Compared without the words of make.globals' FEATURES.
# Every other file, present in either build-info, must be byte-identical.
# the functions a saved environment defines, and the text of one
env_funcs() {
	bzcat "$1" | sed -n 's/^\([A-Za-z_][A-Za-z0-9_-]*\) () *$/\1/p' | sort
}
env_func() {
	bzcat "$1" | awk -v f="$2" '
		$0 == f " () " || $0 == f " ()" { p = 1 }
		p { print }
		p && /^}$/ { exit }'
}

bi_compare() {
	_s=$1 _p=$2
	for _k in $( (ls "$_s"; ls "$_p") | sort -u)
	do
		case $_k in
		BUILD_TIME|BUILD_ID) continue ;;
		environment.bz2)
			env_funcs "$_s/$_k" >funcs || return 1
			for _f in $(cat funcs)
			do
				env_func "$_s/$_k" $_f >f.sandbox &&
				env_func "$_p/$_k" $_f >f.portage &&
				test -s f.sandbox &&
				test_cmp f.portage f.sandbox &&
				echo "$_f" >>funcs.all || return 1
			done
			continue ;;
		FEATURES)
			for _d in "$_s" "$_p"
			do
				tr " " "\n" <"$_d/FEATURES" | grep -vxFf globals-features |
					paste -sd " " || return 1
			done >features &&
			sed -n 1p features >features.sandbox &&
			sed -n 2p features >features.portage &&
			test_cmp features.portage features.sandbox || return 1
			continue ;;
		esac
		test -e "$_s/$_k" || { echo "$_k: only Portage writes it: $(cat "$_p/$_k")"; return 1; }
		test -e "$_p/$_k" || { echo "$_k: only the sandbox writes it: $(cat "$_s/$_k")"; return 1; }
		cmp -s "$_s/$_k" "$_p/$_k" || {
			echo "$_k differs:"
			diff -u "$_p/$_k" "$_s/$_k"
			return 1
		}
	done
}

test_expect_success 'the sandbox writes the build-info Portage writes, key by key' '
	sed -n "/^FEATURES=\"/,/\"/p" layer/usr/lib/portage-src/cnf/make.globals |
		sed "s/^FEATURES=//; s/\"//g" | tr " \t" "\n\n" | grep . >globals-features &&
	test_grep "^userpriv$" globals-features &&
	n=0 &&
	for d in sandbox/*/*
	do
		cpv=${d#sandbox/} &&
		echo "== $cpv" &&
		bi_compare "$d" "pout/portage/$cpv" &&
		n=$((n + 1)) || return 1
	done &&
	test $n = 11 &&
	test_grep "^tinyc_src_compile$" funcs.all &&
	test_grep "^src_install$" funcs.all
'

# every entry of an image: name, type, mode, link; every file's digest
img_list() {
	(cd "$1" && find . -printf '%p %y %m %l\n' | LC_ALL=C sort &&
	 find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2)
}

test_expect_success 'the sandbox images are those of ebuild FILE install, stripped as Portage strips' '
	P=state/repo/channels/testing/$PROF &&
	n=0 &&
	for d in sandbox/*/*
	do
		cpv=${d#sandbox/} &&
		rm -rf gi && mkdir gi &&
		tar -xf $P/${cpv%/*}/*/${cpv#*/}-[0-9]*.gpkg.tar -C gi &&
		mkdir gi/x &&
		tar -x --numeric-owner -p -f gi/*/image.tar.zst -C gi/x &&
		img_list gi/x/image >img.sandbox &&
		img_list pout/image/$cpv >img.portage &&
		test_grep "^\. d " img.portage &&
		cat img.portage >>img.all &&
		test_cmp img.portage img.sandbox &&
		n=$((n + 1)) || return 1
	done &&
	test $n = 11 &&
	test_grep " \./usr/bin/tinyhttpd\$" img.all
'

# The Packages index keys that are build-info keys, whitespace-joined.
test_expect_success 'each package agrees with its index entry' '
	P=state/repo/channels/testing/$PROF &&
	for d in sandbox/*/*
	do
		cpv=${d#sandbox/} &&
		awk -v cpv="$cpv" "/^CPV: / { s = (\$2 == cpv) } s && NF" $P/Packages >entry &&
		test -s entry &&
		for k in BDEPEND DEFINED_PHASES DEPEND EAPI IDEPEND IUSE \
			KEYWORDS LICENSE PDEPEND PROVIDES RDEPEND REQUIRES RESTRICT SLOT USE
		do
			sed -n "s/^$k: //p" entry >idx &&
			{ cat $d/$k 2>/dev/null || :; } | tr -s " \n" "  " |
				sed "s/ *\$//" | grep . >pkg || : &&
			# the index leaves out EAPI and SLOT when they are 0
			if test $k = EAPI -o $k = SLOT && ! test -s idx
			then
				echo 0 >idx
			fi &&
			test_cmp pkg idx || { echo "$cpv $k"; return 1; }
		done || return 1
	done
'
test_done
