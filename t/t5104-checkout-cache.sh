#!/bin/sh
test_description='binfarm-worker: the ebuild driver keeps the checkouts of the pins used last, removes the others'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

# A new commit of the tree: its id.
tree_commit() {
	echo "$1" >>gentoo/metadata/bump &&
	git -C gentoo add -A &&
	git -C gentoo commit -qm "bump $1" &&
	git -C gentoo rev-parse HEAD
}

# rebuild_at OID: a rebuild of p with the tree at OID, to its end (the
# jobs fail: there is no Portage here, after the checkouts are made).
rebuild_at() {
	binfarm rebuild --profile p --commit "gentoo=$1" >out &&
	farm_wait_rebuild failed 120
}

checkouts() {
	ls work-w1/checkouts/gentoo | sort
}

test_expect_success 'setup: tree, profile, builder, four commits' '
	farm_tree gentoo &&
	farm_profile prof/p app-misc/solo &&
	farm_init &&
	sed -i "s/^max-attempts = 2$/max-attempts = 1/" state/builder.conf &&
	tree_commit 1 >c1 && tree_commit 2 >c2 &&
	tree_commit 3 >c3 && tree_commit 4 >c4
'

test_expect_success 'a bad --keep-checkouts is refused' '
	test_expect_code 2 binfarm-worker -s state --driver ebuild \
		--keep-checkouts two 2>err &&
	test_grep "keep-checkouts two: not a number of checkouts" err &&
	test_expect_code 2 binfarm-worker -s state --driver ebuild \
		--keep-checkouts -1 2>err &&
	test_grep "keep-checkouts -1: not a number" err
'

test_expect_success 'the two checkouts used last are kept, whenever they were made' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	farm_worker w1 --driver ebuild --profiles "$PWD/prof" --keep-checkouts 2 &&
	rebuild_at $(cat c1) &&
	rebuild_at $(cat c2) &&
	checkouts >have &&
	sort c1 c2 >expect &&
	test_cmp expect have &&
	rebuild_at $(cat c3) &&
	checkouts >have &&
	sort c2 c3 >expect &&
	test_cmp expect have &&
	test_grep "removing the checkout .*/checkouts/gentoo/$(cat c1) (2 newer ones of gentoo kept)" \
		work-w1/jobs/*/build.log &&
	# c2 is used again: it is the newest now, c3 goes next
	rebuild_at $(cat c2) &&
	rebuild_at $(cat c4) &&
	checkouts >have &&
	sort c2 c4 >expect &&
	test_cmp expect have
'

test_expect_success '--keep-checkouts 0 keeps them all' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	farm_worker w1 --driver ebuild --profiles "$PWD/prof" --keep-checkouts 0 &&
	rebuild_at $(cat c1) &&
	rebuild_at $(cat c3) &&
	checkouts >have &&
	sort c1 c2 c3 c4 >expect &&
	test_cmp expect have
'

test_done
