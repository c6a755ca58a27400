#!/bin/sh
test_description='binfarm plan: the Portage profile cascade read from the pinned tree'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-tree.sh"

# mkprof PORTAGE-PROFILE ATOM...: a hw-profile standing on PORTAGE-PROFILE
mkprof() {
	rm -rf prof && mkdir prof &&
	cat >prof/make.conf <<-\EOT &&
	CHOST="x86_64-pc-linux-gnu"
	CFLAGS="-O2 -pipe"
	ACCEPT_KEYWORDS="amd64"
	EOT
	if test -n "$1"
	then
		printf "[profile]\nportage-profile = %s\n" "$1" >prof/profile.conf
	fi &&
	shift &&
	printf "%s\n" "$@" >prof/world
}

plan() {
	binfarm plan --profile prof --tree "gentoo=$PWD/repo@main" "$@"
}

# pfile PATH TEXT...: profiles/PATH with one line per TEXT
pfile() {
	_f=repo/profiles/$1
	shift
	mkdir -p "$(dirname "$_f")" &&
	printf "%s\n" "$@" >"$_f"
}

test_expect_success 'setup: a tree with a profile cascade' '
	tree_init repo gentoo &&
	tree_ebuild repo app-misc/u-1 IUSE="foo bar +baz python_targets_py1 python_targets_py2" &&
	tree_ebuild repo app-misc/testing-1 KEYWORDS="~amd64" &&
	tree_ebuild repo dev-libs/lib-1 &&
	tree_ebuild repo dev-libs/lib-2 &&
	tree_ebuild repo dev-db/sql-15 SLOT=15 IUSE="ssl" &&
	tree_ebuild repo dev-db/sql-16 SLOT=16 IUSE="ssl" &&
	tree_ebuild repo app-misc/needs-ssl-1 RDEPEND="dev-db/sql:15[ssl]" &&
	pfile base/make.defaults "PYTHON_TARGETS=\"py1\"" "USE=\"foo\"" \
		"USE_EXPAND=\"PYTHON_TARGETS\"" "IUSE_IMPLICIT=\"test\"" &&
	pfile base/use.mask "baz" &&
	pfile base/package.mask "dev-libs/lib" &&
	pfile arch/amd64/parent "../../base" &&
	pfile arch/amd64/make.defaults "ARCH=\"amd64\"" "ACCEPT_KEYWORDS=\"\${ARCH}\"" &&
	pfile p/parent "../arch/amd64" &&
	pfile p/make.defaults "USE=\"-foo bar\"" "PYTHON_TARGETS=\"py2 -py1\"" &&
	pfile p/package.mask "-dev-libs/lib" ">=dev-libs/lib-2" &&
	pfile p/package.use.mask "dev-db/sql:15 ssl" &&
	pfile package.mask "# repository-wide" "=app-misc/u-2" &&
	tree_commit repo
'

test_expect_success 'without a Portage profile only make.conf counts' '
	mkprof "" app-misc/u &&
	plan >out &&
	test_grep " app-misc/u-1::.* USE=\"-bar baz -foo -python_targets_py1 -python_targets_py2\"" out &&
	! test_grep "# portage profile" out
'

test_expect_success 'make.defaults: a USE_EXPAND variable set before USE_EXPAND counts' '
	mkprof arch/amd64 app-misc/u &&
	plan >out &&
	test_grep " app-misc/u-1::.* USE=\"-bar -baz foo python_targets_py1 -python_targets_py2\"" out
'

test_expect_success 'the cascade: parents first, incremental USE and USE_EXPAND, use.mask' '
	mkprof p app-misc/u &&
	plan >out &&
	test_grep "^# portage profile p (gentoo), cascade: gentoo:profiles/base gentoo:profiles/arch/amd64 gentoo:profiles/p$" out &&
	test_grep " app-misc/u-1::.* USE=\"bar -baz -foo -python_targets_py1 python_targets_py2\"" out
'

test_expect_success 'make.conf USE and package.use come after make.defaults' '
	mkprof p app-misc/u &&
	sed -i "/CFLAGS/a USE=\"foo -bar\"" prof/make.conf &&
	echo "app-misc/u python_targets_py1" >prof/package.use &&
	plan >out &&
	test_grep " app-misc/u-1::.* USE=\"-bar -baz foo python_targets_py1 python_targets_py2\"" out
'

test_expect_success 'use.mask beats make.conf; a child profile can unmask; use.force' '
	mkprof p app-misc/u &&
	echo "app-misc/u baz" >prof/package.use &&
	plan >out && test_grep " app-misc/u-1::.* USE=\"bar -baz " out &&
	pfile p/use.mask "-baz" &&
	tree_commit repo unmask &&
	plan >out && test_grep " app-misc/u-1::.* USE=\"bar baz " out &&
	pfile p/use.force "foo" &&
	tree_commit repo force &&
	plan >out && test_grep " app-misc/u-1::.* USE=\"bar baz foo " out &&
	pfile p/use.mask "-baz" "foo" &&
	tree_commit repo mask-beats-force &&
	plan >out && test_grep " app-misc/u-1::.* USE=\"bar baz -foo " out &&
	rm repo/profiles/p/use.force repo/profiles/p/use.mask &&
	tree_commit repo cleanup
'

test_expect_success 'package.use.mask per slot; a USE dependency on a masked flag fails' '
	mkprof p dev-db/sql:15 dev-db/sql:16 &&
	echo "dev-db/sql ssl" >prof/package.use &&
	plan >out &&
	test_grep " dev-db/sql-15::.* USE=\"-ssl\"" out &&
	test_grep " dev-db/sql-16::.* USE=\"ssl\"" out &&
	mkprof p app-misc/needs-ssl &&
	echo "dev-db/sql ssl" >prof/package.use &&
	test_expect_code 1 plan 2>err &&
	test_grep "USE dependency on .ssl. not met" err
'

test_expect_success 'package.use.force' '
	mkprof p dev-db/sql:16 &&
	pfile arch/amd64/package.use.force "dev-db/sql ssl" &&
	tree_commit repo puf &&
	plan >out && test_grep " dev-db/sql-16::.* USE=\"ssl\"" out &&
	rm repo/profiles/arch/amd64/package.use.force &&
	tree_commit repo puf-cleanup
'

test_expect_success 'the profiles'"'"' package.use: after make.defaults, before make.conf and package.use' '
	mkprof p app-misc/u &&
	pfile p/package.use "app-misc/u foo" &&
	tree_commit repo profile-package-use &&
	plan >out && test_grep " app-misc/u-1::.* USE=\"bar -baz foo " out &&
	sed -i "/CFLAGS/a USE=\"-foo\"" prof/make.conf &&
	plan >out && test_grep " app-misc/u-1::.* USE=\"bar -baz -foo " out &&
	echo "app-misc/u foo" >prof/package.use &&
	plan >out && test_grep " app-misc/u-1::.* USE=\"bar -baz foo " out &&
	rm repo/profiles/p/package.use &&
	tree_commit repo profile-package-use-cleanup
'

test_expect_success 'use.stable.* and package.use.stable.*: stable packages only, as Portage decides' '
	tree_ebuild repo app-misc/st-1 IUSE="foo qux" &&
	tree_ebuild repo app-misc/tt-1 IUSE="foo qux" KEYWORDS="~amd64" &&
	pfile arch/amd64/use.stable.mask "foo" &&
	pfile arch/amd64/package.use.stable.force "app-misc/st qux" "app-misc/tt qux" &&
	tree_commit repo stable-masks &&
	mkprof p app-misc/st app-misc/tt &&
	printf "app-misc/st foo\napp-misc/tt foo\n" >prof/package.use &&
	echo "app-misc/tt ~amd64" >prof/package.accept_keywords &&
	plan >out &&
	test_grep " app-misc/st-1::.* USE=\"-foo qux\"" out &&
	test_grep " app-misc/tt-1::.* USE=\"foo -qux\"" out &&
	# in a testing configuration nothing is stable (the masks of an
	# ebuild do not change when it is stabilised)
	sed -i "s/^ACCEPT_KEYWORDS=.*/ACCEPT_KEYWORDS=\"amd64 ~amd64\"/" prof/make.conf &&
	plan >out &&
	test_grep " app-misc/st-1::.* USE=\"foo -qux\"" out &&
	rm repo/profiles/arch/amd64/use.stable.mask \
		repo/profiles/arch/amd64/package.use.stable.force &&
	tree_commit repo stable-masks-cleanup
'

test_expect_success '@system from the profiles'"'"' packages files joins world; system = no leaves it out' '
	tree_ebuild repo sys-apps/base-1 &&
	tree_ebuild repo sys-apps/gone-1 &&
	tree_ebuild repo sys-apps/plain-1 &&
	pfile base/packages "*sys-apps/base" "*sys-apps/gone" "sys-apps/plain" &&
	pfile p/packages "-*sys-apps/gone" &&
	tree_commit repo system-set &&
	mkprof p dev-db/sql:16 &&
	plan --explain >out &&
	test_grep " sys-apps/base-1::" out &&
	test_grep "why: system .sys-apps/base. (gentoo:profiles/base/packages:1)" out &&
	test_grep "why: world .dev-db/sql:16. (prof/world:1)" out &&
	! grep "sys-apps/gone" out &&
	! grep "sys-apps/plain" out &&
	plan --json >json &&
	test_grep "\"class\":\"system\",\"atom\":\"sys-apps/base\"" json &&
	printf "[profile]\nportage-profile = p\nsystem = no\n" >prof/profile.conf &&
	plan >out &&
	! grep "sys-apps/base" out &&
	printf "[profile]\nportage-profile = p\nsystem = maybe\n" >prof/profile.conf &&
	test_expect_code 2 plan 2>err &&
	test_grep "prof/profile.conf:3: system must be yes or no, not .maybe." err &&
	rm repo/profiles/base/packages repo/profiles/p/packages &&
	tree_commit repo system-set-cleanup
'

test_expect_success 'package.mask: cascade, -atom unmask, repository-wide masks' '
	mkprof p dev-libs/lib &&
	plan >out && test_grep " dev-libs/lib-1::" out &&
	mkprof p ">=dev-libs/lib-2" &&
	test_expect_code 1 plan 2>err &&
	test_grep "dev-libs/lib-2::gentoo: masked by gentoo:profiles/p/package.mask:2" err &&
	mkprof base dev-libs/lib &&
	sed -i "s/^ACCEPT_KEYWORDS=.*//" prof/make.conf &&
	echo "ACCEPT_KEYWORDS=\"amd64\"" >>prof/make.conf &&
	test_expect_code 1 plan 2>err &&
	test_grep "dev-libs/lib-1::gentoo: masked by gentoo:profiles/base/package.mask:1" err &&
	tree_ebuild repo app-misc/u-2 IUSE="foo" &&
	tree_commit repo u-2 &&
	mkprof "" app-misc/u &&
	plan >out && test_grep " app-misc/u-1::" out &&
	mkprof "" "=app-misc/u-2" &&
	test_expect_code 1 plan 2>err &&
	test_grep "masked by gentoo:profiles/package.mask:2" err
'

test_expect_success 'ACCEPT_KEYWORDS: the profile, then make.conf over it' '
	mkprof p app-misc/testing &&
	test_expect_code 1 plan 2>err &&
	test_grep "KEYWORDS=\"~amd64\" not accepted" err &&
	sed -i "s/^ACCEPT_KEYWORDS=.*/ACCEPT_KEYWORDS=\"~amd64\"/" prof/make.conf &&
	plan >out && test_grep " app-misc/testing-1::" out
'

test_expect_success 'an arch mismatch between make.conf and the profile is an error' '
	mkprof p app-misc/u &&
	sed -i "s/^ACCEPT_KEYWORDS=.*/ACCEPT_KEYWORDS=\"arm64\"/" prof/make.conf &&
	test_expect_code 1 plan 2>err &&
	test_grep "ACCEPT_KEYWORDS is for .arm64., but the Portage profile .p. has ARCH=\"amd64\"" err
'

test_expect_success 'repo:path parents' '
	pfile q/parent "gentoo:p" &&
	pfile q/make.defaults "USE=\"foo\"" &&
	tree_commit repo q &&
	mkprof q app-misc/u &&
	plan >out &&
	test_grep "cascade: gentoo:profiles/base gentoo:profiles/arch/amd64 gentoo:profiles/p gentoo:profiles/q$" out &&
	test_grep " app-misc/u-1::.* USE=\"bar -baz foo " out
'

test_expect_success 'errors: unknown profile, missing parent, cycle, bad lines' '
	mkprof nothere app-misc/u &&
	test_expect_code 1 plan 2>err &&
	test_grep "Portage profile .nothere. (from profile.conf) is not in any pinned repository" err &&
	pfile bad/parent "../p" "../gone" &&
	pfile cyc1/parent "../cyc2" &&
	pfile cyc2/parent "../cyc1" &&
	pfile badmask/package.mask "not an atom" &&
	pfile badflag/use.mask "in valid!" &&
	tree_commit repo broken &&
	mkprof bad app-misc/u &&
	test_expect_code 1 plan 2>err &&
	test_grep "gentoo:profiles/bad/parent:2: parent .../gone.: no directory gentoo:profiles/gone" err &&
	mkprof cyc1 app-misc/u &&
	test_expect_code 1 plan 2>err &&
	test_grep "profile cascade: gentoo:profiles/cyc1 is its own parent" err &&
	mkprof badmask app-misc/u &&
	test_expect_code 1 plan 2>err &&
	test_grep "gentoo:profiles/badmask/package.mask:1: one atom per line" err &&
	mkprof badflag app-misc/u &&
	test_expect_code 1 plan 2>err &&
	test_grep "gentoo:profiles/badflag/use.mask:1: invalid USE flag .valid!." err
'

test_expect_success 'a use.mask change rekeys exactly the affected packages' '
	mkprof p app-misc/u dev-db/sql:16 &&
	plan >before &&
	pfile p/use.mask "-baz" &&
	tree_commit repo rekey &&
	plan >after &&
	test "$(plan_key before app-misc/u-1)" != "$(plan_key after app-misc/u-1)" &&
	test "$(plan_key before dev-db/sql-16)" = "$(plan_key after dev-db/sql-16)"
'

test_expect_success 'the sample tree: 23.0 cascade, forced jit, masked ssl of slot 15' '
	"$BF_SRC_DIR/scripts/sample-tree.sh" st >/dev/null &&
	cp -R "$BF_SRC_DIR/profiles/web-x86-64-v3" sp &&
	echo "dev-libs/tinypcre -jit" >>sp/package.use &&
	echo "dev-db/tinysql:15" >>sp/world &&
	binfarm plan --profile sp --tree "gentoo=$PWD/st/gentoo@main" \
		--tree "company=$PWD/st/company@main" >out &&
	test_grep "^# portage profile default/linux/amd64/23.0 (gentoo), cascade: gentoo:profiles/base gentoo:profiles/arch/amd64 gentoo:profiles/default/linux gentoo:profiles/default/linux/amd64/23.0$" out &&
	test_grep " dev-libs/tinypcre-10.42::gentoo .* USE=\"jit\"" out &&
	test_grep " dev-db/tinysql-15.7::gentoo .* USE=\"-readline -ssl\"" out &&
	test_grep " dev-db/tinysql-16.3::gentoo .* USE=\"-readline ssl\"" out &&
	sed -i "s/^ACCEPT_KEYWORDS=.*/ACCEPT_KEYWORDS=\"~amd64\"/" sp/make.conf &&
	echo "app-editors/tinyvi" >>sp/world &&
	binfarm plan --profile sp --tree "gentoo=$PWD/st/gentoo@main" \
		--tree "company=$PWD/st/company@main" >out &&
	test_grep " app-editors/tinyvi-9.1::gentoo " out &&
	test_grep " dev-libs/tinyssl-3.2.2::gentoo " out
'

test_done
