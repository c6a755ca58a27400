#!/bin/sh
test_description='binfarm-builder: a release in the console, clicked through in headless Chromium (waves, nodes, pause, resume, advance, rollback)'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"
. "$TEST_DIRECTORY/lib-console.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

console_need_chromium

WHO="Grace Hopper"

test_expect_success 'setup: two snapshots of p; nodes n1, n2 (wave 1) and n3; a release running; n1 fetched it' '
	console_setup &&
	test_when_finished "farm_stop" &&
	ls state/repo/snapshots/p >snaps &&
	old=$(sed -n 1p snaps) new=$(sed -n 2p snaps) &&
	binfarm promote -R state/repo -p p -c production $old >/dev/null 2>&1 &&
	binfarm node -R state/repo add n1 --site s --farm f1 --profile p \
		--channel production --token-file tok1 >/dev/null 2>&1 &&
	binfarm node -R state/repo add n2 --site s --farm f2 --profile p \
		--channel production --token-file tok2 >/dev/null 2>&1 &&
	binfarm node -R state/repo add n3 --site s --farm f1 --profile p \
		--channel production --token-file tok3 >/dev/null 2>&1 &&
	binfarm release -R state/repo start -c production --snapshot p=$new \
		--strategy by-member >out 2>&1 &&
	test_grep "release 1 of production started: by-member, 2 wave" out &&
	start_binhost --root state/repo &&
	test_when_finished stop_binhost &&
	test "$(http_code /node/n1/Packages -u "n1:$(cat tok1)")" = 200 &&
	wait_grep "^n1	p	production	$new	" state/repo/fleet/nodes.state
'

test_expect_success 'the release page shows the waves and nodes; each action asks first and is recorded with the name' '
	farm_start &&
	test_when_finished "farm_stop" &&
	"$CONSOLE_PY" "$TEST_DIRECTORY/helper/console-release-chromium.py" \
		"$(console_url)" "$(console_et)" "$WHO" >browser.out 2>browser.err ||
		{ cat browser.out browser.err; false; } &&
	cat browser.out &&
	test_grep "ok: release 1 of production: running, wave 1 open" browser.out &&
	test_grep "ok: a cancelled confirmation changes nothing" browser.out &&
	test_grep "ok: wave 1 advanced by hand, wave 2 open" browser.out &&
	test_grep "ok: rolled back" browser.out &&
	test_grep "ok: no Content-Security-Policy" browser.out &&
	cut -f3- state/repo/releases.log | sed 1d >actual &&
	printf "1\tproduction\t%s\tby-member\t%s\n" pause "$WHO" \
		resume "$WHO" advance "$WHO" rollback "$WHO" >expect &&
	test_cmp expect actual &&
	test_grep "^state rolled-back" state/repo/releases/production &&
	test_grep "^advanced 1 [0-9]* $WHO$" state/repo/releases/production
'

test_expect_success 'without a session or with a wrong CSRF token nothing changes' '
	farm_start &&
	test_when_finished "farm_stop" &&
	cp state/repo/releases/production before &&
	curl -s -o /dev/null -w "%{http_code}" --data "channel=production&action=resume" \
		"$(console_url)/console/release" >code &&
	test "$(cat code)" != 200 &&
	console_login "$WHO" &&
	console_post /console/release "channel=production&action=finish&confirm=yes&csrf=0" >code &&
	test "$(cat code)" = 403 &&
	cmp before state/repo/releases/production
'

test_done
