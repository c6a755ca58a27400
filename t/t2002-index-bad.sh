#!/bin/sh
test_description='binfarm index: bad input is reported, skipped, and loses nothing'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-index.sh"

test_expect_success 'setup: three good packages, indexed' '
	mkpkg repo/dev-libs/good/good-1.0-1.gpkg.tar dev-libs good-1.0 1 &&
	mkpkg repo/dev-libs/good/good-1.0-2.gpkg.tar dev-libs good-1.0 2 &&
	mkxpak repo/app-misc/old-1.tbz2 CATEGORY=app-misc PF=old-1 SLOT=0 &&
	binfarm index -q repo &&
	test_grep "^PACKAGES: 3$" repo/Packages &&
	cp repo/Packages good-index
'

# check_bad PATH REGEX: indexing reports PATH with a message matching
# REGEX on one line, exits 1, and still indexes the three good packages.
check_bad() {
	test_expect_code 1 binfarm index -q repo 2>err &&
	test_grep "^binfarm index: warning: .repo/$1.: $2" err &&
	test "$(grep -c "" err)" = 1 &&
	test_grep "^PACKAGES: 3$" repo/Packages &&
	for p in dev-libs/good/good-1.0-1.gpkg.tar dev-libs/good/good-1.0-2.gpkg.tar \
		app-misc/old-1.tbz2; do
		test_grep "^PATH: $p$" repo/Packages || return 1
	done &&
	gzip -dc repo/Packages.gz | cmp - repo/Packages
}

test_expect_success 'a truncated gpkg among good ones' '
	mkpkg x.gpkg.tar dev-libs trunc-1.0 1 &&
	mkdir -p repo/dev-libs/trunc &&
	head -c 3000 x.gpkg.tar >repo/dev-libs/trunc/trunc-1.0-1.gpkg.tar &&
	check_bad dev-libs/trunc/trunc-1.0-1.gpkg.tar "" &&
	rm -r repo/dev-libs/trunc
'

test_expect_success 'a gpkg with a flipped byte in its metadata' '
	mkpkg repo/dev-libs/flip/flip-1.0-1.gpkg.tar dev-libs flip-1.0 1 &&
	f=repo/dev-libs/flip/flip-1.0-1.gpkg.tar &&
	printf "\\377" | dd of=$f bs=1 seek=1100 conv=notrunc 2>/dev/null &&
	check_bad dev-libs/flip/flip-1.0-1.gpkg.tar "" &&
	rm -r repo/dev-libs/flip
'

test_expect_success 'an empty file' '
	mkdir -p repo/dev-libs/empty && : >repo/dev-libs/empty/empty-1-1.gpkg.tar &&
	check_bad dev-libs/empty/empty-1-1.gpkg.tar "empty file" &&
	rm -r repo/dev-libs/empty
'

test_expect_success 'a directory named like a package' '
	mkdir -p repo/dev-libs/dir/dir-1.0-1.gpkg.tar &&
	check_bad dev-libs/dir/dir-1.0-1.gpkg.tar "is a directory, not a package file" &&
	rm -r repo/dev-libs/dir
'

test_expect_success 'a FIFO named like a package is reported, not waited on' '
	mkdir -p repo/dev-libs/fifo && mkfifo repo/dev-libs/fifo/fifo-1.0-1.gpkg.tar &&
	test_expect_code 1 timeout 20 binfarm index -q repo 2>err &&
	test_grep "^binfarm index: warning: .repo/dev-libs/fifo/fifo-1.0-1.gpkg.tar.: not a regular file" err &&
	test_grep "^PACKAGES: 3$" repo/Packages &&
	rm -r repo/dev-libs/fifo
'

test_expect_success 'a symbolic link named like a package' '
	ln -s ../../app-misc/old-1.tbz2 repo/dev-libs/link-1.tbz2 &&
	check_bad dev-libs/link-1.tbz2 "is a symbolic link" &&
	rm repo/dev-libs/link-1.tbz2
'

test_expect_success 'a name that does not match PF' '
	cp repo/dev-libs/good/good-1.0-1.gpkg.tar repo/dev-libs/good/good-2.0-1.gpkg.tar &&
	check_bad dev-libs/good/good-2.0-1.gpkg.tar "binary package name is invalid: PF is .good-1.0., so the name must be .good-1.0-<BUILD_ID>.gpkg.tar." &&
	rm repo/dev-libs/good/good-2.0-1.gpkg.tar
'

test_expect_success 'a multi-instance package outside cat/pn/' '
	mkdir -p repo/dev-libs/other &&
	cp repo/dev-libs/good/good-1.0-1.gpkg.tar repo/dev-libs/other/ &&
	check_bad dev-libs/other/good-1.0-1.gpkg.tar "multi-instance package must be in .dev-libs/good/." &&
	rm -r repo/dev-libs/other
'

test_expect_success 'a package in the wrong category directory' '
	mkdir -p repo/sys-apps &&
	cp repo/app-misc/old-1.tbz2 repo/sys-apps/ &&
	check_bad sys-apps/old-1.tbz2 "package must be in .app-misc/. (CATEGORY) or .All/." &&
	rm -r repo/sys-apps
'

test_expect_success 'a package file at the top of PKGDIR' '
	cp repo/app-misc/old-1.tbz2 repo/ &&
	check_bad old-1.tbz2 "package files belong in" &&
	rm repo/old-1.tbz2
'

test_expect_success 'an .xpak without a build id' '
	mkdir -p repo/app-misc/old &&
	cp repo/app-misc/old-1.tbz2 repo/app-misc/old/old-1.xpak &&
	check_bad app-misc/old/old-1.xpak "binary package name is invalid" &&
	rm -r repo/app-misc/old
'

test_expect_success 'missing CATEGORY, PF or SLOT' '
	mkxpak repo/app-misc/noslot-1.tbz2 CATEGORY=app-misc PF=noslot-1 &&
	check_bad app-misc/noslot-1.tbz2 "missing metadata key(s): SLOT$" &&
	mkxpak repo/app-misc/noslot-1.tbz2 SLOT=0 &&
	check_bad app-misc/noslot-1.tbz2 "missing metadata key(s): CATEGORY, PF$" &&
	rm repo/app-misc/noslot-1.tbz2
'

test_expect_success 'an invalid BUILD_ID, category or PF in the metadata' '
	mkdir -p repo/app-misc/bid &&
	mkxpak repo/app-misc/bid/bid-1-1.xpak CATEGORY=app-misc PF=bid-1 SLOT=0 BUILD_ID=x1 &&
	check_bad app-misc/bid/bid-1-1.xpak "invalid BUILD_ID .x1.$" &&
	rm -r repo/app-misc/bid &&
	mkdir -p repo/.bad &&
	mkxpak repo/.bad/p-1.tbz2 CATEGORY=.bad PF=p-1 SLOT=0 &&
	check_bad .bad/p-1.tbz2 "unrecognized category" &&
	rm -r repo/.bad &&
	mkxpak repo/app-misc/nover.tbz2 CATEGORY=app-misc PF=nover SLOT=0 &&
	check_bad app-misc/nover.tbz2 "PF .nover. is not a valid package name and version" &&
	rm repo/app-misc/nover.tbz2
'

test_expect_success 'hostile XPAK trailers: clear errors, no crash' '
	good=repo/app-misc/old-1.tbz2 &&
	size=$(wc -c <$good) &&
	# the trailer says the blob is larger than the file
	{ head -c $((size - 8)) $good; be32 99999999; printf STOP; } >repo/app-misc/big-1.tbz2 &&
	check_bad app-misc/big-1.tbz2 "XPAK length 99999999 does not fit" &&
	rm repo/app-misc/big-1.tbz2 &&
	# no trailer at all
	head -c $((size - 3)) $good >repo/app-misc/cut-1.tbz2 &&
	check_bad app-misc/cut-1.tbz2 "no XPAK trailer" &&
	rm repo/app-misc/cut-1.tbz2 &&
	# an index entry pointing outside the data
	mkxpak h.tbz2 CATEGORY=app-misc PF=h-1 SLOT=0 &&
	hsize=$(wc -c <h.tbz2) &&
	blob=$(($(od -An -tu1 -j$((hsize - 8)) -N4 h.tbz2 | awk "{print \$1*16777216+\$2*65536+\$3*256+\$4}"))) &&
	start=$((hsize - 8 - blob)) &&
	{ head -c $((start + 16 + 4 + 8)) h.tbz2; be32 5000; tail -c +$((start + 16 + 4 + 8 + 4 + 1)) h.tbz2; } >repo/app-misc/h-1.tbz2 &&
	test "$(wc -c <repo/app-misc/h-1.tbz2)" = $hsize &&
	check_bad app-misc/h-1.tbz2 "XPAK entry .CATEGORY. points outside the data" &&
	# an index entry whose name runs past the index
	{ head -c $((start + 16)) h.tbz2; be32 100000; tail -c +$((start + 16 + 4 + 1)) h.tbz2; } >repo/app-misc/h-1.tbz2 &&
	check_bad app-misc/h-1.tbz2 "XPAK index entry 0 (name length 100000) runs past the end of the index" &&
	rm repo/app-misc/h-1.tbz2
'

test_expect_success 'bf-index-tool xpak reads the golden .tbz2 metadata' '
	test_when_finished "true" &&
	bf-index-tool xpak repo/app-misc/old-1.tbz2 >meta &&
	cat >expect <<-\EOF &&
	CATEGORY: app-misc
	PF: old-1
	SLOT: 0
	EOF
	test_cmp expect meta
'

test_expect_success REFERENCE 'the golden .tbz2 files read through bf_xpak_read' '
	bf-index-tool xpak "$REFERENCE_DIR/xpak/dev-libs/libfoo-1.2.3.tbz2" >meta &&
	test_grep "^CATEGORY: dev-libs$" meta &&
	test_grep "^PF: libfoo-1.2.3$" meta &&
	test_grep "^IUSE: +static-libs doc$" meta &&
	test_grep "^libfoo-1.2.3.ebuild: " meta
'

test_expect_success 'two files of one instance: the second is reported' '
	# same metadata, size and mtime under another valid name
	mkpkg repo/dev-libs/dup/dup-1.0-1.gpkg.tar dev-libs dup-1.0 BUILD_ID=1 &&
	cp repo/dev-libs/dup/dup-1.0-1.gpkg.tar repo/dev-libs/dup/dup-1.0-2.gpkg.tar &&
	touch -d @1700000000 repo/dev-libs/dup/*.gpkg.tar &&
	test_expect_code 1 binfarm index -q repo 2>err &&
	test_grep "dup-1.0-2.gpkg.tar.: same CPV, BUILD_ID" err &&
	test "$(grep -c "^CPV: dev-libs/dup-1.0$" repo/Packages)" = 1 &&
	rm -r repo/dev-libs/dup
'

test_expect_success 'a duplicate instance followed by more builds of the CPV' '
	# Each is compared with the last kept entry, never with a dropped one.
	mkpkg repo/dev-libs/dup/dup-1.0-1.gpkg.tar dev-libs dup-1.0 1 &&
	cp repo/dev-libs/dup/dup-1.0-1.gpkg.tar repo/dev-libs/dup/dup-1.0-3.gpkg.tar &&
	touch -d @1700000000 repo/dev-libs/dup/*.gpkg.tar &&
	mkpkg repo/dev-libs/dup/dup-1.0-2.gpkg.tar dev-libs dup-1.0 2 &&
	mkpkg repo/dev-libs/dup/dup-1.0-10.gpkg.tar dev-libs dup-1.0 10 &&
	test_expect_code 1 binfarm index -q repo 2>err &&
	test_grep "dup-1.0-3.gpkg.tar.: same CPV, BUILD_ID" err &&
	test "$(grep -c "" err)" = 1 &&
	stanza "^CPV: dev-libs/dup-1.0$" repo/Packages >dup &&
	test "$(sed -n "s/^BUILD_ID: //p" dup | tr "\n" " ")" = "1 2 10 " &&
	rm -r repo/dev-libs/dup
'

test_expect_success 'a FIFO as Packages is refused, not waited on' '
	cp -R repo fifo-repo && rm fifo-repo/Packages && mkfifo fifo-repo/Packages &&
	test_must_fail timeout 20 binfarm index -q fifo-repo 2>err &&
	test_grep "cannot read .fifo-repo/Packages.: not a regular file" err &&
	test -p fifo-repo/Packages &&
	rm fifo-repo/Packages.gz && mkfifo fifo-repo/Packages.gz &&
	test_must_fail timeout 20 binfarm index --check fifo-repo 2>err &&
	rm -r fifo-repo
'

test_expect_success 'a corrupt existing Packages is rebuilt from the files' '
	binfarm index -q repo &&
	head -c 100 /dev/urandom >repo/Packages &&
	binfarm index -v repo 2>err &&
	test_grep "has no supported VERSION; indexing from scratch" err &&
	test_grep "3 package files: 0 reused, 3 read, 0 bad" err &&
	stable_index good-index >a && stable_index repo/Packages >b &&
	test_cmp a b
'

test_expect_success 'a Packages with wrong entries is corrected' '
	sed -e "s/^MD5: .*/MD5: /" -e "s/^SIZE: .*/SIZE: 12/" repo/Packages >p &&
	cp p repo/Packages &&
	printf "junk" >repo/Packages.gz &&
	printf "binfarm-gzidx 2\ntext 1 2 3\n" >repo/.Packages.gz.idx &&
	binfarm index -v repo 2>err &&
	test_grep "0 reused, 3 read" err &&
	stable_index good-index >a && stable_index repo/Packages >b &&
	test_cmp a b &&
	gzip -dc repo/Packages.gz | cmp - repo/Packages
'

test_expect_success 'a stanza without CPV or a torn last stanza is tolerated' '
	{ cat repo/Packages; printf "PATH: x\n\nCPV: cat/torn-1\nSIZE: 1"; } >p &&
	cp p repo/Packages &&
	binfarm index -v repo 2>err &&
	test_grep "3 reused, 0 read" err &&
	test_grep "1 old entries dropped" err &&
	stable_index good-index >a && stable_index repo/Packages >b &&
	test_cmp a b
'

test -x /usr/bin/time && test_set_prereq GNUTIME

# stale_stanzas N: N package stanzas whose files do not exist.
stale_stanzas() {
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++)
		printf "BUILD_ID: 1\nBUILD_TIME: 1700000000\nCPV: app-misc/p%d-1.0\nDEFINED_PHASES: install\nEAPI: 8\nKEYWORDS: amd64\nLICENSE: MIT\nMD5: d41d8cd98f00b204e9800998ecf8427e\nMTIME: 1700000000\nPATH: app-misc/p%d/p%d-1.0-1.gpkg.tar\nSHA1: da39a3ee5e6b4b0d3255bfef95601890afd80709\nSIZE: 10240\nSLOT: 0\nUSE: abi_x86_64 amd64\n\n", i, i, i }'
}

test_expect_success GNUTIME 'an old Packages of 200,000 stale stanzas costs no memory' '
	binfarm index -q repo &&
	cp repo/Packages good-now &&
	{ cat good-now && stale_stanzas 200000; } >repo/Packages &&
	size=$(wc -c <repo/Packages) &&
	/usr/bin/time -f "%M" -o rss binfarm index -v repo 2>err &&
	test_grep "3 reused, 0 read, 0 bad; 200000 old entries dropped" err &&
	stable_index good-now >a && stable_index repo/Packages >b &&
	test_cmp a b &&
	gzip -dc repo/Packages.gz | cmp - repo/Packages &&
	# it used to hold the text and all its entries: 3.5 times its size
	test $(tail -n 1 rss) -lt $((size / 1024 / 2))
'

test_expect_success 'stale stanzas go even when the times say nothing changed' '
	binfarm index -q repo &&
	cp repo/Packages good-now &&
	ts=$(sed -n "s/^TIMESTAMP: //p" repo/Packages) &&
	{ cat good-now && stale_stanzas 2 && printf "PATH: y\n\n"; } >repo/Packages &&
	touch -d "@$ts" repo/Packages repo/Packages.gz &&
	binfarm index -v repo 2>err &&
	test_grep "2 old entries dropped" err &&
	test_grep "wrote .repo/Packages." err &&
	stable_index good-now >a && stable_index repo/Packages >b &&
	test_cmp a b &&
	gzip -dc repo/Packages.gz | cmp - repo/Packages
'

test_expect_success 'bad files are never removed or changed' '
	mkdir -p repo/dev-libs/empty && : >repo/dev-libs/empty/empty-1-1.gpkg.tar &&
	test_expect_code 1 binfarm index -q repo 2>err &&
	test_path_is_file repo/dev-libs/empty/empty-1-1.gpkg.tar &&
	test_expect_code 1 binfarm index --check repo >out 2>err &&
	test_grep "empty-1-1.gpkg.tar.: empty file" err
'

test_done
