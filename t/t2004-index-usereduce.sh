#!/bin/sh
test_description='binfarm index: USE-conditional values reduced as bintree._eval_use_flags() does'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-index.sh"

test_expect_success 'setup: one package with ssl, one without' '
	mkpkg repo/net-misc/a/a-1.0-1.gpkg.tar net-misc a-1.0 1 \
		"USE=amd64 ssl" \
		"RDEPEND=ssl? ( dev-libs/openssl:= ) !ssl? ( dev-libs/nettle )" \
		"DEPEND=ssl? ( dev-libs/openssl:= ) doc? ( app-doc/doxygen ) sys-libs/zlib[ssl?,static-libs?]" \
		"LICENSE=|| ( doc? ( FDL-1.3 ) MIT ) ssl? ( openssl )" \
		"RESTRICT=!test? ( test ) ssl? ( bindist )" &&
	mkpkg repo/net-misc/b/b-1.0-1.gpkg.tar net-misc b-1.0 1 \
		"USE=amd64" \
		"RDEPEND=ssl? ( dev-libs/openssl:= ) !ssl? ( dev-libs/nettle )" \
		"PDEPEND=|| ( ssl? ( dev-libs/openssl ) gnutls? ( net-libs/gnutls ) )" &&
	binfarm index -q repo
'

test_expect_success 'USE=ssl keeps the ssl? group and drops !ssl?' '
	stanza "^CPV: net-misc/a-1.0$" repo/Packages >a &&
	test_grep "^RDEPEND: dev-libs/openssl:=$" a &&
	test_grep "^DEPEND: dev-libs/openssl:= sys-libs/zlib\\[ssl\\]$" a &&
	test_grep "^LICENSE: MIT openssl$" a &&
	test_grep "^RESTRICT: test bindist$" a
'

test_expect_success 'USE without ssl keeps !ssl?; an any-of left empty is what Portage writes' '
	stanza "^CPV: net-misc/b-1.0$" repo/Packages >b &&
	test_grep "^RDEPEND: dev-libs/nettle$" b &&
	test_grep "^PDEPEND: __const__/empty-any-of$" b
'

test_expect_success 'an invalid dependency string is reported and the package left out' '
	cp repo/Packages good &&
	mkpkg repo/net-misc/c/c-1.0-1.gpkg.tar net-misc c-1.0 1 \
		"RDEPEND=ssl? ( dev-libs/openssl" &&
	mkpkg repo/net-misc/d/d-1.0-1.gpkg.tar net-misc d-1.0 1 \
		"DEPEND=dev-libs/foo)" &&
	test_expect_code 1 binfarm index -q repo 2>err &&
	test_grep "repo/net-misc/c/c-1.0-1.gpkg.tar.: invalid RDEPEND: Missing .). at end of string" err &&
	test_grep "repo/net-misc/d/d-1.0-1.gpkg.tar.: invalid DEPEND: missing whitespace around .). at .dev-libs/foo)., token 1" err &&
	test "$(grep -c "" err)" = 2 &&
	test_grep "^PACKAGES: 2$" repo/Packages &&
	! test_grep "net-misc/c-1.0\\|net-misc/d-1.0" repo/Packages &&
	stable_index repo/Packages >now && stable_index good >was &&
	test_cmp was now &&
	rm -r repo/net-misc/c repo/net-misc/d
'

test_expect_success 'reused entries stay reduced; a re-index from scratch is identical' '
	mkpkg repo/net-misc/e/e-1.0-1.gpkg.tar net-misc e-1.0 1 "USE=x" \
		"RDEPEND=x? ( dev-libs/x )" &&
	binfarm index -q repo &&
	test_grep "^RDEPEND: dev-libs/x$" repo/Packages &&
	stanza "^CPV: net-misc/a-1.0$" repo/Packages >a2 &&
	test_cmp a a2 &&
	rm -rf fresh && mkdir fresh && cp -a repo/net-misc fresh/ &&
	binfarm index -q fresh &&
	stable_index repo/Packages >inc && stable_index fresh/Packages >full &&
	test_cmp full inc
'

test_done
