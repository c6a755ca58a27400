#!/bin/sh
test_description='binfarm rebuild --wait and the exit status of status: published, failed, cancelled, timed out'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

# progress FILE: the progress lines --wait printed (standard error).
progress() {
	sed -n "s/^binfarm rebuild: \(rebuild [0-9]* of p: .*jobs done.*\)/\1/p" "$1"
}

# no_repeats FILE: no progress line is the same as the one before it.
no_repeats() {
	progress "$1" >.lines &&
	test "$(uniq .lines | wc -l)" = "$(wc -l <.lines)"
}

test_expect_success 'setup: a profile whose rebuild fails (app-misc/broken)' '
	farm_tree gentoo &&
	farm_profile prof/p app-misc/solo app-misc/needs-broken &&
	farm_init
'

test_expect_success 'bad --wait and --timeout are usage errors, nothing asked' '
	farm_start &&
	test_when_finished "farm_stop" &&
	test_expect_code 2 binfarm rebuild --wait 2>err &&
	test_grep "usage: binfarm rebuild" err &&
	test_expect_code 2 binfarm rebuild --wait abc 2>err &&
	test_grep "\-\-wait: .abc. is not a number" err &&
	test_expect_code 2 binfarm rebuild --wait 0 2>err &&
	test_expect_code 2 binfarm rebuild --wait 1 2 2>err &&
	test_expect_code 2 binfarm rebuild --profile p --wait 1 2>err &&
	test_expect_code 2 binfarm rebuild --wait 1 --commit main 2>err &&
	test_expect_code 2 binfarm rebuild --profile p --timeout 5 2>err &&
	test_expect_code 2 binfarm rebuild --profile p --wait --timeout 0 2>err &&
	test_grep "\-\-timeout: .0. is not a number from 1" err &&
	test_expect_code 2 binfarm rebuild --profile p --wait --timeout soon 2>err &&
	test_must_fail grep "POST /v1/rebuild" builder.log &&
	binfarm status >st &&
	test_grep "profile p: never built" st
'

test_expect_success 'no such rebuild or job: 1, said (rebuild --wait, log, retry, cancel)' '
	farm_start &&
	test_when_finished "farm_stop" &&
	test_expect_code 1 binfarm rebuild --wait 99 >out 2>err &&
	test_grep "no rebuild 99" err &&
	test_must_be_empty out &&
	test_expect_code 1 binfarm log --no-follow 99 >out 2>err &&
	test_grep "no job 99" err &&
	test_expect_code 1 binfarm log --no-follow app-misc/nosuch-1 >out 2>err &&
	test_grep "no job builds that package" err &&
	test_expect_code 1 binfarm retry 99 2>err &&
	test_grep "no job 99" err &&
	test_expect_code 1 binfarm cancel 99 2>err &&
	test_grep "no job 99" err
'

test_expect_success 'rebuild --wait --timeout with no worker: 3 after the time, the rebuild goes on' '
	farm_start &&
	test_when_finished "farm_stop" &&
	test_expect_code 3 binfarm rebuild --profile p --wait --timeout 2 >out 2>err &&
	test_grep "^rebuild 1 of p: 3 packages, 3 to build" out &&
	progress err >lines &&
	test_grep "^rebuild 1 of p: running, 0/3 jobs done (0 reused), 0 running, 0 failed" lines &&
	test $(wc -l <lines) = 1 &&
	test_grep "rebuild 1 of p is still running after 2 s; it goes on" err &&
	binfarm status >st &&
	test_grep "profile p: rebuild 1 running" st
'

test_expect_success 'the builder gone: rebuild --wait ID exits 2' '
	farm_start &&
	url=$(cat state/builder.url) &&
	farm_stop &&
	test_expect_code 2 binfarm rebuild -s state --builder "$url" --wait 1 2>err &&
	test_grep "cannot reach the builder" err
'

test_expect_success 'rebuild --wait ID: a line per change on stderr; 1 when it failed; status 1 too' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	farm_worker w1 &&
	test_expect_code 1 binfarm rebuild --wait 1 >out 2>err &&
	echo "rebuild 1 of p: failed" >expect &&
	test_cmp expect out &&
	progress err >lines &&
	test $(wc -l <lines) -ge 2 &&
	no_repeats err &&
	test_grep "^rebuild 1 of p: failed, 1/3 jobs done (0 reused), 0 running, 1 failed, 1 blocked" lines &&
	test_grep "error: rebuild 1 of p failed: 1 failed, 1 blocked, 0 cancelled; testing not moved" err &&
	test_expect_code 1 binfarm status >st 2>err &&
	test_grep "profile p: rebuild 1 failed" st &&
	test_grep "binfarm status: error: rebuild 1 of p failed" err &&
	test_expect_code 1 binfarm status --json >st.json 2>err &&
	python3 -c "import json; s = json.load(open(\"st.json\")); assert s[\"profiles\"][0][\"rebuild\"][\"state\"] == \"failed\", s" &&
	test_grep "rebuild 1 of p failed" err
'

test_expect_success 'rebuild --wait of a rebuild that publishes: 0, the snapshot named; status 0' '
	echo "int main(void) { return 0; }" >gentoo/app-misc/broken/files/src/broken.c &&
	git -C gentoo add -A && git -C gentoo commit -q -m "fix broken" &&
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	farm_worker w1 &&
	binfarm rebuild --profile p --wait --timeout 120 >out 2>err &&
	test_grep "^rebuild 2 of p: 3 packages, 2 to build, 1 already built" out &&
	snap=$(sed -n "s/^rebuild 2 of p: complete, snapshot \(.*\)/\1/p" out) &&
	test -n "$snap" &&
	test "$(readlink state/repo/channels/testing/p | sed "s|.*/||")" = "$snap" &&
	no_repeats err &&
	progress err | tail -n 1 >last &&
	test_grep "^rebuild 2 of p: complete, 3/3 jobs done (1 reused)" last &&
	binfarm status >st 2>err &&
	test_must_be_empty err &&
	binfarm status --json >st.json &&
	binfarm rebuild --wait 2 >out 2>err &&
	test_grep "^rebuild 2 of p: complete, snapshot $snap" out
'

test_expect_success 'rebuild --wait of a rebuild cancelled meanwhile: 1, said; status 0' '
	sed -i "s/-O2 -pipe/-O1 -pipe/" prof/p/make.conf &&
	farm_start &&
	test_when_finished "farm_stop" || return 1
	rm -f code
	(binfarm rebuild --profile p --wait >out 2>err; echo $? >code) &
	i=0 && until grep -q "running, 0/3" err 2>/dev/null; do
		i=$((i + 1)); test $i -lt 100 || break; sleep 0.1; done &&
	binfarm cancel --profile p >/dev/null &&
	i=0 && until test -s code; do
		i=$((i + 1)); test $i -lt 100 || break; sleep 0.1; done &&
	test "$(cat code)" = 1 &&
	test_grep "^rebuild 3 of p: cancelled" out &&
	test_grep "error: rebuild 3 of p was cancelled" err &&
	binfarm status >st &&
	test_grep "profile p: rebuild 3 cancelled" st
'

test_expect_success 'a refused rebuild: status exits 1 and says so' '
	farm_start &&
	test_when_finished "farm_stop" &&
	test_expect_code 1 binfarm rebuild --profile p --commit nosuchref --wait 2>err &&
	test_expect_code 1 binfarm status >st 2>err &&
	test_grep "binfarm status: error: rebuild 4 of p was refused" err
'

test_done
