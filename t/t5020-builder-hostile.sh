#!/bin/sh
test_description='builder: hostile requests cannot forge its log or race its rebuilds'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

test_expect_success 'setup' '
	farm_tree gentoo &&
	farm_profile prof/p app-misc/hello app-misc/solo &&
	farm_init
'

test_expect_success 'a URL with %0a and an escape sequence writes one escaped line' '
	farm_start &&
	test_when_finished "farm_stop" &&
	url=$(cat state/builder.url) &&
	code=$(curl -s -o /dev/null -w "%{http_code}" \
		"$url/v1/x%0a2026-01-01T00:00:00Z%20worker%20evil%20registered%1b%5b2J") &&
	test "$code" = 401 &&
	farm_stop &&
	test_grep "refused GET /v1/x\\\\x0A2026-01-01T00:00:00Z worker evil registered\\\\x1B\\[2J" builder.log &&
	test_must_fail grep "^2026-01-01T00:00:00Z worker evil" builder.log &&
	test_must_fail grep -q "$(printf "\033")" builder.log
'

test_done
