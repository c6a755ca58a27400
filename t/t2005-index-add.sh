#!/bin/sh
test_description='binfarm index --add: named files only, the bytes of a full re-index'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-index.sh"

# same_as_full DIR: DIR/Packages is what indexing DIR from scratch
# writes (TIMESTAMP aside), and what a walking re-index keeps unchanged.
# Both get $same_as_full_opts, the header settings DIR was made with.
same_as_full_opts="--header CHOST=x86_64-pc-linux-gnu --header REPO=gentoo"
same_as_full() {
	rm -rf full && mkdir full &&
	(cd "$1" && tar -cf - --exclude=./Packages --exclude=./Packages.gz \
		--exclude="./.Packages*" .) | tar -xf - -C full &&
	binfarm index -q $same_as_full_opts full &&
	stable_index full/Packages >full.txt &&
	stable_index "$1"/Packages >add.txt &&
	test_cmp full.txt add.txt &&
	same_as_walk "$1"
}

# same_as_walk DIR: a walking re-index of DIR finds nothing to change.
same_as_walk() {
	gzip -dc "$1"/Packages.gz | cmp - "$1"/Packages &&
	test "$(stat -c %Y "$1"/Packages)" = "$(stat -c %Y "$1"/Packages.gz)" &&
	cp "$1"/Packages walk-before &&
	binfarm index -v $same_as_full_opts "$1" 2>walk-err &&
	test_grep "is up to date" walk-err &&
	test_cmp walk-before "$1"/Packages
}

test_expect_success 'setup: packages in several layouts, indexed' '
	mkpkg repo/dev-libs/foo/foo-1.0-1.gpkg.tar dev-libs foo-1.0 1 \
		IUSE="+ssl doc" USE=ssl "RDEPEND=ssl? ( dev-libs/openssl ) doc? ( x/y )" &&
	mkpkg repo/dev-libs/foo/foo-1.0-10.gpkg.tar dev-libs foo-1.0 10 \
		BUILD_TIME=1700000200 &&
	mkpkg repo/app-misc/bar-2.1-r3.gpkg.tar app-misc bar-2.1-r3 SLOT=2 &&
	mkpkg repo/All/baz-0.1.gpkg.tar sys-apps baz-0.1 \
		CHOST=aarch64-unknown-linux-gnu &&
	mkxpak repo/app-misc/qux/qux-3-4.xpak CATEGORY=app-misc PF=qux-3 SLOT=0 \
		EAPI=7 BUILD_ID=4 repository=gentoo &&
	binfarm index -q --header CHOST=x86_64-pc-linux-gnu --header REPO=gentoo repo
'

test_expect_success 'adding one package reads that one only and gives the full bytes' '
	mkpkg repo/dev-libs/foo/foo-1.0-2.gpkg.tar dev-libs foo-1.0 2 \
		BUILD_TIME=1700000100 "RDEPEND=!ssl? ( a/b ) c/d" &&
	old=$(sed -n "s/^TIMESTAMP: //p" repo/Packages) &&
	binfarm index -v --add repo repo/dev-libs/foo/foo-1.0-2.gpkg.tar 2>err &&
	test_grep "1 package files: 0 reused, 1 read, 0 bad; 0 old entries dropped" err &&
	! test_grep "directories listed" err &&
	test_grep "^PACKAGES: 6$" repo/Packages &&
	new=$(sed -n "s/^TIMESTAMP: //p" repo/Packages) &&
	test "$new" -gt "$old" &&
	stanza "^CPV: dev-libs/foo-1.0$" repo/Packages >foo &&
	test "$(sed -n "s/^BUILD_ID: //p" foo | tr "\n" " ")" = "1 2 10 " &&
	test_grep "^RDEPEND: a/b c/d$" foo &&
	same_as_full repo
'

test_expect_success 'paths: relative to the current directory, absolute, through a symlinked directory' '
	mkpkg repo/net-misc/n1/n1-1-1.gpkg.tar net-misc n1-1 1 &&
	mkpkg repo/net-misc/n2/n2-1-1.gpkg.tar net-misc n2-1 1 &&
	mkpkg repo/net-misc/n3/n3-1-1.gpkg.tar net-misc n3-1 1 &&
	ln -s repo/net-misc link &&
	(cd repo/net-misc && binfarm index -q --add .. n1/n1-1-1.gpkg.tar) &&
	binfarm index -q --add "$PWD/repo" "$PWD/repo/net-misc/n2/n2-1-1.gpkg.tar" \
		link/n3/n3-1-1.gpkg.tar link/n3/n3-1-1.gpkg.tar &&
	test_grep "^PATH: net-misc/n3/n3-1-1.gpkg.tar$" repo/Packages &&
	test "$(grep -c "^CPV: net-misc/n3-1$" repo/Packages)" = 1 &&
	rm link &&
	same_as_full repo
'

test_expect_success 'a package rewritten in place replaces its entry' '
	mkpkg repo/app-misc/bar-2.1-r3.gpkg.tar app-misc bar-2.1-r3 SLOT=3 \
		KEYWORDS="~amd64" &&
	touch -d @1800000000 repo/app-misc/bar-2.1-r3.gpkg.tar &&
	binfarm index -v --add repo repo/app-misc/bar-2.1-r3.gpkg.tar 2>err &&
	test_grep "1 old entries dropped" err &&
	test "$(grep -c "^CPV: app-misc/bar-2.1-r3$" repo/Packages)" = 1 &&
	stanza "^CPV: app-misc/bar-2.1-r3$" repo/Packages >bar &&
	test_grep "^SLOT: 3$" bar &&
	test_grep "^MTIME: 1800000000$" bar &&
	test_grep "^SIZE: $(stat -c %s repo/app-misc/bar-2.1-r3.gpkg.tar)$" bar &&
	same_as_full repo
'

test_expect_success 'a bad file is reported and the index left as it was' '
	cp repo/Packages p.before && cp repo/Packages.gz gz.before &&
	mkpkg repo/sys-apps/t/t-1-1.gpkg.tar sys-apps t-1 1 &&
	head -c 3000 repo/sys-apps/t/t-1-1.gpkg.tar >trunc &&
	mv trunc repo/sys-apps/t/t-1-1.gpkg.tar &&
	mkpkg repo/sys-apps/good/good-1-1.gpkg.tar sys-apps good-1 1 &&
	test_expect_code 1 binfarm index --add repo \
		repo/sys-apps/good/good-1-1.gpkg.tar \
		repo/sys-apps/t/t-1-1.gpkg.tar 2>err &&
	test_grep "repo/sys-apps/t/t-1-1.gpkg.tar.: " err &&
	test_grep "Packages. left as it was" err &&
	test_cmp p.before repo/Packages &&
	cmp gz.before repo/Packages.gz &&
	rm -r repo/sys-apps/t
'

test_expect_success 'files the walk would not index are refused too' '
	cp repo/Packages p.before &&
	mkpkg elsewhere/sys-apps/o/o-1-1.gpkg.tar sys-apps o-1 1 &&
	cp repo/sys-apps/good/good-1-1.gpkg.tar repo/good-1-1.gpkg.tar &&
	mkdir -p real/sys-apps/good && ln -s "$PWD/real/sys-apps" repo/sys-link &&
	mkpkg real/sys-apps/good/good-1-1.gpkg.tar sys-apps good-1 1 &&
	mkdir -p repo/sys-apps/l &&
	ln -s ../good/good-1-1.gpkg.tar repo/sys-apps/l/l-1-1.gpkg.tar &&
	mkpkg repo/sys-apps/wrong/right-1-1.gpkg.tar sys-apps wrong-1 1 &&
	cp repo/dev-libs/foo/foo-1.0-1.gpkg.tar repo/dev-libs/foo/foo-1.0-3.gpkg.tar &&
	touch -r repo/dev-libs/foo/foo-1.0-1.gpkg.tar repo/dev-libs/foo/foo-1.0-3.gpkg.tar &&
	echo x >repo/sys-apps/README &&
	for f in elsewhere/sys-apps/o/o-1-1.gpkg.tar repo/good-1-1.gpkg.tar \
		repo/sys-link/good/good-1-1.gpkg.tar repo/sys-apps/l/l-1-1.gpkg.tar \
		repo/sys-apps/wrong/right-1-1.gpkg.tar repo/sys-apps/none-1-1.gpkg.tar \
		repo/dev-libs/foo/foo-1.0-3.gpkg.tar repo/sys-apps/README \
		repo/sys-apps
	do
		test_expect_code 1 binfarm index --add repo "$f" 2>err &&
		test_grep "Packages. left as it was" err &&
		test_cmp p.before repo/Packages || return 1
	done &&
	binfarm index --add repo elsewhere/sys-apps/o/o-1-1.gpkg.tar 2>&1 |
		test_grep "not under the package directory" &&
	binfarm index --add repo repo/good-1-1.gpkg.tar 2>&1 |
		test_grep "not at the top" &&
	binfarm index --add repo repo/sys-apps/l/l-1-1.gpkg.tar 2>&1 |
		test_grep "symbolic link" &&
	binfarm index --add repo repo/sys-apps/none-1-1.gpkg.tar 2>&1 |
		test_grep "cannot stat: No such file" &&
	binfarm index --add repo repo/dev-libs/foo/foo-1.0-3.gpkg.tar 2>&1 |
		test_grep "foo-1.0-3.gpkg.tar.: same CPV, BUILD_ID" &&
	rm -r repo/good-1-1.gpkg.tar repo/sys-link repo/sys-apps/l \
		repo/sys-apps/wrong repo/sys-apps/README \
		repo/dev-libs/foo/foo-1.0-3.gpkg.tar
'

test_expect_success 'a symbolic link inside PKGDIR is followed to where the walk finds the file' '
	ln -s sys-apps/good repo/g &&
	binfarm index -q --add repo repo/g/good-1-1.gpkg.tar &&
	test_grep "^PATH: sys-apps/good/good-1-1.gpkg.tar$" repo/Packages &&
	rm repo/g &&
	same_as_full repo
'

test_expect_success 'a foreign Packages (CRLF, keys out of order) gives the full bytes too' '
	awk "BEGIN { RS = \"\"; ORS = \"\\r\\n\\r\\n\" } {
		n = split(\$0, l, \"\\n\"); s = \"\";
		for (i = n; i >= 1; i--) s = s l[i] (i > 1 ? \"\\r\\n\" : \"\");
		print s }" repo/Packages >foreign &&
	cp foreign repo/Packages &&
	mkpkg repo/dev-util/d/d-1-1.gpkg.tar dev-util d-1 1 &&
	binfarm index -q --add repo repo/dev-util/d/d-1-1.gpkg.tar &&
	! grep -q "$(printf "\\r")" repo/Packages &&
	same_as_full repo
'

test_expect_success 'a truncated old Packages: the torn stanza is kept as read, then repaired' '
	head -c $(($(wc -c <repo/Packages) - 30)) repo/Packages >torn &&
	cp torn repo/Packages &&
	mkpkg repo/dev-util/e/e-1-1.gpkg.tar dev-util e-1 1 &&
	binfarm index -q --add repo repo/dev-util/e/e-1-1.gpkg.tar &&
	test "$(tail -c 2 repo/Packages | od -An -c | tr -d " ")" = "\n\n" &&
	test "$(grep -c "^CPV: " repo/Packages)" = $(($(grep -c "^CPV: " torn) + 1)) &&
	gzip -dc repo/Packages.gz | cmp - repo/Packages &&
	binfarm index -v repo 2>err &&
	test_grep "1 read, 0 bad; 1 old entries dropped" err &&
	same_as_full repo
'

test_expect_success '--header with --add: changed inherited values re-format the stanzas' '
	mkpkg repo/dev-util/f/f-1-1.gpkg.tar dev-util f-1 1 &&
	binfarm index -q --add --header CHOST=aarch64-unknown-linux-gnu repo \
		repo/dev-util/f/f-1-1.gpkg.tar &&
	test_grep "^CHOST: aarch64-unknown-linux-gnu$" repo/Packages &&
	test_grep "^CHOST: x86_64-pc-linux-gnu$" repo/Packages &&
	stanza "^CPV: sys-apps/baz-0.1$" repo/Packages >baz &&
	! test_grep "^CHOST:" baz &&
	# qux has no CHOST of its own: it keeps the one it inherited.
	stanza "^CPV: app-misc/qux-3$" repo/Packages >qux &&
	test_grep "^CHOST: x86_64-pc-linux-gnu$" qux &&
	same_as_full_opts="--header CHOST=aarch64-unknown-linux-gnu --header REPO=gentoo" &&
	same_as_walk repo
'

test_expect_success '--portage-gzip and --no-gzip with --add' '
	mkpkg repo/dev-util/g/g-1-1.gpkg.tar dev-util g-1 1 &&
	binfarm index -q --portage-gzip --add repo repo/dev-util/g/g-1-1.gpkg.tar &&
	gzip -dc repo/Packages.gz | cmp - repo/Packages &&
	test_path_is_missing repo/.Packages.gz.idx &&
	mkpkg repo/dev-util/h/h-1-1.gpkg.tar dev-util h-1 1 &&
	binfarm index -q --no-gzip --add repo repo/dev-util/h/h-1-1.gpkg.tar &&
	test_path_is_missing repo/Packages.gz &&
	test_grep "^CPV: dev-util/h-1$" repo/Packages
'

test_expect_success 'our own canonical text is read in part; without its sidecar in full; same bytes' '
	same_as_full_opts="--header CHOST=x86_64-pc-linux-gnu --header REPO=gentoo" &&
	binfarm index -q $same_as_full_opts repo &&
	test_path_is_file repo/.Packages.canonical &&
	mkpkg new-foo/dev-libs/foo/foo-1.0-4.gpkg.tar dev-libs foo-1.0 4 \
		BUILD_TIME=1700000400 &&
	rm -rf a b && cp -a repo a && cp -a repo b && rm b/.Packages.canonical &&
	cp new-foo/dev-libs/foo/foo-1.0-4.gpkg.tar a/dev-libs/foo/ &&
	cp -p a/dev-libs/foo/foo-1.0-4.gpkg.tar b/dev-libs/foo/ &&
	touch -r a/dev-libs/foo/foo-1.0-4.gpkg.tar b/dev-libs/foo/foo-1.0-4.gpkg.tar &&
	SOURCE_DATE_EPOCH=2000000000 binfarm index -v --add a a/dev-libs/foo/foo-1.0-4.gpkg.tar 2>err &&
	test_grep "previous index read in part" err &&
	SOURCE_DATE_EPOCH=2000000000 binfarm index -v --add b b/dev-libs/foo/foo-1.0-4.gpkg.tar 2>err &&
	test_grep "previous index read in full" err &&
	test_cmp b/Packages a/Packages &&
	cmp b/Packages.gz a/Packages.gz &&
	stanza "^CPV: dev-libs/foo-1.0$" a/Packages >foo &&
	test "$(sed -n "s/^BUILD_ID: //p" foo | tr "\n" " ")" = "1 2 4 10 " &&
	same_as_full a
'

test_expect_success 'a Packages changed behind our back, or a sidecar that does not match: read in full' '
	rm -rf c && cp -a a c &&
	# one digit of one MD5: same length, same TIMESTAMP
	sed "0,/^MD5: ./s/^MD5: ./MD5: z/" a/Packages >c/Packages &&
	touch -r a/Packages c/Packages &&
	mkpkg c/dev-util/i/i-1-1.gpkg.tar dev-util i-1 1 &&
	binfarm index -v --add c c/dev-util/i/i-1-1.gpkg.tar 2>err &&
	test_grep "previous index read in full" err &&
	test_grep "^MD5: z" c/Packages &&
	gzip -dc c/Packages.gz | cmp - c/Packages &&
	for side in "binfarm-canonical 1" "binfarm-canonical 1\n0 0 0" \
		"binfarm-canonical 2\n$(wc -c <a/Packages) 0 0" \
		"binfarm-canonical 1\n$(($(wc -c <a/Packages) + 1)) 0 0" \
		"$(sed "2s/ [0-9]*\$/ 17/" a/.Packages.canonical)" \
		"$(sed "2s/ [0-9]* / 17 /" a/.Packages.canonical)"
	do
		rm -rf d && cp -a a d && printf "$side\n" >d/.Packages.canonical &&
		mkpkg d/dev-util/i/i-1-1.gpkg.tar dev-util i-1 1 &&
		binfarm index -v --add d d/dev-util/i/i-1-1.gpkg.tar 2>err &&
		test_grep "previous index read in full" err &&
		gzip -dc d/Packages.gz | cmp - d/Packages || return 1
	done &&
	same_as_full d
'

test_expect_success 'no Packages, or one Portage would not use: refused' '
	mkdir -p empty/dev-util/g &&
	cp repo/dev-util/g/g-1-1.gpkg.tar empty/dev-util/g/ &&
	test_expect_code 2 binfarm index --add empty empty/dev-util/g/g-1-1.gpkg.tar 2>err &&
	test_grep "Packages. does not exist; index the whole directory first" err &&
	test_path_is_missing empty/Packages &&
	printf "VERSION: 9\n\n" >empty/Packages &&
	test_expect_code 2 binfarm index --add empty empty/dev-util/g/g-1-1.gpkg.tar 2>err &&
	test_grep "is not usable" err &&
	test "$(cat empty/Packages)" = "VERSION: 9"
'

test_expect_success 'usage: --add needs PKGDIR and a FILE, and no --check' '
	test_expect_code 2 binfarm index --add repo 2>err &&
	test_grep "usage:" err &&
	test_expect_code 2 binfarm index --add --check repo repo/dev-util/g/g-1-1.gpkg.tar 2>err &&
	test_grep "do not go together" err &&
	test_expect_code 2 binfarm index repo repo/dev-util/g/g-1-1.gpkg.tar 2>err
'

test_done
