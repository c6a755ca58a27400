#!/bin/sh
test_description='binfarm index: Packages and Packages.gz byte for byte as Portage writes them'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-index.sh"

# The golden files: Packages and Packages.gz written by Portage 3.0.82.
for d in gpkg-unsigned gpkg-signed xpak; do
	test_expect_success REFERENCE "$d: re-writing the golden Packages gives its bytes" '
		R=$REFERENCE_DIR/'$d' &&
		bf-index-tool rewrite --keep-unknown "$R/Packages" >out &&
		test_cmp "$R/Packages" out
	'
	test_expect_success REFERENCE "$d: read as Portage reads it, REPO_REVISIONS goes" '
		R=$REFERENCE_DIR/'$d' &&
		# allowed_pkg_keys drops it; Portage itself rewrites it so
		bf-index-tool rewrite "$R/Packages" >out &&
		grep -v "^REPO_REVISIONS: " "$R/Packages" >expect &&
		test_cmp expect out
	'
	test_expect_success REFERENCE "$d: Packages.gz is byte-identical to Portage'\''s" '
		R=$REFERENCE_DIR/'$d' &&
		ts=$(sed -n "s/^TIMESTAMP: //p" "$R/Packages") &&
		bf-index-tool gzip "$ts" "$R/Packages" >out.gz &&
		cmp "$R/Packages.gz" out.gz
	'
	test_expect_success REFERENCE "$d: indexing the golden packages gives Portage's index" '
		R=$REFERENCE_DIR/'$d' &&
		rm -rf pkgdir && cp -R "$R" pkgdir && chmod -R u+w pkgdir &&
		rm pkgdir/Packages pkgdir/Packages.gz &&
		# the copies lost their mtimes: give back the recorded MTIMEs
		awk "/^MTIME: /{m=\$2} /^PATH: /{p=\$2} /^\$/{if(p)print m, p; p=\"\"}" \
			"$R/Packages" >mtimes &&
		while read m p; do touch -d "@$m" "pkgdir/$p" || return 1; done <mtimes &&
		binfarm index -q --header CHOST=x86_64-pc-linux-gnu pkgdir &&
		grep -v -e "^REPO_REVISIONS: " -e "^TIMESTAMP: " "$R/Packages" >expect &&
		stable_index pkgdir/Packages >actual &&
		test_cmp expect actual
	'
done

test_expect_success REFERENCE 'Packages.gz holds the same bytes, with the header Python writes' '
	gzip -dc pkgdir/Packages.gz >unzipped &&
	cmp pkgdir/Packages unzipped &&
	ts=$(sed -n "s/^TIMESTAMP: //p" pkgdir/Packages) &&
	# 1f 8b, deflate, no flags (empty name), mtime = TIMESTAMP, XFL 2, OS 255
	od -An -tu1 -N10 pkgdir/Packages.gz | tr -s " " " " >hdr &&
	echo " 31 139 8 0 $((ts & 255)) $((ts >> 8 & 255)) $((ts >> 16 & 255)) $((ts >> 24 & 255)) 2 255" >expect &&
	test_cmp expect hdr
'

test_expect_success REFERENCE 'both files have mtime = TIMESTAMP' '
	ts=$(sed -n "s/^TIMESTAMP: //p" pkgdir/Packages) &&
	test "$(stat -c %Y pkgdir/Packages)" = "$ts" &&
	test "$(stat -c %Y pkgdir/Packages.gz)" = "$ts"
'

test_expect_success REFERENCE '--portage-gzip writes Portage'\''s exact Packages.gz' '
	touch pkgdir/dev-libs/libfoo-1.2.3.tbz2 &&
	binfarm index -q --portage-gzip pkgdir &&
	ts=$(sed -n "s/^TIMESTAMP: //p" pkgdir/Packages) &&
	bf-index-tool gzip "$ts" pkgdir/Packages >expect.gz &&
	cmp expect.gz pkgdir/Packages.gz &&
	test_path_is_missing pkgdir/.Packages.gz.idx
'

test_expect_success 'setup: packages in every layout' '
	mkpkg repo/dev-libs/foo/foo-1.0-1.gpkg.tar dev-libs foo-1.0 1 \
		IUSE="+ssl  doc" USE=ssl "DEPEND=dev-libs/openssl:0/3= \
		  sys-libs/zlib" SLOT=0/1 &&
	mkpkg repo/dev-libs/foo/foo-1.0-2.gpkg.tar dev-libs foo-1.0 2 BUILD_TIME=1700000100 &&
	mkpkg repo/dev-libs/foo/foo-1.0-10.gpkg.tar dev-libs foo-1.0 10 BUILD_TIME=1700000200 &&
	mkpkg repo/app-misc/bar-2.1-r3.gpkg.tar app-misc bar-2.1-r3 EAPI= SLOT=2 &&
	mkpkg repo/All/baz-0.1.gpkg.tar sys-apps baz-0.1 CHOST=aarch64-unknown-linux-gnu &&
	mkxpak repo/app-misc/qux-3.tbz2 CATEGORY=app-misc PF=qux-3 SLOT=0 EAPI=7 \
		"DESCRIPTION=not in the index" repository=gentoo &&
	mkxpak repo/app-misc/qux/qux-3-4.xpak CATEGORY=app-misc PF=qux-3 SLOT=0 \
		EAPI=7 BUILD_ID=4 repository=gentoo &&
	binfarm index --header CHOST=x86_64-pc-linux-gnu --header REPO=gentoo repo
'

test_expect_success 'every layout is indexed, in CPV then BUILD_ID order' '
	sed -n "s/^PATH: //p" repo/Packages >paths &&
	cat >expect <<-\EOF &&
	app-misc/bar-2.1-r3.gpkg.tar
	app-misc/qux-3.tbz2
	app-misc/qux/qux-3-4.xpak
	dev-libs/foo/foo-1.0-1.gpkg.tar
	dev-libs/foo/foo-1.0-2.gpkg.tar
	dev-libs/foo/foo-1.0-10.gpkg.tar
	All/baz-0.1.gpkg.tar
	EOF
	test_cmp expect paths &&
	test_grep "^PACKAGES: 7$" repo/Packages
'

test_expect_success 'stanzas follow bintree: defaults, inheritance, normalised values' '
	stanza "^BUILD_ID: 1$" repo/Packages >foo1 &&
	test_grep "^CPV: dev-libs/foo-1.0$" foo1 &&
	test_grep "^IUSE: +ssl doc$" foo1 &&
	test_grep "^DEPEND: dev-libs/openssl:0/3= sys-libs/zlib$" foo1 &&
	test_grep "^SLOT: 0/1$" foo1 &&
	! grep -e "^CHOST:" -e "^REPO:" -e "^EAPI: 0" foo1 &&
	stanza "^CPV: app-misc/bar-2.1-r3$" repo/Packages >bar &&
	! grep -e "^EAPI:" -e "^BUILD_ID:" bar &&
	test_grep "^SLOT: 2$" bar &&
	stanza "^CPV: sys-apps/baz-0.1$" repo/Packages >baz &&
	test_grep "^CHOST: aarch64-unknown-linux-gnu$" baz &&
	! grep "^DESC" repo/Packages &&
	stanza "^BUILD_ID: 4$" repo/Packages >qux &&
	test_grep "^CPV: app-misc/qux-3$" qux &&
	test_grep "^EAPI: 7$" qux
'

test_expect_success 'keys inside a stanza are in internal-name order, MTIME and REPO last' '
	mkpkg other/dev-libs/foo/foo-1.0-1.gpkg.tar dev-libs foo-1.0 1 repository=other &&
	binfarm index -q other &&
	stanza "^BUILD_ID:" other/Packages | sed "s/:.*//" >keys &&
	cat >expect <<-\EOF &&
	BUILD_ID
	BUILD_TIME
	CHOST
	CPV
	EAPI
	KEYWORDS
	LICENSE
	MD5
	PATH
	SHA1
	SIZE
	MTIME
	REPO

	EOF
	test_cmp expect keys
'

test_expect_success 'entry digests and sizes are the file'\''s' '
	f=repo/dev-libs/foo/foo-1.0-2.gpkg.tar &&
	stanza "^BUILD_ID: 2$" repo/Packages >e &&
	test_grep "^MD5: $(md5sum <$f | cut -d" " -f1)$" e &&
	test_grep "^SHA1: $(sha1sum <$f | cut -d" " -f1)$" e &&
	test_grep "^SIZE: $(wc -c <$f)$" e &&
	test_grep "^MTIME: $(stat -c %Y $f)$" e
'

test_expect_success 'the index we write parses back to the same bytes' '
	bf-index-tool rewrite repo/Packages >again &&
	test_cmp repo/Packages again &&
	gzip -dc repo/Packages.gz | cmp - repo/Packages
'

test_expect_success 'header keys given with --header stay; KEY= removes one' '
	test_grep "^REPO: gentoo$" repo/Packages &&
	touch repo/app-misc/qux-3.tbz2 &&
	binfarm index -q --header TTL=300 repo &&
	test_grep "^TTL: 300$" repo/Packages &&
	test_grep "^REPO: gentoo$" repo/Packages &&
	touch repo/app-misc/qux-3.tbz2 &&
	binfarm index -q --header TTL= repo &&
	! grep "^TTL:" repo/Packages &&
	test_expect_code 2 binfarm index --header "BAD KEY: x" repo
'

test_expect_success 'TIMESTAMP never goes backwards; unchanged content is not rewritten' '
	rm -rf ts && mkdir ts &&
	mkpkg ts/dev-libs/foo/foo-1.0-1.gpkg.tar dev-libs foo-1.0 1 &&
	SOURCE_DATE_EPOCH=2000000000 binfarm index -q ts &&
	test_grep "^TIMESTAMP: 2000000000$" ts/Packages &&
	ino=$(stat -c %i ts/Packages) &&
	SOURCE_DATE_EPOCH=2000000000 binfarm index -q ts &&
	test "$(stat -c %i ts/Packages)" = "$ino" &&
	mkpkg ts/dev-libs/foo/foo-1.0-2.gpkg.tar dev-libs foo-1.0 2 &&
	SOURCE_DATE_EPOCH=1000 binfarm index -q ts &&
	test_grep "^TIMESTAMP: 2000000001$" ts/Packages &&
	test "$(stat -c %Y ts/Packages)" = 2000000001 &&
	test "$(stat -c %Y ts/Packages.gz)" = 2000000001
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 binfarm index &&
	test_expect_code 2 binfarm index a b &&
	test_expect_code 2 binfarm index no-such-dir &&
	test_expect_code 2 binfarm index -j 0 repo &&
	binfarm index --help >help &&
	test_grep "usage: binfarm index" help
'

test_done
