#!/bin/sh
test_description='the sample ebuild tree: md5-cache generator, git repositories, plans of the shipped profiles'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-tree.sh"

SAMPLE=$BF_SRC_DIR/sample
PROFILES=$BF_SRC_DIR/profiles

plan_sample() {
	_prof=$1
	shift
	binfarm plan --profile "$PROFILES/$_prof" --tree "gentoo=$PWD/st/gentoo@main" \
		--tree "company=$PWD/st/company@main" "$@"
}

# order_of FILE CPV: the build position of CPV in a text plan
order_of() {
	grep " $2::" "$1" | awk '{print $1}'
}

test_expect_success 'sample-tree.sh makes two git repositories and prints them' '
	"$BF_SRC_DIR/scripts/sample-tree.sh" st >paths &&
	printf "gentoo=%s\ncompany=%s\n" "$PWD/st/gentoo" "$PWD/st/company" >expect &&
	test_cmp expect paths &&
	git -C st/gentoo rev-parse --verify main >/dev/null &&
	git -C st/company rev-parse --verify main >/dev/null &&
	test "$(git -C st/gentoo status --porcelain | wc -l)" -eq 0 &&
	test "$(cat st/gentoo/profiles/repo_name)" = gentoo &&
	test "$(cat st/company/profiles/repo_name)" = company &&
	test_grep "^masters = gentoo" st/company/metadata/layout.conf
'

test_expect_success 'the shipped md5-cache is what md5-cache.sh generates' '
	"$BF_SRC_DIR/scripts/sample-tree.sh" --regen regen >/dev/null &&
	test "$(git -C st/gentoo rev-parse HEAD^{tree})" = "$(git -C regen/gentoo rev-parse HEAD^{tree})" &&
	test "$(git -C st/company rev-parse HEAD^{tree})" = "$(git -C regen/company rev-parse HEAD^{tree})" &&
	n=$(ls st/gentoo/*/*/*.ebuild | wc -l) &&
	test "$(ls st/gentoo/metadata/md5-cache/*/* | wc -l)" -eq "$n" &&
	test "$n" -ge 12
'

test_expect_success 'md5-cache entries: sorted keys, _md5_, transitive _eclasses_, eclass metadata' '
	e=st/company/metadata/md5-cache/www-apps/shopfront-2.4.0 &&
	cut -d= -f1 $e >keys && LC_ALL=C sort keys >sorted && test_cmp sorted keys &&
	test_grep "^_md5_=$(md5sum <st/company/www-apps/shopfront/shopfront-2.4.0.ebuild | cut -d" " -f1)$" $e &&
	m1=$(md5sum <st/company/eclass/company-webapp.eclass | cut -d" " -f1) &&
	m2=$(md5sum <st/gentoo/eclass/tinyc.eclass | cut -d" " -f1) &&
	m3=$(md5sum <st/gentoo/eclass/toolchain-funcs.eclass | cut -d" " -f1) &&
	printf "_eclasses_=company-webapp\t%s\ttinyc\t%s\ttoolchain-funcs\t%s\n" $m1 $m2 $m3 >expect &&
	grep "^_eclasses_=" $e >actual && test_cmp expect actual &&
	test_grep "^INHERIT=tinyc company-webapp$" $e &&
	test_grep "^IUSE=+postgres +vhosts$" $e &&
	test_grep "^RDEPEND=.* www-servers/tinyhttpd\[ssl\]$" $e &&
	test_grep "^DEFINED_PHASES=compile install unpack$" $e &&
	v=st/gentoo/metadata/md5-cache/virtual/tinyeditor-0-r1 &&
	test_grep "^DEFINED_PHASES=-$" $v &&
	test_grep "^RDEPEND=|| ( app-editors/tinyedit app-editors/tinyvi )$" $v &&
	! test_grep "_eclasses_" $v &&
	test_grep "^SLOT=16$" st/gentoo/metadata/md5-cache/dev-db/tinysql-16.3
'

test_expect_success 'md5-cache.sh: an eclass change changes _eclasses_ of its users only' '
	cp -R st/gentoo g2 &&
	echo "# changed" >>g2/eclass/toolchain-funcs.eclass &&
	bash "$BF_SRC_DIR/scripts/md5-cache.sh" g2 >/dev/null &&
	{ diff -r st/gentoo/metadata/md5-cache g2/metadata/md5-cache >d; test $? -eq 1; } &&
	test_grep "tinyz-1.3.1" d &&
	! test_grep "tinyeditor" d &&
	echo "inherit nothere" >>g2/sys-libs/tinyz/tinyz-1.3.1.ebuild &&
	test_must_fail bash "$BF_SRC_DIR/scripts/md5-cache.sh" g2 2>err &&
	test_grep "nothere.eclass could not be found" err
'

test_expect_success 'the sample sources compile' '
	inc= &&
	for d in "$SAMPLE"/gentoo/*/*/files/src "$SAMPLE"/overlay/*/*/files/src
	do
		inc="$inc -I$d"
	done &&
	for c in "$SAMPLE"/gentoo/*/*/files/src/*.c "$SAMPLE"/overlay/*/*/files/src/*.c
	do
		${CC:-cc} -Wall -Werror -DWITH_SSL -DWITH_PCRE -DWITH_HTTP2 \
			-DWITH_SQL -DWITH_READLINE $inc -c -o obj.o "$c" || return 1
	done
'

for prof in web-x86-64-v2 web-x86-64-v3
do
	test_expect_success "plan $prof on the sample tree" '
		plan_sample '$prof' --explain >out.'$prof' &&
		plan_cpvs out.'$prof' >cpvs &&
		cat >expect <<-\EOT &&
		app-admin/tinysudo-1.9.15_p5
		app-editors/tinyedit-7.2
		dev-db/tinysql-16.3
		dev-lang/tinyphp-8.3.8
		dev-libs/tinypcre-10.42
		dev-libs/tinyssl-3.2.2
		sys-libs/tinyreadline-8.2_p10
		sys-libs/tinyz-1.3.1
		virtual/tinyeditor-0-r1
		www-apps/shopfront-2.4.0
		www-servers/tinyhttpd-1.26.2
		EOT
		sort cpvs >sorted && test_cmp expect sorted &&
		test_grep " www-apps/shopfront-2.4.0::company " out.'$prof' &&
		test_grep "why: world .www-apps/shopfront. (.*/world:7)" out.'$prof' &&
		test_grep "why: RDEPEND .app-editors/tinyedit. of virtual/tinyeditor-0-r1" out.'$prof' &&
		test_grep "why: DEPEND .dev-db/tinysql:=. of dev-lang/tinyphp-8.3.8" out.'$prof' &&
		test_grep " dev-lang/tinyphp-8.3.8::gentoo .* slot=8.3 USE=\"cli fpm postgres ssl\"" out.'$prof' &&
		test $(order_of out.'$prof' sys-libs/tinyz-1.3.1) -lt $(order_of out.'$prof' dev-libs/tinyssl-3.2.2) &&
		test $(order_of out.'$prof' dev-libs/tinyssl-3.2.2) -lt $(order_of out.'$prof' www-servers/tinyhttpd-1.26.2) &&
		test $(order_of out.'$prof' dev-db/tinysql-16.3) -lt $(order_of out.'$prof' dev-lang/tinyphp-8.3.8) &&
		test $(order_of out.'$prof' dev-db/tinysql-16.3) -lt $(order_of out.'$prof' www-apps/shopfront-2.4.0) &&
		test $(order_of out.'$prof' sys-libs/tinyreadline-8.2_p10) -lt $(order_of out.'$prof' app-editors/tinyedit-7.2)
	'
done

test_expect_success 'the two profiles differ where their files differ' '
	test_grep " www-servers/tinyhttpd-1.26.2::.*USE=\"http2 pcre ssl\"" out.web-x86-64-v3 &&
	test_grep " www-servers/tinyhttpd-1.26.2::.*USE=\"-http2 pcre ssl\"" out.web-x86-64-v2 &&
	for cpv in sys-libs/tinyz-1.3.1 www-apps/shopfront-2.4.0
	do
		test "$(plan_key out.web-x86-64-v2 $cpv)" != "$(plan_key out.web-x86-64-v3 $cpv)" || return 1
	done
'

test_expect_success 'the package.mask of the hw-profile keeps tinyssl on 3.2' '
	test_grep " dev-libs/tinyssl-3.2.2::" out.web-x86-64-v3 &&
	cp -R "$PROFILES/web-x86-64-v3" prof &&
	: >prof/package.mask &&
	binfarm plan --profile prof --tree "gentoo=$PWD/st/gentoo@main" \
		--tree "company=$PWD/st/company@main" >out &&
	test_grep " dev-libs/tinyssl-3.3.0::" out
'

test_done
