#!/bin/sh
test_description='binfarm-builder: the release console in headless Chromium (login, queue, reasons, snapshots, diff, live log, promote)'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"
. "$TEST_DIRECTORY/lib-console.sh"

console_need_chromium

# console_browse NAME STEP...: console-chromium.py as NAME, its lines in browser.out.
console_browse() {
	_name=$1
	shift
	"$CONSOLE_PY" "$TEST_DIRECTORY/helper/console-chromium.py" "$(console_url)" \
		"$(console_et)" "$_name" "$(sed -n 1p snaps)" "$(sed -n 2p snaps)" "$@" \
		>browser.out 2>browser.err || { cat browser.out browser.err; return 1; }
	cat browser.out
}

test_expect_success 'setup: two rebuilds of p, the second by an XSS payload' '
	console_setup &&
	test_when_finished "farm_stop" &&
	ls state/repo/snapshots/p >snaps &&
	test "$(wc -l <snaps)" -eq 2
'

test_expect_success 'log in, see the queue, the rebuild reasons, the snapshots and a diff; promote after confirming' '
	farm_start &&
	test_when_finished "farm_stop" &&
	old=$(sed -n 1p snaps) &&
	console_browse "Ada Lovelace" &&
	test_grep "ok: a wrong token shows the login page again" browser.out &&
	test_grep "ok: no Content-Security-Policy or script errors" browser.out &&
	test_grep "ok: rebuild 2: libhello.s ebuild changed, hello after it, solo reused" browser.out &&
	test_grep "ok: a log line with markup is shown as text" browser.out &&
	test_grep "ok: promoted $old to production" browser.out &&
	test_grep "ok: logged out" browser.out &&
	test "$(readlink state/repo/channels/production/p)" = "../../snapshots/p/$old" &&
	tail -n 1 state/repo/history.log | cut -f3- >actual &&
	printf "promote\tp\tproduction\t-\t%s\tAda Lovelace\n" "$old" >expect &&
	test_cmp expect actual
'

test_expect_success 'a running job: its log is followed live to the end' '
	cat >>gentoo/app-misc/solo/solo-1.ebuild <<-\EOT &&
	# solo is built again, and waits (a minute at most) for the browser
	src_compile() {
		local gate=${BF_JOBDIR%/jobs/*}/gate i=0
		echo "waiting for the gate"
		while [[ ! -f ${gate} ]] && (( i++ < 600 )); do sleep 0.1; done
		simplec_src_compile
	}
	EOT
	farm_md5cache gentoo &&
	git -C gentoo add -A && git -C gentoo commit -q -m "solo: again" &&
	mkdir -p work-w1 && rm -f work-w1/gate &&
	CONSOLE_GATE=$PWD/work-w1/gate && export CONSOLE_GATE &&
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	binfarm rebuild --profile p >out &&
	test_grep "3 packages, 1 to build, 2 already built" out &&
	farm_worker w1 &&
	console_browse "Ada Lovelace" login live_log &&
	test_grep "ok: the log of app-misc/solo-1 shows .waiting for the gate. while it runs" browser.out &&
	test -f work-w1/gate &&
	test_grep "ok: the log followed to its end" browser.out &&
	farm_wait_rebuild complete 60
'

test_done
