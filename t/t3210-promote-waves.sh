#!/bin/sh
test_description='binfarm promote in waves: waves.CHANNEL, --wave, --next, --all-waves, binfarm waves'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-repo.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

BINFARM_REPO=$PWD/repo
export BINFARM_REPO

test_expect_success 'setup: two snapshots, production at the first' '
	binfarm repo init --unsigned repo &&
	mkpkg in/foo-1.0.gpkg.tar app-misc foo-1.0 &&
	mkpkg in/foo-1.1.gpkg.tar app-misc foo-1.1 &&
	binfarm add -q -R repo -p amd64 in/foo-1.0.gpkg.tar &&
	binfarm snapshot -R repo -p amd64 create >s1 &&
	binfarm add -q -R repo -p amd64 in/foo-1.1.gpkg.tar &&
	binfarm snapshot -R repo -p amd64 create >s2 &&
	binfarm promote -R repo -p amd64 -c production "$(cat s1)" >/dev/null 2>&1 &&
	binfarm promote -R repo -p amd64 -c testing "$(cat s2)" >/dev/null 2>&1 &&
	cp repo/binfarm-repo.conf conf.orig
'

test_expect_success 'bad waves lines are errors naming the file, the line and the name' '
	while IFS="|" read -r bad msg
	do
		cp conf.orig repo/binfarm-repo.conf &&
		echo "$bad" >>repo/binfarm-repo.conf &&
		test_expect_code 2 binfarm waves >out 2>err &&
		test_grep "binfarm-repo.conf: line 8: $msg" err || return 1
	done <<-\EOF &&
	waves.production =|channel .production. has no waves
	waves.production = can.ary|.can.ary. is not a wave name
	waves.prod/x = canary|.waves.prod/x.: not a channel name
	waves.production = a b a|wave .a. named twice
	waves.production.canary = x|.waves.production.canary.: not a channel name
	EOF
	cp conf.orig repo/binfarm-repo.conf &&
	printf "waves.production = canary\nwaves.production = early\n" \
		>>repo/binfarm-repo.conf &&
	test_expect_code 2 binfarm waves 2>err &&
	test_grep "line 9: the waves of channel .production. are set twice" err &&
	cp conf.orig repo/binfarm-repo.conf &&
	binfarm waves >out &&
	test_grep "no channel has waves" out &&
	echo "waves.production = canary early" >>repo/binfarm-repo.conf
'

test_expect_success 'with waves, production itself waits for every wave; nothing moves' '
	cp repo/history.log history.before &&
	test_expect_code 1 binfarm promote -p amd64 -c production --from testing >out 2>err &&
	test_grep "goes out in waves (canary early): wave .canary. is at (none), not $(cat s2)" err &&
	test "$(channel_id repo production amd64)" = "$(cat s1)" &&
	test_cmp history.before repo/history.log
'

test_expect_success 'a wave waits for the wave before it' '
	test_expect_code 1 binfarm promote -p amd64 -c production --wave early $(cat s2) 2>err &&
	test_grep "wave .canary. is at (none), not $(cat s2); promote it first" err &&
	test_path_is_missing repo/channels/production.early/amd64 &&
	test_expect_code 1 binfarm promote -p amd64 -c production --wave later $(cat s2) 2>err &&
	test_grep "channel .production. has no wave .later. (its waves: canary early)" err &&
	test_expect_code 1 binfarm promote -p amd64 -c testing --next $(cat s2) 2>err &&
	test_grep "channel .testing. has no waves" err
'

test_expect_success '--next moves the canary wave first, with its diff' '
	binfarm promote -p amd64 -c production --next --from testing >out &&
	test_grep "^promote production.canary/amd64: (none) -> $(cat s2)$" out &&
	test_grep "added .*app-misc/foo-1.1" out &&
	test "$(channel_id repo production.canary amd64)" = "$(cat s2)" &&
	check_channel repo production.canary amd64 &&
	test "$(channel_id repo production amd64)" = "$(cat s1)" &&
	binfarm waves -p amd64 >out &&
	cat >expect <<-EOF &&
	channel production of amd64 (waves: canary early)
	  production.canary        $(cat s2)
	  production.early         (none)
	  production               $(cat s1)
	EOF
	test_cmp expect out
'

test_expect_success 'the binhost serves each wave at /CHANNEL.WAVE/PROFILE' '
	start_binhost --root repo &&
	test_when_finished stop_binhost &&
	curl -fsS -o canary "$(bh_url)/production.canary/amd64/Packages" &&
	curl -fsS -o prod "$(bh_url)/production/amd64/Packages" &&
	test_grep "^CPV: app-misc/foo-1.1$" canary &&
	test_grep "^CPV: app-misc/foo-1.0$" prod &&
	path=$(sed -n "s/^PATH: //p" canary) &&
	test "$(http_code "/production.canary/amd64/$path")" = 200 &&
	test "$(http_code /production.early/amd64/Packages)" = 404
'

test_expect_success '--next then early, then production; history has each move' '
	binfarm promote -p amd64 -c production --next --from testing >out &&
	test_grep "channel production.early of amd64 now at $(cat s2)" out &&
	binfarm promote -p amd64 -c production --next --from testing >out &&
	test_grep "^promote production/amd64: $(cat s1) -> $(cat s2)$" out &&
	test_grep "upgraded .*app-misc/foo-1.0 (build 1) -> app-misc/foo-1.1 (build 1)" out &&
	binfarm promote -p amd64 -c production --next --from testing >out &&
	test_grep "channel production of amd64 and all its waves already at $(cat s2)" out &&
	binfarm history -p amd64 >h &&
	test_grep "promote   production.canary/amd64  (none) -> $(cat s2)" h &&
	test_grep "promote   production.early/amd64  (none) -> $(cat s2)" h &&
	test_grep "promote   production/amd64  $(cat s1) -> $(cat s2)" h
'

test_expect_success '--all-waves releases to every wave in order, then the channel' '
	mkpkg in/foo-1.2.gpkg.tar app-misc foo-1.2 &&
	binfarm add -q -p amd64 in/foo-1.2.gpkg.tar &&
	S3=$(binfarm snapshot -p amd64 create 2>/dev/null) &&
	binfarm promote -p amd64 -c production --all-waves -n $S3 >out &&
	test_grep "dry run: nothing changed" out &&
	test "$(channel_id repo production amd64)" = "$(cat s2)" &&
	binfarm promote -p amd64 -c production --all-waves $S3 >out &&
	grep "now at $S3" out >moves &&
	cat >expect <<-EOF &&
	channel production.canary of amd64 now at $S3
	channel production.early of amd64 now at $S3
	channel production of amd64 now at $S3
	EOF
	test_cmp expect moves
'

test_expect_success 'rollback --wave returns that wave only, saying what it downgrades' '
	S3=$(channel_id repo production amd64) &&
	binfarm rollback -p amd64 -c production --wave canary >out &&
	test_grep "^rollback production.canary/amd64: $S3 -> $(cat s2)$" out &&
	test_grep "rollback downgrades 1 package" out &&
	test "$(channel_id repo production.canary amd64)" = "$(cat s2)" &&
	test "$(channel_id repo production.early amd64)" = "$S3" &&
	test "$(channel_id repo production amd64)" = "$S3" &&
	test_expect_code 1 binfarm rollback -p amd64 -c production --wave nope 2>err &&
	test_grep "channel .production. has no wave .nope." err
'

test_expect_success 'a downgrade in a wave is refused as on any channel' '
	test_expect_code 1 binfarm promote -p amd64 -c production --wave canary $(cat s1) 2>err &&
	test_grep "refusing to move channel .production.canary. .* downgrade" err &&
	test "$(channel_id repo production.canary amd64)" = "$(cat s2)" &&
	binfarm fsck >/dev/null
'

test_done
