#!/bin/sh
test_description='binfarm plan: REQUIRED_USE and LICENSE against ACCEPT_LICENSE'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-tree.sh"

mkprof() {
	rm -rf prof && mkdir prof &&
	cat >prof/make.conf <<-\EOT &&
	CHOST="x86_64-pc-linux-gnu"
	CFLAGS="-O2 -pipe"
	ACCEPT_KEYWORDS="amd64"
	EOT
	printf "%s\n" "$@" >prof/world
}

plan() {
	binfarm plan --profile prof --tree "gentoo=$PWD/repo@main" "$@"
}

test_expect_success 'setup' '
	tree_init repo gentoo &&
	printf "%s\n" "GPL-COMPATIBLE GPL-2 MIT" "OSI-APPROVED MIT GPL-2 BSD" \
		"FREE-SOFTWARE @OSI-APPROVED" "FREE @FREE-SOFTWARE" "EULA Shop-EULA" \
		>repo/profiles/license_groups &&
	tree_ebuild repo dev-lang/php-8 IUSE="cli fpm" REQUIRED_USE="|| ( cli fpm )" &&
	tree_ebuild repo app-misc/one-1 IUSE="+a +b" REQUIRED_USE="^^ ( a b )" &&
	tree_ebuild repo app-misc/most-1 IUSE="a b" REQUIRED_USE="?? ( a b )" &&
	tree_ebuild repo app-misc/cond-1 IUSE="gui qt" REQUIRED_USE="gui? ( qt ) !gui? ( !qt )" &&
	tree_ebuild repo app-misc/badreq-1 IUSE="a" REQUIRED_USE="|| a" &&
	tree_ebuild repo app-misc/free-1 LICENSE="GPL-2" &&
	tree_ebuild repo app-misc/prop-1 LICENSE="MIT" &&
	tree_ebuild repo app-misc/prop-2 LICENSE="Prop" &&
	tree_ebuild repo app-misc/either-1 LICENSE="|| ( Prop BSD )" &&
	tree_ebuild repo app-misc/condlic-1 IUSE="extra" LICENSE="MIT extra? ( Prop )" &&
	tree_ebuild repo app-misc/eula-1 LICENSE="Shop-EULA" &&
	tree_ebuild repo app-misc/uses-php-1 RDEPEND="dev-lang/php" &&
	tree_commit repo
'

test_expect_success 'REQUIRED_USE || ( ): an error naming the constraint, USE and chain' '
	mkprof app-misc/uses-php &&
	test_expect_code 1 plan 2>err &&
	test_grep "cannot resolve .dev-lang/php.: dev-lang/php-8::gentoo: REQUIRED_USE=\"|| ( cli fpm )\" is not met by USE=\"-cli -fpm\"; change USE in package.use" err &&
	test_grep "wanted as RDEPEND .dev-lang/php. of app-misc/uses-php-1" err &&
	echo "dev-lang/php fpm" >prof/package.use &&
	plan >out && test_grep " dev-lang/php-8::gentoo .*USE=\"-cli fpm\"" out
'

test_expect_success 'REQUIRED_USE ^^, ??, conditionals and negations' '
	mkprof app-misc/one &&
	test_expect_code 1 plan 2>err && test_grep "REQUIRED_USE=\"^^ ( a b )\"" err &&
	echo "app-misc/one -b" >prof/package.use &&
	plan >out && test_grep " app-misc/one-1::" out &&
	echo "app-misc/one -a -b" >prof/package.use &&
	test_expect_code 1 plan 2>err &&
	mkprof app-misc/most &&
	plan >out &&
	echo "app-misc/most a b" >prof/package.use &&
	test_expect_code 1 plan 2>err && test_grep "REQUIRED_USE=\"?? ( a b )\"" err &&
	mkprof app-misc/cond &&
	plan >out &&
	echo "app-misc/cond qt" >prof/package.use &&
	test_expect_code 1 plan 2>err &&
	echo "app-misc/cond qt gui" >prof/package.use &&
	plan >out &&
	echo "app-misc/cond gui" >prof/package.use &&
	test_expect_code 1 plan 2>err
'

test_expect_success 'a malformed REQUIRED_USE is an error' '
	mkprof app-misc/badreq &&
	test_expect_code 1 plan 2>err &&
	test_grep "app-misc/badreq-1::gentoo: malformed REQUIRED_USE \"|| a\"" err
'

test_expect_success 'LICENSE: Portage'"'"'s "* -@EULA" when nothing sets ACCEPT_LICENSE' '
	mkprof app-misc/prop &&
	plan >out &&
	test_grep " app-misc/prop-2::" out &&
	mkprof app-misc/eula &&
	test_expect_code 1 plan 2>err &&
	test_grep "app-misc/eula-1::gentoo: LICENSE=\"Shop-EULA\" not accepted by ACCEPT_LICENSE" err
'

test_expect_success 'LICENSE: "-* @FREE" (as Gentoo'"'"'s base profile sets), groups nest, older free versions win' '
	mkprof app-misc/free app-misc/prop app-misc/either &&
	echo "ACCEPT_LICENSE=\"-* @FREE\"" >>prof/make.conf &&
	plan >out &&
	test_grep " app-misc/free-1::" out &&
	test_grep " app-misc/prop-1::" out &&
	test_grep " app-misc/either-1::" out &&
	mkprof "=app-misc/prop-2" &&
	echo "ACCEPT_LICENSE=\"-* @FREE\"" >>prof/make.conf &&
	test_expect_code 1 plan 2>err &&
	test_grep "app-misc/prop-2::gentoo: LICENSE=\"Prop\" not accepted by ACCEPT_LICENSE; accept it in package.license" err
'

test_expect_success 'package.license and make.conf ACCEPT_LICENSE accept more' '
	mkprof app-misc/prop &&
	echo "ACCEPT_LICENSE=\"-* @FREE\"" >>prof/make.conf &&
	echo "app-misc/prop Prop" >prof/package.license &&
	plan >out && test_grep " app-misc/prop-2::" out &&
	mkprof app-misc/prop &&
	echo "ACCEPT_LICENSE=\"*\"" >>prof/make.conf &&
	plan >out && test_grep " app-misc/prop-2::" out &&
	mkprof app-misc/free &&
	echo "ACCEPT_LICENSE=\"-* MIT\"" >>prof/make.conf &&
	test_expect_code 1 plan 2>err &&
	test_grep "LICENSE=\"GPL-2\" not accepted" err &&
	echo "app-misc/free @GPL-COMPATIBLE" >prof/package.license &&
	plan >out && test_grep " app-misc/free-1::" out
'

test_expect_success 'USE-conditional licenses follow the package USE' '
	mkprof app-misc/condlic &&
	echo "ACCEPT_LICENSE=\"-* @FREE\"" >>prof/make.conf &&
	plan >out && test_grep " app-misc/condlic-1::" out &&
	echo "app-misc/condlic extra" >prof/package.use &&
	test_expect_code 1 plan 2>err &&
	test_grep "LICENSE=\"MIT extra? ( Prop )\" not accepted" err
'

test_expect_success 'the sample tree: the shop is accepted only through package.license' '
	"$BF_SRC_DIR/scripts/sample-tree.sh" st >/dev/null &&
	cp -R "$BF_SRC_DIR/profiles/web-x86-64-v3" sp &&
	binfarm plan --profile sp --tree "gentoo=$PWD/st/gentoo@main" \
		--tree "company=$PWD/st/company@main" >out &&
	test_grep " www-apps/shopfront-2.4.0::company " out &&
	rm sp/package.license &&
	test_expect_code 1 binfarm plan --profile sp --tree "gentoo=$PWD/st/gentoo@main" \
		--tree "company=$PWD/st/company@main" 2>err &&
	test_grep "www-apps/shopfront-2.4.0::company: LICENSE=\"Example-Proprietary\" not accepted" err
'

test_done
