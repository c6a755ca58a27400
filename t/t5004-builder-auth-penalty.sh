#!/bin/sh
test_description='binfarm-builder: an address that keeps presenting wrong credentials is refused for a while (auth-failures, auth-penalty, auth-exempt)'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

command -v curl >/dev/null 2>&1 || skip_all 'curl is not installed'

# call TOKEN PATH: GET with a bearer token; the status in code, the
# headers in headers, the body in body.
call() {
	curl -s -D headers -o body -w "%{http_code}" \
		-H "Authorization: Bearer $1" "$(cat state/builder.url)$2" >code
}

# login TOKEN: a console login; the status in code, the page in page.
login() {
	curl -s -o page -w "%{http_code}" --data-urlencode "token=$1" \
		--data-urlencode "name=Mallory" \
		"$(cat state/builder.url)/console/login" >code
}

# conf LINES...: the builder's configuration with LINES in [builder].
conf() {
	: >builder.log &&
	cp base.conf state/builder.conf &&
	printf "[builder]\n" >>state/builder.conf &&
	printf "%s\n" "$@" >>state/builder.conf
}

wrong=0123456789abcdef0123456789abcdef

test_expect_success 'setup: a builder' '
	farm_tree gentoo &&
	farm_profile prof/p app-misc/solo &&
	farm_init &&
	cp state/builder.conf base.conf
'

test_expect_success 'bad values are refused with file and line' '
	conf "auth-exempt = 10.0.0.0/8 10.0.0.0/33" &&
	test_expect_code 2 binfarm-builder -t -s state 2>err &&
	test_grep "builder.conf:[0-9]*: auth-exempt: .10.0.0.0/33. is not an address or an address range" err &&
	conf "auth-exempt = example.org" &&
	test_expect_code 2 binfarm-builder -t -s state 2>err &&
	test_grep "auth-exempt: .example.org. is not an address" err &&
	conf "auth-failures = -1" &&
	test_expect_code 2 binfarm-builder -t -s state 2>err &&
	test_grep "auth-failures: expected a number from 0 to 100000, not .-1." err &&
	conf "auth-penalty = 0" &&
	test_expect_code 2 binfarm-builder -t -s state 2>err &&
	test_grep "auth-penalty: expected a number from 1 to 86400" err &&
	conf "auth-exempt = 127.0.0.0/8 ::1 fd00::/8" "auth-failures = 0" &&
	binfarm-builder -t -s state
'

test_expect_success 'three wrong tokens: every request from the address is refused (429), the right token too; logged once' '
	conf "auth-failures = 3" "auth-penalty = 60" &&
	farm_start &&
	test_when_finished farm_stop &&
	et=$(sed -n "s/^engineer-token = //p" state/builder.conf) &&
	w1=$(farm_worker_token w1) &&
	call "$et" /v1/status && test "$(cat code)" = 200 &&
	for i in 1 2 3
	do
		call "$wrong$i" /v1/status && test "$(cat code)" = 401 || return 1
	done &&
	call "$et" /v1/status &&
	test "$(cat code)" = 429 &&
	test_grep -i "^Retry-After: [1-6][0-9]*" headers &&
	test_grep "too many wrong credentials from this address: every request from it is refused for [1-6][0-9]* more s" body &&
	call "$w1" /v1/jobs/lease && test "$(cat code)" = 429 &&
	test_must_fail binfarm status 2>err &&
	test_grep "too many wrong credentials from this address.*(HTTP 429)" err &&
	test_expect_code 2 binfarm status &&
	test_grep "auth-failures: 3 wrong tokens from 127.0.0.1 within 60 s: every request from it is refused for 60 s" builder.log &&
	test "$(grep -c "auth-failures:" builder.log)" = 1 &&
	! grep -e "$wrong" -e "$et" builder.log &&
	curl -s -o /dev/null -w "%{http_code}" "$(cat state/builder.url)/healthz" >code &&
	test "$(cat code)" = 200
'

test_expect_success 'the penalty ends; the metrics count it; nothing else was lost' '
	conf "auth-failures = 3" "auth-penalty = 5" &&
	farm_start &&
	test_when_finished farm_stop &&
	et=$(sed -n "s/^engineer-token = //p" state/builder.conf) &&
	for i in 1 2 3
	do
		call "$wrong" /v1/status || return 1
	done &&
	call "$et" /v1/status && test "$(cat code)" = 429 &&
	call "$et" /metrics && test "$(cat code)" = 429 &&
	sleep 5.2 &&
	call "$et" /v1/status && test "$(cat code)" = 200 &&
	call "$et" /metrics && test "$(cat code)" = 200 &&
	test_grep "^binfarm_builder_auth_failures_total 3$" body &&
	test_grep "^binfarm_builder_auth_penalties_total 1$" body &&
	test_grep "^binfarm_builder_auth_refused_total 2$" body &&
	test_grep "^binfarm_builder_auth_penalised_addresses 0$" body &&
	binfarm rebuild --profile p >out &&
	binfarm status >out &&
	test_grep "profile p" out
'

test_expect_success 'requests without a token, and a worker token on /metrics, do not count' '
	conf "auth-failures = 2" "auth-penalty = 60" &&
	farm_start &&
	test_when_finished farm_stop &&
	et=$(sed -n "s/^engineer-token = //p" state/builder.conf) &&
	w1=$(farm_worker_token w1) &&
	for i in 1 2 3 4 5
	do
		curl -s -o /dev/null -w "%{http_code}" "$(cat state/builder.url)/v1/status" >code &&
		test "$(cat code)" = 401 &&
		call "$w1" /metrics && test "$(cat code)" = 401 || return 1
	done &&
	call "$et" /v1/status && test "$(cat code)" = 200 &&
	! grep "auth-failures:" builder.log
'

test_expect_success 'console logins: wrong tokens count; under a penalty the right one is refused unread' '
	conf "auth-failures = 3" "auth-penalty = 60" &&
	farm_start &&
	test_when_finished farm_stop &&
	et=$(sed -n "s/^engineer-token = //p" state/builder.conf) &&
	for i in 1 2 3
	do
		login "$wrong" && test "$(cat code)" = 403 || return 1
	done &&
	login "$et" &&
	test "$(cat code)" = 429 &&
	test_grep "too many wrong tokens from this address: try again in [0-9]* s" page &&
	test_grep "auth-failures: 3 wrong console logins from 127.0.0.1" builder.log &&
	test "$(grep -c "refused a login" builder.log)" = 3 &&
	call "$et" /v1/status && test "$(cat code)" = 429
'

test_expect_success 'an exempt address, and auth-failures = 0, are never refused' '
	conf "auth-failures = 2" "auth-exempt = 10.0.0.0/8 127.0.0.0/8" &&
	farm_start &&
	et=$(sed -n "s/^engineer-token = //p" state/builder.conf) &&
	for i in 1 2 3 4 5
	do
		call "$wrong" /v1/status && test "$(cat code)" = 401 || return 1
	done &&
	call "$et" /v1/status && test "$(cat code)" = 200 &&
	farm_stop &&
	conf "auth-failures = 0" &&
	farm_start &&
	test_when_finished farm_stop &&
	for i in 1 2 3 4 5
	do
		call "$wrong" /v1/status && test "$(cat code)" = 401 || return 1
	done &&
	call "$et" /v1/status && test "$(cat code)" = 200 &&
	! grep "auth-failures:" builder.log
'

test_done
