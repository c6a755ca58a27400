#!/bin/sh
test_description='binfarm index: the directory cache never hides a change'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-index.sh"

# A listing is recorded only if the directory's mtime and ctime are older
# than the start of the run (its own clock tick included); wait a tick so
# that directories changed just now are settled before the next run.
settle() { sleep 1; }

# dirs RUN-OUTPUT: "LISTED CACHED" from `binfarm index -v`
dirs() {
	sed -n "s/.*: \([0-9]*\) directories listed, \([0-9]*\) from the cache.*/\1 \2/p" "$1"
}

test_expect_success 'setup: six packages in three layouts' '
	for i in 1 2 3 4; do
		mkpkg repo/dev-libs/p$i/p$i-1.0-1.gpkg.tar dev-libs p$i-1.0 1 || return 1
	done &&
	mkpkg repo/app-misc/q-2.0.gpkg.tar app-misc q-2.0 &&
	mkpkg repo/All/r-3.0.gpkg.tar app-misc r-3.0 &&
	mkpkg spare/p1-1.0-2.gpkg.tar dev-libs p1-1.0 2 &&
	mkpkg spare/p9-1.0-1.gpkg.tar dev-libs p9-1.0 1 &&
	mkpkg spare/p2-1.0-1.gpkg.tar dev-libs p2-1.0 1 BUILD_TIME=1700000099 &&
	settle &&
	binfarm index -v repo 2>err &&
	test_grep "6 package files: 0 reused, 6 read" err &&
	test_path_is_file repo/.Packages.dircache
'

test_expect_success 'an unchanged tree is not listed again' '
	binfarm index -v repo 2>err &&
	test "$(dirs err)" = "0 7" &&
	test_grep "6 package files: 6 reused, 0 read" err
'

test_expect_success 'a package added to a cached directory is read' '
	cp spare/p1-1.0-2.gpkg.tar repo/dev-libs/p1/ &&
	binfarm index -v repo 2>err &&
	test_grep "7 package files: 6 reused, 1 read" err &&
	test_grep "^PATH: dev-libs/p1/p1-1.0-2.gpkg.tar$" repo/Packages
'

test_expect_success 'a removed package is dropped' '
	settle &&
	rm repo/dev-libs/p3/p3-1.0-1.gpkg.tar &&
	binfarm index -v repo 2>err &&
	test_grep "6 package files: 6 reused, 0 read, 0 bad; 1 old entries dropped" err &&
	! grep "p3-1.0" repo/Packages
'

test_expect_success 'a package rewritten in place, its directory unchanged, is read' '
	settle &&
	binfarm index -q repo &&
	d=repo/dev-libs/p2 &&
	dm=$(stat -c %.9Y:%.9Z $d) &&
	# same name, same inode: the directory does not change
	cat spare/p2-1.0-1.gpkg.tar >$d/p2-1.0-1.gpkg.tar &&
	touch -d @1800000000 $d/p2-1.0-1.gpkg.tar &&
	test "$(stat -c %.9Y:%.9Z $d)" = "$dm" &&
	binfarm index -v repo 2>err &&
	test "$(dirs err)" = "0 7" &&
	test_grep "5 reused, 1 read" err &&
	stanza "^CPV: dev-libs/p2-1.0$" repo/Packages >e &&
	test_grep "^BUILD_TIME: 1700000099$" e &&
	test_grep "^MTIME: 1800000000$" e
'

test_expect_success 'a file added with the directory mtime put back is seen (ctime)' '
	settle &&
	binfarm index -q repo &&
	d=repo/dev-libs/p4 &&
	m=$(stat -c %.9Y $d) &&
	cp spare/p9-1.0-1.gpkg.tar $d/ &&
	touch -d "@$m" $d &&
	test "$(stat -c %.9Y $d)" = "$m" &&
	test_expect_code 1 binfarm index -v repo 2>err &&
	test "$(dirs err)" = "1 6" &&
	# read, then refused: it is in p4/, not in p9/
	test_grep "p4/p9-1.0-1.gpkg.tar.: multi-instance package must be in .dev-libs/p9/." err &&
	rm $d/p9-1.0-1.gpkg.tar
'

test_expect_success 'a directory replaced by another with the same mtimes is listed again' '
	settle &&
	binfarm index -q repo &&
	d=repo/dev-libs/p4 &&
	m=$(stat -c %.9Y $d) && pm=$(stat -c %.9Y repo/dev-libs) &&
	mkdir new && cp spare/p9-1.0-1.gpkg.tar new/p4-1.0-1.gpkg.tar &&
	rm -rf $d && mv new $d &&
	touch -d "@$m" $d && touch -d "@$pm" repo/dev-libs &&
	test "$(stat -c %.9Y $d)" = "$m" &&
	test_expect_code 1 binfarm index -v repo 2>err &&
	test "$(dirs err)" = "2 5" &&
	test_grep "p4/p4-1.0-1.gpkg.tar.: binary package name is invalid" err &&
	! grep "^CPV: dev-libs/p4-1.0$" repo/Packages &&
	rm -rf $d && mkdir $d &&
	mkpkg $d/p4-1.0-1.gpkg.tar dev-libs p4-1.0 1
'

test_expect_success 'a directory changed in the tick of the run is not trusted (racy guard)' '
	settle &&
	binfarm index -q repo &&
	# a timestamp not before the start of the run: from the future
	touch -d "+1 hour" repo/dev-libs/p1 &&
	binfarm index -v repo 2>err &&
	test "$(dirs err)" = "1 6" &&
	binfarm index -v repo 2>err &&
	test "$(dirs err)" = "1 6" &&
	touch -d "-1 hour" repo/dev-libs/p1 &&
	settle &&
	binfarm index -v repo 2>err &&
	test "$(dirs err)" = "1 6" &&
	binfarm index -v repo 2>err &&
	test "$(dirs err)" = "0 7"
'

test_expect_success 'a new directory, a removed one and a renamed one are seen' '
	mkdir -p repo/dev-libs/p9 && cp spare/p9-1.0-1.gpkg.tar repo/dev-libs/p9/ &&
	rm -rf repo/app-misc &&
	mv repo/All repo/All.old && mkdir repo/All &&
	mv repo/All.old/r-3.0.gpkg.tar repo/All/ && rmdir repo/All.old &&
	binfarm index -v repo 2>err &&
	test_grep "^CPV: dev-libs/p9-1.0$" repo/Packages &&
	! grep "^CPV: app-misc/q-2.0$" repo/Packages &&
	test_grep "^PATH: All/r-3.0.gpkg.tar$" repo/Packages
'

test_expect_success 'a corrupt, truncated or foreign cache is ignored' '
	settle &&
	binfarm index -q repo &&
	cp repo/Packages before &&
	c=repo/.Packages.dircache &&
	head -c 100 $c >t && mv t $c &&
	binfarm index -v repo 2>err &&
	test "$(dirs err)" = "7 0" &&
	settle && binfarm index -q repo &&
	sed "s/^f p1-1.0-1.gpkg.tar$/f p1-1.0-7.gpkg.tar/" $c >t && mv t $c &&
	binfarm index -v repo 2>err &&
	test "$(dirs err)" = "7 0" &&
	echo garbage >$c &&
	binfarm index -v repo 2>err &&
	test "$(dirs err)" = "7 0" &&
	stable_index before >a && stable_index repo/Packages >b &&
	test_cmp a b
'

test_expect_success '--check reads the cache but writes nothing' '
	settle &&
	binfarm index -q repo &&
	ino=$(stat -c %i repo/.Packages.dircache) &&
	touch repo/dev-libs &&
	binfarm index --check repo &&
	test "$(stat -c %i repo/.Packages.dircache)" = "$ino"
'

test_expect_success '--no-dir-cache lists every directory' '
	binfarm index -v --no-dir-cache repo 2>err &&
	test "$(dirs err)" = "7 0"
'

test_expect_success 'the cached result is the from-scratch result' '
	mkdir scratch && cp -Rp repo/dev-libs repo/All scratch/ &&
	binfarm index -q --no-dir-cache scratch &&
	stable_index repo/Packages >a && stable_index scratch/Packages >b &&
	test_cmp a b
'

test_done
