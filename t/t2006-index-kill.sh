#!/bin/sh
test_description='binfarm index killed at random points: no debris, Packages and Packages.gz agree'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-index.sh"

# temps DIR: the temporary files a writer of the index makes.
temps() {
	ls -a "$1" | grep -e "^\.Packages.*\.tmp-" -e "^\.\.Packages.*\.tmp-"
}

test_expect_success 'setup: 60 packages, indexed' '
	i=0 && while test $i -lt 60; do
		mkpkg pkgdir/app-misc/p$i/p$i-1.0-1.gpkg.tar app-misc p$i-1.0 1 \
			RDEPEND="$(printf "dev-libs/dep%d " $(seq 1 40))" || return 1
		i=$((i + 1))
	done &&
	binfarm index -q pkgdir &&
	test_grep "^PACKAGES: 60$" pkgdir/Packages
'

test_expect_success 'the next run removes what a killed run left, and only that' '
	: >pkgdir/.Packages.tmp-AbC123 &&
	: >pkgdir/.Packages.gz.tmp-xyz789 &&
	: >pkgdir/..Packages.dircache.tmp-Q1w2E3 &&
	: >pkgdir/..Packages.gz.idx.tmp-aaaaaa &&
	: >pkgdir/..Packages.canonical.tmp-bbbbbb &&
	: >pkgdir/.Packages.tmp-toolong1 &&
	: >pkgdir/.other.tmp-AbC123 &&
	: >pkgdir/Packages.tmp-AbC123 &&
	binfarm index -v pkgdir 2>err &&
	test_grep "removed 5 temporary files of an interrupted run" err &&
	temps pkgdir >left &&
	echo .Packages.tmp-toolong1 >expect &&
	test_cmp expect left &&
	test_path_is_file pkgdir/.other.tmp-AbC123 &&
	test_path_is_file pkgdir/Packages.tmp-AbC123 &&
	rm pkgdir/.Packages.tmp-toolong1 pkgdir/.other.tmp-AbC123 pkgdir/Packages.tmp-AbC123
'

test_expect_success '--check leaves temporaries alone (it takes no lock)' '
	: >pkgdir/.Packages.tmp-AbC123 &&
	binfarm index --check pkgdir >out &&
	test_path_is_file pkgdir/.Packages.tmp-AbC123 &&
	binfarm index -q pkgdir &&
	test_path_is_missing pkgdir/.Packages.tmp-AbC123
'

test_expect_success '30 kill -9 at random points: each next run leaves no debris and a matching pair' '
	debris=0 && n=0 &&
	while test $n -lt 30; do
		# every file changes, so every run reads and writes
		find pkgdir -name "*.gpkg.tar" -exec touch -d "@$((1700000000 + n))" {} + &&
		delay=$(awk -v s=$n "BEGIN { srand(s + 1); printf \"%.3f\", rand() * 0.04 }") &&
		{ binfarm index -q pkgdir & pid=$!; } &&
		sleep $delay &&
		{ kill -9 $pid 2>/dev/null; wait $pid; true; } &&
		if temps pkgdir >/dev/null; then debris=$((debris + 1)); fi &&
		# out of step only with different mtimes, which the next run sees
		if ! gzip -dc pkgdir/Packages.gz 2>/dev/null | cmp -s - pkgdir/Packages; then
			test "$(stat -c %Y pkgdir/Packages)" != "$(stat -c %Y pkgdir/Packages.gz)"
		fi &&
		binfarm index -q pkgdir &&
		! temps pkgdir &&
		gzip -dc pkgdir/Packages.gz | cmp - pkgdir/Packages &&
		test_grep "^PACKAGES: 60$" pkgdir/Packages &&
		n=$((n + 1)) || return 1
	done &&
	echo "$debris of 30 kills left temporaries behind"
'

test_done
