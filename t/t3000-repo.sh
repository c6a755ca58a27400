#!/bin/sh
test_description='binfarm repo init, add, remove, snapshot'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-repo.sh"

test_expect_success 'repo init makes the layout; --unsigned says so loudly' '
	binfarm repo init --unsigned repo 2>err &&
	test_grep "UNSIGNED" err &&
	for d in pool snapshots channels work tmp keys; do
		test -d repo/$d || return 1
	done &&
	test_grep "^signing = no" repo/binfarm-repo.conf &&
	test_path_is_file repo/history.log
'

test_expect_success 'repo init refuses an existing repository' '
	test_must_fail binfarm repo init --unsigned repo 2>err &&
	test_grep "already a binfarm repository" err
'

test_expect_success 'commands without a repository fail clearly' '
	test_must_fail binfarm snapshot -p amd64 list 2>err &&
	test_grep "no repository" err &&
	mkdir notrepo &&
	test_must_fail binfarm snapshot -R notrepo -p amd64 list 2>err &&
	test_grep "not a binfarm repository" err
'

test_expect_success 'add: verified, BUILD_ID allocated, placed, staged' '
	mkpkg in/foo-1.0.gpkg.tar app-misc foo-1.0 &&
	mkpkg in/bar-2.0.gpkg.tar dev-libs bar-2.0 7 &&
	binfarm add -R repo --profile amd64 in/foo-1.0.gpkg.tar in/bar-2.0.gpkg.tar >out 2>err &&
	test_grep "UNSIGNED" err &&
	test_grep "added app-misc/foo-1.0 build 1 as app-misc/foo/foo-1.0-1.gpkg.tar" out &&
	test_grep "added dev-libs/bar-2.0 build 1" out &&
	test_path_is_file repo/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar &&
	test_path_is_file repo/pool/amd64/dev-libs/bar/bar-2.0-1.gpkg.tar &&
	binfarm verify repo/pool/amd64/dev-libs/bar/bar-2.0-1.gpkg.tar &&
	binfarm inspect repo/pool/amd64/dev-libs/bar/bar-2.0-1.gpkg.tar >meta &&
	test_grep "BUILD_ID" meta &&
	tar tf repo/pool/amd64/dev-libs/bar/bar-2.0-1.gpkg.tar >members &&
	test_grep "^bar-2.0-1/gpkg-1$" members &&
	test_grep "PATH: dev-libs/bar/bar-2.0-1.gpkg.tar" repo/work/amd64/Packages
'

test_expect_success 'add keeps the image member byte for byte' '
	tar xOf in/bar-2.0.gpkg.tar bar-2.0-7/image.tar.zst >img.in &&
	tar xOf repo/pool/amd64/dev-libs/bar/bar-2.0-1.gpkg.tar bar-2.0-1/image.tar.zst >img.out &&
	cmp img.in img.out
'

test_expect_success 'the same CPV added twice is a new instance, never an overwrite' '
	cp repo/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar first &&
	binfarm add -R repo --profile amd64 in/foo-1.0.gpkg.tar >out &&
	test_grep "build 2" out &&
	test_grep "replacing app-misc/foo-1.0-1" out &&
	cmp first repo/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar &&
	test_path_is_file repo/pool/amd64/app-misc/foo/foo-1.0-2.gpkg.tar &&
	test "$(grep -c "^CPV: app-misc/foo-1.0" repo/work/amd64/Packages)" = 1
'

test_expect_success 'BINFARM_REPO names the repository' '
	BINFARM_REPO=$PWD/repo binfarm snapshot -p amd64 list >out
'

test_expect_success 'snapshot create freezes the working set' '
	binfarm snapshot -R repo -p amd64 create --tree-commit 0123456789abcdef \
		-m "first cut" >id 2>err &&
	id=$(cat id) &&
	test_grep "UNSIGNED" err &&
	echo "$id" | grep -E "^[0-9]{8}T[0-9]{6}Z-[0-9]{4}$" &&
	s=repo/snapshots/amd64/$id &&
	test_path_is_file $s/Packages && test_path_is_file $s/Packages.gz &&
	gzip -dc $s/Packages.gz | cmp - $s/Packages &&
	test_grep "^VERSION: 0$" $s/Packages &&
	test_grep "^PACKAGES: 2$" $s/Packages &&
	test_grep "^REPO_REVISIONS: {\"gentoo\": \"0123456789abcdef\"}$" $s/Packages &&
	ts=$(sed -n "s/^TIMESTAMP: //p" $s/Packages) &&
	test "$(stat -c %Y $s/Packages)" = "$ts" &&
	test_grep "^tree-commit: 0123456789abcdef$" $s/SNAPSHOT &&
	test_grep "^message: first cut$" $s/SNAPSHOT &&
	test_grep "^by: " $s/SNAPSHOT &&
	test "$(stat -c %i $s/app-misc/foo/foo-1.0-2.gpkg.tar)" = \
	     "$(stat -c %i repo/pool/amd64/app-misc/foo/foo-1.0-2.gpkg.tar)"
'

test_expect_success 'a snapshot is a PKGDIR binfarm index agrees with' '
	id=$(snap_ids amd64 | tail -1) &&
	rm -rf copy && cp -a repo/snapshots/amd64/$id copy &&
	binfarm index -q copy &&
	grep -v -e "^TIMESTAMP" -e "^REPO_REVISIONS" repo/snapshots/amd64/$id/Packages >expect &&
	grep -v -e "^TIMESTAMP" -e "^REPO_REVISIONS" copy/Packages >actual &&
	test_cmp expect actual
'

test_expect_success 'snapshot ids sort in creation order; TIMESTAMP increases' '
	mkpkg in/foo-1.1.gpkg.tar app-misc foo-1.1 &&
	binfarm add -q -R repo -p amd64 in/foo-1.1.gpkg.tar &&
	binfarm snapshot -R repo -p amd64 create >id2 &&
	binfarm snapshot -R repo -p amd64 create >id3 &&
	snap_ids amd64 >ids &&
	sort ids >sorted && test_cmp sorted ids &&
	test "$(tail -1 ids)" = "$(cat id3)" &&
	t1=$(sed -n "s/^TIMESTAMP: //p" repo/snapshots/amd64/$(cat id2)/Packages) &&
	t2=$(sed -n "s/^TIMESTAMP: //p" repo/snapshots/amd64/$(cat id3)/Packages) &&
	test "$t2" -gt "$t1" &&
	test_grep "^parent: $(cat id2)$" repo/snapshots/amd64/$(cat id3)/SNAPSHOT
'

test_expect_success 'snapshot show and list' '
	binfarm snapshot -R repo -p amd64 show $(cat id) >out &&
	test_grep "^tree-commit: 0123456789abcdef" out &&
	test_grep "app-misc/foo-1.0  build 2" out &&
	binfarm snapshot -R repo -p amd64 list >out &&
	test "$(wc -l <out)" = 3 &&
	test_must_fail binfarm snapshot -R repo -p amd64 show 20990101T000000Z-0001 2>err &&
	test_grep "no snapshot" err
'

test_expect_success 'snapshot diff: upgraded, downgraded, rebuilt, added, removed' '
	binfarm snapshot -R repo -p amd64 diff $(cat id) $(cat id2) >out &&
	test_grep "upgraded .*app-misc/foo-1.0 (build 2) -> app-misc/foo-1.1 (build 1)" out &&
	binfarm snapshot -R repo -p amd64 diff $(cat id2) $(cat id) >out &&
	test_grep "downgraded .*app-misc/foo-1.1 (build 1) -> app-misc/foo-1.0 (build 2)" out &&
	binfarm add -q -R repo -p amd64 in/foo-1.1.gpkg.tar &&
	binfarm remove -R repo -p amd64 dev-libs/bar >out &&
	test_grep "removed dev-libs/bar-2.0" out &&
	mkpkg in/baz-3.gpkg.tar sys-apps baz-3 &&
	binfarm add -q -R repo -p amd64 in/baz-3.gpkg.tar &&
	binfarm snapshot -R repo -p amd64 create >id4 &&
	binfarm snapshot -R repo -p amd64 diff $(cat id3) $(cat id4) >out &&
	test_grep "rebuilt .*app-misc/foo-1.1 (build 1) -> app-misc/foo-1.1 (build 2)" out &&
	test_grep "removed .*dev-libs/bar-2.0" out &&
	test_grep "added .*sys-apps/baz-3" out &&
	test_grep "^1 added, 1 removed, 0 upgraded, 0 downgraded, 1 rebuilt$" out &&
	binfarm snapshot -R repo -p amd64 diff $(cat id4) $(cat id3) >out &&
	test_grep "downgraded .*app-misc/foo-1.1 (build 2) -> app-misc/foo-1.1 (build 1)" out
'

test_expect_success 'remove: an atom that matches nothing changes nothing' '
	cp repo/work/amd64/Packages before &&
	test_expect_code 1 binfarm remove -R repo -p amd64 sys-apps/baz app-misc/nope 2>err &&
	test_grep "matches .app-misc/nope." err &&
	test_cmp before repo/work/amd64/Packages &&
	test_must_fail binfarm remove -R repo -p amd64 "../x" 2>err &&
	test_must_fail binfarm remove -R repo -p nosuch app-misc/foo 2>err &&
	test_grep "no profile" err
'

test_expect_success 'add refuses a corrupt package, with the reason, losing nothing' '
	cp repo/work/amd64/Packages before &&
	find repo/pool -type f | sort >pool.before &&
	python3 "$TAMPER" in/baz-3.gpkg.tar bad-flip.gpkg.tar flip image.tar.zst 2>/dev/null ||
		{ cp in/baz-3.gpkg.tar bad-flip.gpkg.tar &&
		  printf "X" | dd of=bad-flip.gpkg.tar bs=1 seek=1600 conv=notrunc 2>/dev/null; } &&
	test_expect_code 1 binfarm add -R repo -p amd64 bad-flip.gpkg.tar >out &&
	test_grep "REFUSED: .*" out &&
	test_cmp before repo/work/amd64/Packages &&
	find repo/pool -type f | sort >pool.after &&
	test_cmp pool.before pool.after
'

test_expect_success 'add refuses a truncated package' '
	head -c 3000 in/baz-3.gpkg.tar >trunc.gpkg.tar &&
	test_expect_code 1 binfarm add -R repo -p amd64 trunc.gpkg.tar >out &&
	test_grep "REFUSED" out &&
	: >empty.gpkg.tar &&
	test_expect_code 1 binfarm add -R repo -p amd64 empty.gpkg.tar >out &&
	test_grep "REFUSED" out &&
	test_expect_code 1 binfarm add -R repo -p amd64 no-such-file >out &&
	test_grep "REFUSED: cannot open" out
'

for action in image-abs image-dotdot image-symlink-escape image-hardlink-escape image-device "rename-raw gpkg-1 ../x" "extra evil" "dup metadata.tar.zst" v7 \
    "meta SLOT ../../x" "meta CATEGORY .." "meta PF ../baz-3"; do
	test_expect_success PYTHON "add refuses a hostile package ($action)" '
		python3 "$TAMPER" in/baz-3.gpkg.tar hostile.gpkg.tar '"$action"' &&
		cp repo/work/amd64/Packages before &&
		test_expect_code 1 binfarm add -R repo -p amd64 hostile.gpkg.tar >out &&
		test_grep "REFUSED" out &&
		test_cmp before repo/work/amd64/Packages &&
		test_path_is_missing repo/pool/amd64/sys-apps/baz/baz-3-2.gpkg.tar
	'
done

test_expect_success 'add refuses a FIFO at once' '
	mkfifo fifo.gpkg.tar &&
	cp repo/work/amd64/Packages before &&
	test_expect_code 1 timeout 20 binfarm add -R repo -p amd64 fifo.gpkg.tar >out &&
	test_grep "fifo.gpkg.tar: REFUSED: .fifo.gpkg.tar. is not a regular file" out &&
	test_cmp before repo/work/amd64/Packages
'

test_expect_success PYTHON 'add --max-entries refuses a package of more image entries' '
	python3 "$TAMPER" in/baz-3.gpkg.tar many.gpkg.tar image-many 120 &&
	cp repo/work/amd64/Packages before &&
	test_expect_code 1 binfarm add -R repo -p amd64 --max-entries 100 many.gpkg.tar >out &&
	test_grep "many.gpkg.tar: REFUSED: image.tar.zst: more than 100 entries (the limit)" out &&
	test_cmp before repo/work/amd64/Packages &&
	test_path_is_missing repo/pool/amd64/sys-apps/baz/baz-3-2.gpkg.tar
'

test_expect_success 'a batch adds the good files and reports the bad ones' '
	test_expect_code 1 binfarm add -R repo -p amd64 trunc.gpkg.tar in/baz-3.gpkg.tar >out &&
	test_grep "trunc.gpkg.tar: REFUSED" out &&
	test_grep "added sys-apps/baz-3 build 2" out &&
	ls tmp 2>/dev/null; test -z "$(ls repo/tmp)"
'

test_expect_success 'add --files-from reads names' '
	mkpkg in/qux-1.gpkg.tar app-misc qux-1 &&
	echo in/qux-1.gpkg.tar | binfarm add -q -R repo -p amd64 --files-from - &&
	test_grep "CPV: app-misc/qux-1" repo/work/amd64/Packages
'

test_expect_success 'bad profile names are refused' '
	test_must_fail binfarm add -R repo -p ../evil in/qux-1.gpkg.tar 2>err &&
	test_grep "invalid profile" err &&
	test_must_fail binfarm snapshot -R repo -p nosuch create 2>err &&
	test_grep "no profile" err
'

test_expect_success 'snapshot create --tree-commit NAME=OID for each repository' '
	binfarm snapshot -R repo -p amd64 create \
		--tree-commit gentoo=0123456789abcdef \
		--tree-commit company=fedcba9876543210 >id 2>/dev/null &&
	s=repo/snapshots/amd64/$(cat id) &&
	test_grep "^REPO_REVISIONS: {\"company\": \"fedcba9876543210\", \"gentoo\": \"0123456789abcdef\"}$" $s/Packages &&
	test_grep "^tree-commit: 0123456789abcdef$" $s/SNAPSHOT &&
	snap_ids amd64 >before &&
	test_expect_code 2 binfarm snapshot -R repo -p amd64 create \
		--tree-commit gentoo=0123456789abcdef \
		--tree-commit gentoo=fedcba9876543210 2>err &&
	test_grep "repository .gentoo. named twice" err &&
	test_expect_code 2 binfarm snapshot -R repo -p amd64 create \
		--tree-commit "bad name=0123456789abcdef" 2>err &&
	test_grep "invalid repository name .bad name." err &&
	test_expect_code 2 binfarm snapshot -R repo -p amd64 create \
		--tree-commit gentoo=xyz 2>err &&
	test_grep "not a hex commit id" err &&
	snap_ids amd64 >after &&
	test_cmp before after
'

test_done
