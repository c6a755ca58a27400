#!/bin/sh
test_description='binfarm plan: PMS dependency resolution, order and build keys'
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

test_expect_success 'setup: a tree' '
	tree_init repo gentoo &&
	tree_eclass repo toolchain-funcs "tc() { :; }" &&
	tree_eclass repo autotools "at() { :; }" &&
	tree_ebuild repo app-misc/top-1 DEPEND="dev-libs/lib" RDEPEND="dev-libs/rt" INHERIT=autotools &&
	tree_ebuild repo dev-libs/lib-1.0 RDEPEND="dev-libs/rtlib" INHERIT=toolchain-funcs &&
	tree_ebuild repo dev-libs/lib-1.1 &&
	tree_ebuild repo dev-libs/lib-1.2 KEYWORDS="~amd64" &&
	tree_ebuild repo dev-libs/lib-2.0_rc1 KEYWORDS="~amd64" &&
	tree_ebuild repo dev-libs/rt-1 &&
	tree_ebuild repo dev-libs/rtlib-1 &&
	tree_commit repo
'

test_expect_success 'world and dependencies in build order, best stable version' '
	mkprof app-misc/top &&
	plan >out &&
	plan_cpvs out >cpvs &&
	test_grep "^dev-libs/lib-1.1$" cpvs &&
	test_grep "^dev-libs/rt-1$" cpvs &&
	test_grep "^app-misc/top-1$" cpvs &&
	test $(wc -l <cpvs) -eq 3 &&
	test "$(grep -n lib-1.1 cpvs | cut -d: -f1)" -lt "$(grep -n top-1 cpvs | cut -d: -f1)" &&
	test_grep "^# 3 packages: 3 to build, 0 already built" out
'

test_expect_success 'ACCEPT_KEYWORDS ~arch and package.accept_keywords' '
	mkprof dev-libs/lib &&
	plan >out && test_grep " dev-libs/lib-1.1::" out &&
	echo "dev-libs/lib" >prof/package.accept_keywords &&
	plan >out && test_grep " dev-libs/lib-2.0_rc1::" out &&
	echo "<dev-libs/lib-2" >prof/package.accept_keywords &&
	plan >out && test_grep " dev-libs/lib-1.2::" out &&
	rm prof/package.accept_keywords &&
	sed -i "s/ACCEPT_KEYWORDS=.*/ACCEPT_KEYWORDS=\"~amd64\"/" prof/make.conf &&
	plan >out && test_grep " dev-libs/lib-2.0_rc1::" out
'

test_expect_success 'operators and package.mask' '
	mkprof "=dev-libs/lib-1.0" && plan >out && test_grep " dev-libs/lib-1.0::" out &&
	mkprof "<dev-libs/lib-1.1" && plan >out && test_grep " dev-libs/lib-1.0::" out &&
	mkprof "~dev-libs/lib-1.1" && plan >out && test_grep " dev-libs/lib-1.1::" out &&
	mkprof "=dev-libs/lib-1*" && plan >out && test_grep " dev-libs/lib-1.1::" out &&
	mkprof dev-libs/lib && echo ">=dev-libs/lib-1.1" >prof/package.mask &&
	plan >out && test_grep " dev-libs/lib-1.0::" out &&
	mkprof ">=dev-libs/lib-1.1" && echo "=dev-libs/lib-1.1" >prof/package.mask &&
	test_expect_code 1 plan 2>err &&
	test_grep "cannot resolve .>=dev-libs/lib-1.1.: no visible version matches" err &&
	test_grep "dev-libs/lib-1.1::gentoo: masked by prof/package.mask:1" err &&
	test_grep "dev-libs/lib-1.2::gentoo: KEYWORDS=\"~amd64\" not accepted" err &&
	test_grep "error: prof/world:1: cannot resolve" err
'

test_expect_success 'setup: USE, slots, || groups, blockers, cycles' '
	tree_ebuild repo app-misc/web-1 IUSE="+ssl gd" RDEPEND="ssl? ( dev-libs/ssl ) !ssl? ( dev-libs/nossl ) gd? ( media-libs/gd )" &&
	tree_ebuild repo dev-libs/ssl-3 SLOT="0/3" &&
	tree_ebuild repo dev-libs/nossl-1 &&
	tree_ebuild repo media-libs/gd-2 &&
	tree_ebuild repo dev-lang/php-8.2.1 SLOT="8.2" IUSE="fpm" &&
	tree_ebuild repo dev-lang/php-8.3.2 SLOT="8.3" IUSE="fpm" &&
	tree_ebuild repo app-misc/any-1 DEPEND="|| ( dev-libs/missing dev-libs/alt2 dev-libs/alt3 )" &&
	tree_ebuild repo app-misc/anypref-1 DEPEND="dev-libs/alt3 || ( dev-libs/alt2 dev-libs/alt3 )" &&
	tree_ebuild repo dev-libs/alt2-1 &&
	tree_ebuild repo dev-libs/alt3-1 &&
	tree_ebuild repo app-misc/usedep-1 DEPEND="dev-lang/php:8.3[fpm]" &&
	tree_ebuild repo app-misc/usedef-1 DEPEND="dev-lang/php:8.3[nope(+)]" &&
	tree_ebuild repo app-misc/slotop-1 DEPEND="dev-libs/ssl:=" &&
	tree_ebuild repo app-misc/block-1 RDEPEND="!dev-libs/nossl" &&
	tree_ebuild repo app-misc/cyc-a-1 DEPEND="app-misc/cyc-b" &&
	tree_ebuild repo app-misc/cyc-b-1 RDEPEND="app-misc/cyc-a" &&
	tree_ebuild repo app-misc/rcyc-a-1 RDEPEND="app-misc/rcyc-b" &&
	tree_ebuild repo app-misc/rcyc-b-1 RDEPEND="app-misc/rcyc-a" PDEPEND="app-misc/rcyc-a" &&
	tree_ebuild repo app-misc/needs-1 RDEPEND="app-misc/mid" &&
	tree_ebuild repo app-misc/mid-1 DEPEND=">=dev-libs/nothere-2" &&
	tree_ebuild repo app-misc/allopts-1 BDEPEND="dev-libs/alt2" IDEPEND="dev-libs/alt3" PDEPEND="media-libs/gd" &&
	tree_commit repo
'

test_expect_success 'USE conditionals follow IUSE defaults and package.use' '
	mkprof app-misc/web &&
	plan >out && plan_cpvs out >cpvs &&
	test_grep "^dev-libs/ssl-3$" cpvs && ! test_grep "nossl" cpvs && ! test_grep gd cpvs &&
	test_grep "USE=\"-gd ssl\"" out &&
	echo "app-misc/web -ssl gd" >prof/package.use &&
	plan >out && plan_cpvs out >cpvs &&
	test_grep "^dev-libs/nossl-1$" cpvs && test_grep "^media-libs/gd-2$" cpvs &&
	! test_grep "^dev-libs/ssl" cpvs &&
	mkprof app-misc/web &&
	sed -i "/CFLAGS/a USE=\"-ssl\"" prof/make.conf &&
	plan >out && test_grep " dev-libs/nossl-1::" out
'

test_expect_success 'slots: two slots side by side, slot atoms' '
	mkprof dev-lang/php:8.2 dev-lang/php:8.3 &&
	plan >out && plan_cpvs out >cpvs &&
	test_grep "^dev-lang/php-8.2.1$" cpvs && test_grep "^dev-lang/php-8.3.2$" cpvs &&
	test_grep "slot=8.2 " out
'

test_expect_success '|| groups: first satisfiable, then what is already chosen' '
	mkprof app-misc/any &&
	plan >out && plan_cpvs out >cpvs &&
	test_grep "^dev-libs/alt2-1$" cpvs && ! test_grep alt3 cpvs &&
	mkprof app-misc/anypref &&
	plan >out && plan_cpvs out >cpvs &&
	test_grep "^dev-libs/alt3-1$" cpvs && ! test_grep alt2 cpvs
'

test_expect_success 'USE dependencies' '
	mkprof app-misc/usedep &&
	test_expect_code 1 plan 2>err &&
	test_grep "USE dependency on .fpm. not met" err &&
	test_grep "wanted as DEPEND .dev-lang/php:8.3\[fpm\]. of app-misc/usedep-1" err &&
	echo "dev-lang/php fpm" >prof/package.use &&
	plan >out && test_grep " dev-lang/php-8.3.2::.*USE=\"fpm\"" out &&
	mkprof app-misc/usedef &&
	plan >out && test_grep " dev-lang/php-8.3.2::" out
'

test_expect_success 'slot operator := puts the sub-slot into the key' '
	mkprof app-misc/slotop &&
	plan >out && k1=$(plan_key out app-misc/slotop-1) &&
	test_grep "slot=0/3 " out &&
	sed -i "s|SLOT=\"0/3\"|SLOT=\"0/4\"|" repo/dev-libs/ssl/ssl-3.ebuild &&
	tree_commit repo subslot &&
	plan >out && k2=$(plan_key out app-misc/slotop-1) &&
	test -n "$k1" && test "$k1" != "$k2" &&
	git -C repo revert --no-edit HEAD >/dev/null
'

test_expect_success 'blockers: reported when outside the plan, an error inside' '
	mkprof app-misc/block app-misc/web &&
	plan --explain >out &&
	test_grep "blocks: !dev-libs/nossl (RDEPEND), not in the plan" out &&
	echo "app-misc/web -ssl" >prof/package.use &&
	test_expect_code 1 plan 2>err &&
	test_grep "app-misc/block-1 (RDEPEND .!dev-libs/nossl.) blocks dev-libs/nossl-1, which is in the plan" err
'

test_expect_success 'build-time cycles are errors; runtime cycles are fine' '
	mkprof app-misc/cyc-a &&
	test_expect_code 1 plan 2>err &&
	test_grep "build-time dependency cycle: .*app-misc/cyc-a-1 -DEPEND-> app-misc/cyc-b-1 -RDEPEND-> app-misc/cyc-a-1" err &&
	mkprof app-misc/rcyc-a &&
	plan >out && plan_cpvs out >cpvs &&
	test_grep rcyc-a cpvs && test_grep rcyc-b cpvs
'

test_expect_success 'an unresolvable atom names the chain' '
	mkprof app-misc/needs &&
	test_expect_code 1 plan 2>err &&
	test_grep "cannot resolve .>=dev-libs/nothere-2.: no package .dev-libs/nothere. in any repository" err &&
	test_grep "wanted as DEPEND .>=dev-libs/nothere-2. of app-misc/mid-1" err &&
	test_grep "required by app-misc/mid-1 (RDEPEND app-misc/mid)" err &&
	test_grep "required by app-misc/needs-1 (world: app-misc/needs, prof/world:1)" err
'

test_expect_success 'every dependency class is resolved; PDEPEND does not order' '
	mkprof app-misc/allopts &&
	plan --explain >out &&
	test_grep "why: BDEPEND .dev-libs/alt2. of app-misc/allopts-1" out &&
	test_grep "why: IDEPEND .dev-libs/alt3. of app-misc/allopts-1" out &&
	test_grep "why: PDEPEND .media-libs/gd. of app-misc/allopts-1" out &&
	test_grep "after: dev-libs/alt2-1$" out
'

test_expect_success 'an eclass change rekeys exactly its users and their build-time reverse deps' '
	mkprof app-misc/top app-misc/web &&
	plan >before &&
	tree_eclass repo toolchain-funcs "tc() { echo changed; }" &&
	tree_commit repo eclass &&
	plan >after &&
	for cpv in dev-libs/lib-1.1 dev-libs/rt-1 app-misc/web-1 dev-libs/ssl-3
	do
		test "$(plan_key before $cpv)" = "$(plan_key after $cpv)" || return 1
	done &&
	sed -i "s/^DEPEND=.*/DEPEND=\"=dev-libs\/lib-1.0\"/" repo/app-misc/top/top-1.ebuild &&
	tree_commit repo pin-lib-1.0 &&
	plan >before &&
	tree_eclass repo toolchain-funcs "tc() { echo changed again; }" &&
	tree_commit repo eclass2 &&
	plan >after &&
	test "$(plan_key before dev-libs/lib-1.0)" != "$(plan_key after dev-libs/lib-1.0)" &&
	test "$(plan_key before app-misc/top-1)" != "$(plan_key after app-misc/top-1)" &&
	for cpv in dev-libs/rtlib-1 dev-libs/rt-1 app-misc/web-1 dev-libs/ssl-3
	do
		test "$(plan_key before $cpv)" = "$(plan_key after $cpv)" || return 1
	done
'

test_expect_success 'a package.use change rekeys exactly the affected packages' '
	mkprof app-misc/top app-misc/web dev-lang/php:8.3 &&
	plan >before &&
	echo "dev-lang/php fpm" >prof/package.use &&
	plan >after &&
	test "$(plan_key before dev-lang/php-8.3.2)" != "$(plan_key after dev-lang/php-8.3.2)" &&
	for cpv in dev-libs/lib-1.0 app-misc/top-1 app-misc/web-1 dev-libs/ssl-3
	do
		test "$(plan_key before $cpv)" = "$(plan_key after $cpv)" || return 1
	done
'

test_expect_success 'CFLAGS change every key' '
	mkprof app-misc/web &&
	plan >before &&
	sed -i "s/-O2 -pipe/-O3 -pipe/" prof/make.conf &&
	plan >after &&
	test "$(plan_key before app-misc/web-1)" != "$(plan_key after app-misc/web-1)" &&
	test "$(plan_key before dev-libs/ssl-3)" != "$(plan_key after dev-libs/ssl-3)"
'

test_expect_success 'two pinned commits give two plans' '
	mkprof dev-libs/lib &&
	first=$(git -C repo rev-list --max-parents=0 HEAD) &&
	binfarm plan --profile prof --tree "gentoo=$PWD/repo@$first" >p1 &&
	tree_ebuild repo dev-libs/lib-1.5 &&
	tree_commit repo lib-1.5 &&
	plan >p2 &&
	test_grep " dev-libs/lib-1.1::" p1 &&
	test_grep " dev-libs/lib-1.5::" p2 &&
	test_grep "^# tree gentoo $first " p1 &&
	test_grep "^# tree gentoo $(git -C repo rev-parse HEAD) " p2
'

test_expect_success '--built skips known keys and explains rebuilds' '
	mkprof app-misc/top &&
	plan >out &&
	k=$(plan_key out dev-libs/rt-1) &&
	printf "# built\n%s dev-libs/rt-1\n0123456789abcdef0123456789abcdef app-misc/top-1\n" "$k" >built &&
	plan --built built --explain >out &&
	test_grep " skip  dev-libs/rt-1::" out &&
	test_grep "build: no, key $k is already built" out &&
	test_grep "build: yes, inputs changed since the built key 0123456789abcdef0123456789abcdef" out &&
	test_grep "^# 4 packages: 3 to build, 1 already built" out &&
	echo "bogus" >badbuilt &&
	test_expect_code 2 plan --built badbuilt 2>err &&
	test_grep "badbuilt:1: expected" err
'

test_expect_success '--json is valid JSON with the same plan' '
	mkprof app-misc/top &&
	plan --json >out.json &&
	python3 -c "
import json,sys
d=json.load(open(\"out.json\"))
assert d[\"profile\"]==\"prof\"
print(\"\n\".join(p[\"cpv\"] for p in d[\"packages\"]))
" >jcpvs &&
	plan >out && plan_cpvs out >cpvs &&
	test_cmp cpvs jcpvs
'

test_expect_success 'overlays take precedence for equal versions' '
	tree_init overlay company &&
	tree_ebuild overlay dev-libs/rt-1 IUSE="+x" &&
	tree_ebuild overlay www-apps/shop-2 RDEPEND="dev-libs/rt" KEYWORDS="~amd64" &&
	tree_commit overlay &&
	mkprof www-apps/shop &&
	echo "www-apps/shop" >prof/package.accept_keywords &&
	plan --tree "company=$PWD/overlay@main" >out &&
	test_grep " dev-libs/rt-1::company " out &&
	test_grep " www-apps/shop-2::company " out
'

test_expect_success 'bad metadata is an error naming the entry' '
	tree_init broken gentoo &&
	tree_ebuild broken dev-libs/x-1 DEPEND="|| dev-libs/y" &&
	tree_commit broken &&
	mkprof dev-libs/x &&
	test_expect_code 1 binfarm plan --profile prof --tree "gentoo=$PWD/broken@main" 2>err &&
	test_grep "dev-libs/x-1::gentoo: DEPEND: .(. expected after .||." err
'

test_expect_success 'usage errors' '
	test_expect_code 2 binfarm plan 2>err &&
	test_grep "usage: binfarm plan" err &&
	binfarm plan --help >out && test_grep -- "--explain" out
'

test_done
