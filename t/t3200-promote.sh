#!/bin/sh
test_description='binfarm promote, rollback, history'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-repo.sh"

test_expect_success 'setup: three snapshots (1.0, 1.1, 1.1 rebuilt)' '
	binfarm repo init --unsigned repo &&
	mkpkg in/foo-1.0.gpkg.tar app-misc foo-1.0 &&
	mkpkg in/foo-1.1.gpkg.tar app-misc foo-1.1 &&
	mkpkg in/bar-1.gpkg.tar dev-libs bar-1 &&
	binfarm add -q -R repo -p amd64 in/foo-1.0.gpkg.tar in/bar-1.gpkg.tar &&
	binfarm snapshot -R repo -p amd64 create >s1 &&
	binfarm add -q -R repo -p amd64 in/foo-1.1.gpkg.tar &&
	binfarm snapshot -R repo -p amd64 create >s2 &&
	binfarm add -q -R repo -p amd64 in/foo-1.1.gpkg.tar &&
	binfarm snapshot -R repo -p amd64 create >s3 &&
	! cmp -s s1 s2 && ! cmp -s s2 s3
'

test_expect_success 'promote shows the diff and moves the channel atomically' '
	binfarm promote -R repo -p amd64 -c testing $(cat s1) >out 2>err &&
	test_grep "UNSIGNED" err &&
	test_grep "added .*app-misc/foo-1.0" out &&
	test "$(readlink repo/channels/testing/amd64)" = "../../snapshots/amd64/$(cat s1)" &&
	check_channel repo testing amd64 &&
	g1=$(od -An -tu8 repo/channels/.generation | tr -d " ") &&
	binfarm promote -R repo -p amd64 -c testing $(cat s2) >out &&
	test_grep "upgraded .*app-misc/foo-1.0 (build 1) -> app-misc/foo-1.1 (build 1)" out &&
	test "$(channel_id repo testing amd64)" = "$(cat s2)" &&
	# the channel generation: eight bytes, one more per move, 0644
	test "$(stat -c %s:%a repo/channels/.generation)" = 8:644 &&
	test "$(od -An -tu8 repo/channels/.generation | tr -d " ")" = $((g1 + 1))
'

test_expect_success 'promote --from another channel' '
	binfarm promote -R repo -p amd64 -c production --from testing >out &&
	test "$(channel_id repo production amd64)" = "$(cat s2)" &&
	check_channel repo production amd64
'

test_expect_success 'promoting to where the channel is changes nothing' '
	wc -l <repo/history.log >before &&
	binfarm promote -R repo -p amd64 -c production $(cat s2) >out &&
	test_grep "already at" out &&
	wc -l <repo/history.log >after &&
	test_cmp before after
'

test_expect_success 'a lower version is refused, nothing moves' '
	test_expect_code 1 binfarm promote -R repo -p amd64 -c production $(cat s1) >out 2>err &&
	test_grep "downgraded .*app-misc/foo-1.1 (build 1) -> app-misc/foo-1.0 (build 1)" out &&
	test_grep "refusing .* downgrade 1 package" err &&
	test "$(channel_id repo production amd64)" = "$(cat s2)"
'

test_expect_success 'an older build of the same version is refused too' '
	binfarm promote -R repo -p amd64 -c beta $(cat s3) >/dev/null 2>&1 &&
	test_expect_code 1 binfarm promote -R repo -p amd64 -c beta $(cat s2) >out 2>err &&
	test_grep "downgraded .*app-misc/foo-1.1 (build 2) -> app-misc/foo-1.1 (build 1)" out &&
	test "$(channel_id repo beta amd64)" = "$(cat s3)"
'

test_expect_success '--dry-run changes nothing' '
	binfarm promote -R repo -p amd64 -c production -n $(cat s3) >out &&
	test_grep "dry run" out &&
	test "$(channel_id repo production amd64)" = "$(cat s2)"
'

test_expect_success '--allow-downgrade moves anyway, and history records it' '
	binfarm promote -R repo -p amd64 -c production --allow-downgrade $(cat s1) >out &&
	test "$(channel_id repo production amd64)" = "$(cat s1)" &&
	binfarm history -R repo -c production >hist &&
	test "$(wc -l <hist)" = 2 &&
	test_grep "promote .*production/amd64  $(cat s2) -> $(cat s1)  by " hist
'

test_expect_success 'rollback returns to the previous snapshot, saying what it downgrades' '
	binfarm promote -R repo -p amd64 -c production $(cat s3) >/dev/null 2>&1 &&
	binfarm rollback -R repo -p amd64 -c production >out &&
	test "$(channel_id repo production amd64)" = "$(cat s1)" &&
	test_grep "downgraded .*app-misc/foo-1.1 (build 2) -> app-misc/foo-1.0 (build 1)" out &&
	test_grep "rollback downgrades 1 package" out &&
	binfarm rollback -R repo -p amd64 -c production >out &&
	test "$(channel_id repo production amd64)" = "$(cat s2)" &&
	test_expect_code 1 binfarm rollback -R repo -p amd64 -c production 2>err &&
	test_grep "no earlier snapshot" err &&
	binfarm history -R repo -p amd64 -c production >hist &&
	test "$(grep -c rollback hist)" = 2
'

test_expect_success 'promote: a snapshot or profile that does not exist' '
	test_expect_code 1 binfarm promote -R repo -p amd64 -c production 20990101T000000Z-0001 2>err &&
	test_grep "no snapshot" err &&
	test_expect_code 1 binfarm promote -R repo -p amd64 -c production garbage 2>err &&
	test_grep "no snapshot" err &&
	test_expect_code 1 binfarm promote -R repo -p arm64 -c production $(cat s1) 2>err &&
	test_grep "no profile .arm64." err &&
	test_must_fail binfarm promote -R repo -p amd64 -c ../x $(cat s1) 2>err &&
	test_grep "invalid channel" err &&
	test_expect_code 1 binfarm promote -R repo -p amd64 -c production --from nochan 2>err &&
	test_expect_code 1 binfarm rollback -R repo -p amd64 -c nochan 2>err &&
	test "$(channel_id repo production amd64)" = "$(cat s2)"
'

test_expect_success 'two promotions at the same moment: one lock, consistent log and channel' '
	for i in 1 2 3 4 5; do
		binfarm promote -R repo -p amd64 -c race --allow-downgrade $(cat s1) >/dev/null 2>&1 &
		p1=$!
		binfarm promote -R repo -p amd64 -c race --allow-downgrade $(cat s3) >/dev/null 2>&1 &
		p2=$!
		wait $p1 && wait $p2 || return 1
		last=$(awk -F"\t" "\$4==\"amd64\" && \$5==\"race\" {t=\$7} END{print t}" repo/history.log) &&
		test "$last" = "$(channel_id repo race amd64)" || return 1
	done &&
	awk -F"\t" "\$5==\"race\"" repo/history.log >race &&
	# every move starts where the previous one ended
	awk -F"\t" "NR>1 && \$6!=prev {bad=1} {prev=\$7} END{exit bad}" race &&
	test -z "$(ls repo/tmp)" && check_channel repo race amd64
'

test_done
