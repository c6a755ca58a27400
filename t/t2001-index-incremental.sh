#!/bin/sh
test_description='binfarm index: incremental updates and --check'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-index.sh"

test_expect_success 'setup: five packages, indexed from scratch' '
	for i in 1 2 3 4 5; do
		mkpkg repo/dev-libs/p$i/p$i-1.0-1.gpkg.tar dev-libs p$i-1.0 1 || return 1
	done &&
	binfarm index -v repo 2>err &&
	test_grep "5 package files: 0 reused, 5 read, 0 bad" err
'

test_expect_success 'a second run opens no package and rewrites nothing' '
	ino=$(stat -c %i repo/Packages) &&
	gzino=$(stat -c %i repo/Packages.gz) &&
	binfarm index -v repo 2>err &&
	test_grep "5 package files: 5 reused, 0 read, 0 bad" err &&
	test_grep "is up to date" err &&
	test "$(stat -c %i repo/Packages)" = "$ino" &&
	test "$(stat -c %i repo/Packages.gz)" = "$gzino"
'

test_expect_success 'an unchanged file is reused without being opened' '
	# Same size and mtime, different bytes: only reading would notice.
	f=repo/dev-libs/p3/p3-1.0-1.gpkg.tar &&
	cp -p "$f" saved &&
	m=$(stat -c %Y "$f") &&
	dd if=/dev/zero of="$f" bs=1 count=16 seek=2048 conv=notrunc 2>/dev/null &&
	touch -d "@$m" "$f" &&
	cp repo/Packages before &&
	binfarm index -v repo 2>err &&
	test_grep "5 reused, 0 read" err &&
	test_cmp before repo/Packages &&
	cp -p saved "$f"
'

test_expect_success 'adding one package reads just that one' '
	mkpkg repo/dev-libs/p6/p6-1.0-1.gpkg.tar dev-libs p6-1.0 1 &&
	binfarm index -v repo 2>err &&
	test_grep "6 package files: 5 reused, 1 read, 0 bad; 0 old entries dropped" err &&
	test_grep "^PACKAGES: 6$" repo/Packages &&
	gzip -dc repo/Packages.gz | cmp - repo/Packages
'

test_expect_success 'a changed file is read again' '
	touch -d @1800000000 repo/dev-libs/p2/p2-1.0-1.gpkg.tar &&
	binfarm index -v repo 2>err &&
	test_grep "5 reused, 1 read" err &&
	test_grep "1 old entries dropped" err &&
	stanza "^CPV: dev-libs/p2-1.0$" repo/Packages >e &&
	test_grep "^MTIME: 1800000000$" e
'

test_expect_success 'a removed file loses its entry' '
	rm repo/dev-libs/p4/p4-1.0-1.gpkg.tar &&
	binfarm index -v repo 2>err &&
	test_grep "5 package files: 5 reused, 0 read, 0 bad; 1 old entries dropped" err &&
	! grep "p4-1.0" repo/Packages &&
	test_grep "^PACKAGES: 5$" repo/Packages
'

test_expect_success 'the incremental result is the from-scratch result' '
	cp repo/Packages incremental &&
	mkdir scratch && cp -Rp repo/dev-libs scratch/ &&
	binfarm index -q scratch &&
	stable_index incremental >a && stable_index scratch/Packages >b &&
	test_cmp a b
'

test_expect_success 'Packages.gz segments of unchanged stanzas are reused' '
	# 3000 synthetic stanzas: the gz is written in segments; adding one
	# stanza recompresses only its segment and the header.
	awk "BEGIN { print \"VERSION: 0\\nTIMESTAMP: 1\\n\";
		for (i = 0; i < 3000; i++) printf \"CPV: cat/p%05d-1\\nPATH: cat/p%05d-1.gpkg.tar\\nSIZE: %d\\n\\n\", i, i, i * 7 }" >text1 &&
	mkdir seg &&
	bf-index-tool write seg 1 text1 >out &&
	gzip -dc seg/Packages.gz | cmp - text1 &&
	awk "BEGIN { print \"VERSION: 0\\nTIMESTAMP: 2\\n\";
		for (i = 0; i < 3000; i++) { printf \"CPV: cat/p%05d-1\\nPATH: cat/p%05d-1.gpkg.tar\\nSIZE: %d\\n\\n\", i, i, i * 7;
		if (i == 1500) print \"CPV: cat/new-1\\nPATH: cat/new-1.gpkg.tar\\n\" } }" >text2 &&
	bf-index-tool write seg 2 text2 >out &&
	read x nseg y reused <out &&
	test "$reused" -gt 0 && test "$reused" -ge $((nseg - 3)) &&
	gzip -dc seg/Packages.gz | cmp - text2 &&
	test "$(od -An -tu1 -j4 -N1 seg/Packages.gz | tr -d " ")" = 2
'

test_expect_success 'a tampered gz sidecar or gz file is not trusted' '
	# point every segment at the first one'\''s compressed bytes
	awk "NR > 4 { \$4 = 10 } { print }" seg/.Packages.gz.idx >idx &&
	cp idx seg/.Packages.gz.idx &&
	bf-index-tool write seg 3 text1 >out &&
	read x nseg y reused <out &&
	test "$reused" -le 1 &&
	gzip -dc seg/Packages.gz | cmp - text1 &&
	printf "garbage" >seg/Packages.gz &&
	bf-index-tool write seg 4 text2 >out &&
	read x nseg y reused <out &&
	test "$reused" = 0 &&
	gzip -dc seg/Packages.gz | cmp - text2
'

test_expect_success 'a new --header CHOST or REPO is not inherited by entries read before' '
	# PackageIndex gives each stanza the header CHOST and REPO as it reads.
	binfarm index -q --header CHOST=x86_64-pc-linux-gnu --header REPO=gentoo repo &&
	test "$(grep -c "^CHOST: " repo/Packages)" = 1 &&
	binfarm index -q --header CHOST=aarch64-unknown-linux-gnu --header REPO=other repo &&
	test "$(grep -c "^CHOST: x86_64-pc-linux-gnu$" repo/Packages)" = 5 &&
	test "$(grep -c "^REPO: gentoo$" repo/Packages)" = 5 &&
	rm -rf fresh && mkdir fresh && cp -a repo/dev-libs fresh/ &&
	binfarm index -q --header CHOST=aarch64-unknown-linux-gnu --header REPO=other fresh &&
	stable_index repo/Packages >inc && stable_index fresh/Packages >full &&
	test_cmp full inc &&
	binfarm index -q --header CHOST= --header REPO= repo &&
	binfarm index -q --header CHOST= --header REPO= fresh &&
	stable_index repo/Packages >inc && stable_index fresh/Packages >full &&
	test_cmp full inc
'

test_expect_success '--check: a current index passes and nothing is written' '
	cp -p repo/Packages before &&
	binfarm index --check repo >out 2>err &&
	test_must_be_empty_or_missing() { ! test -s "$1"; } &&
	test_must_be_empty_or_missing out &&
	test "$(stat -c %Y repo/Packages)" = "$(stat -c %Y before)"
'

test_expect_success '--check reports new, changed and missing files' '
	mkpkg repo/dev-libs/p7/p7-1.0-1.gpkg.tar dev-libs p7-1.0 1 &&
	touch -d @1800000001 repo/dev-libs/p1/p1-1.0-1.gpkg.tar &&
	rm repo/dev-libs/p5/p5-1.0-1.gpkg.tar &&
	cp repo/Packages before &&
	test_expect_code 1 binfarm index --check repo >out &&
	test_grep "^.dev-libs/p7/p7-1.0-1.gpkg.tar. is not in Packages$" out &&
	test_grep "^.dev-libs/p1/p1-1.0-1.gpkg.tar. changed since Packages was written$" out &&
	test_grep "^.dev-libs/p5/p5-1.0-1.gpkg.tar. (dev-libs/p5-1.0) is in Packages but not in the repository$" out &&
	test_cmp before repo/Packages &&
	binfarm index -q repo &&
	binfarm index --check repo
'

test_expect_success '--check reports a missing or stale Packages.gz' '
	mv repo/Packages.gz gz &&
	test_expect_code 1 binfarm index --check repo >out &&
	test_grep "^Packages.gz is missing$" out &&
	mv gz repo/Packages.gz &&
	touch -d @1000 repo/Packages.gz &&
	test_expect_code 1 binfarm index --check repo >out &&
	test_grep "is not equal to compressed index timestamp" out &&
	echo stale | gzip -c >repo/Packages.gz &&
	test_expect_code 1 binfarm index --check repo >out &&
	test_grep "does not hold the same bytes" out &&
	binfarm index -v repo 2>err &&
	test_grep "wrote" err &&
	binfarm index --check repo
'

test_expect_success 'an index without Packages.gz is rewritten with one; --no-gzip removes it' '
	rm repo/Packages.gz &&
	binfarm index -q repo &&
	gzip -dc repo/Packages.gz | cmp - repo/Packages &&
	binfarm index -q --no-gzip repo &&
	test_path_is_missing repo/Packages.gz &&
	test_path_is_missing repo/.Packages.gz.idx
'

test_done
