#!/bin/sh
test_description='binfarm-binhost: an address that keeps presenting wrong credentials is refused for a while (auth-failures, auth-penalty, auth-exempt)'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-index.sh"
. "$TEST_DIRECTORY/lib-repo.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

command -v curl >/dev/null 2>&1 || skip_all 'curl is not installed'

# code PATH [curl args]: the status of GET PATH (headers in h).
code() {
	c_path=$1
	shift
	curl -s -D h -o out -w '%{http_code}' "$@" "$(bh_url)$c_path"
}

# node PATH [TOKEN]: GET /node/n1/PATH as n1, with its token or TOKEN.
node() {
	code "/node/n1/$1" -u "n1:${2:-$(cat tok)}"
}

metric() {
	curl -fsS -u "fleet:s3cret pass" "$(bh_url)/metrics" | sed -n "s/^$1 //p"
}

# conf NAME LINES...: NAME.conf, the repository's root and LINES.
conf() {
	printf "root = repo\n" >"$1.conf" &&
	c_name=$1 &&
	shift &&
	printf "%s\n" "$@" >>"$c_name.conf"
}

wrong=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

test_expect_success 'setup: a repository with a node n1, a users file' '
	binfarm repo init --unsigned repo 2>/dev/null &&
	mkpkg in/foo-1.0.gpkg.tar app-misc foo-1.0 &&
	binfarm add -q -R repo -p web in/foo-1.0.gpkg.tar 2>/dev/null &&
	binfarm snapshot -R repo -p web create >s1 2>/dev/null &&
	binfarm promote -R repo -p web -c production $(cat s1) >/dev/null 2>&1 &&
	binfarm node -R repo add n1 --site a --farm f1 --profile web \
		--channel production --token-file tok >/dev/null &&
	echo "s3cret pass" | binfarm-binhost --hash-password fleet >users
'

test_expect_success 'bad values are refused, named' '
	conf bad "auth-exempt = 10.0.0.0/8 10.0.0.0/33" &&
	test_must_fail binfarm-binhost -t -f bad.conf 2>err &&
	test_grep "auth-exempt: .10.0.0.0/33. is not an address or an address range" err &&
	conf bad "auth-failures = -1" &&
	test_must_fail binfarm-binhost -t -f bad.conf 2>err &&
	test_grep "bad.conf:2: .auth-failures. must be a number from 0 to 100000" err &&
	conf bad "auth-penalty = 0" &&
	test_must_fail binfarm-binhost -t -f bad.conf 2>err &&
	test_grep "auth-penalty. must be a number from 1 to 86400" err &&
	conf good "auth-exempt = 192.0.2.0/24 ::1 fd00::/8" "auth-failures = 0" &&
	binfarm-binhost -t -f good.conf -u "$(id -un)"
'

test_expect_success 'node URLs (the file loop): three wrong tokens, then the right one is 429 until the penalty ends' '
	conf fl "auth-failures = 3" "auth-penalty = 5" &&
	: >binhost.err &&
	start_binhost -f fl.conf &&
	test_when_finished stop_binhost &&
	test "$(node Packages)" = 200 &&
	test "$(node Packages $wrong)" = 401 &&
	test "$(node Packages $wrong)" = 401 &&
	test "$(node Packages)" = 200 &&
	test "$(node Packages $wrong)" = 401 &&
	test "$(node Packages)" = 429 &&
	test_grep -i "^Retry-After: [1-5]" h &&
	test_grep "too many wrong credentials from this address" out &&
	test "$(node app-misc/foo/foo-1.0-1.gpkg.tar)" = 429 &&
	test "$(code /node/n1/Packages)" = 401 &&
	test "$(code /production/web/Packages)" = 200 &&
	test "$(code /healthz)" = 200 &&
	test_grep "auth-failures: 3 wrong node credentials from 127.0.0.1 within 60 s: every request from it with credentials is refused for 5 s" binhost.err &&
	test "$(grep -c "auth-failures:" binhost.err)" = 1 &&
	! grep -e "$wrong" -e "$(cat tok)" binhost.err &&
	sleep 5.2 &&
	test "$(node Packages)" = 200 &&
	curl -fsS "$(bh_url)/metrics" >m &&
	test_grep "^binhost_auth_failures_total 3$" m &&
	test_grep "^binhost_auth_penalties_total 1$" m &&
	test_grep "^binhost_auth_refused_total 2$" m &&
	test_grep "^binhost_auth_penalised_addresses 0$" m &&
	test_grep "^binhost_requests_total{channel=\"\",profile=\"\",code=\"429\"} 2$" m
'

test_expect_success 'auth-file users: wrong passwords count; under the penalty the right one is refused unread' '
	conf af "auth-file = users" "auth-failures = 3" "auth-penalty = 60" \
		"access-log = access.log" &&
	: >binhost.err &&
	start_binhost -f af.conf &&
	test_when_finished stop_binhost &&
	test "$(code /production/web/Packages -u "fleet:s3cret pass")" = 200 &&
	test "$(code /production/web/Packages)" = 401 &&
	test "$(code /production/web/Packages)" = 401 &&
	test "$(code /production/web/Packages)" = 401 &&
	test "$(code /production/web/Packages -u "fleet:s3cret pass")" = 200 &&
	for i in 1 2 3
	do
		test "$(code /production/web/Packages -u "fleet:guess$i")" = 401 || return 1
	done &&
	test "$(code /production/web/Packages -u "fleet:s3cret pass")" = 429 &&
	test "$(node Packages)" = 429 &&
	test "$(code /production/web/Packages)" = 401 &&
	test_grep "auth-failures: 3 wrong credentials from 127.0.0.1" binhost.err &&
	test_grep "\"GET /production/web/Packages HTTP/1.1\" 429 " access.log &&
	! grep -e "guess" -e "s3cret" binhost.err access.log
'

test_expect_success 'an exempt address, and auth-failures = 0, are never refused' '
	conf ex "auth-failures = 2" "auth-exempt = 10.0.0.0/8 127.0.0.0/8" &&
	start_binhost -f ex.conf &&
	for i in 1 2 3 4 5
	do
		test "$(node Packages $wrong)" = 401 || return 1
	done &&
	test "$(node Packages)" = 200 &&
	stop_binhost &&
	conf off "auth-failures = 0" &&
	: >binhost.err &&
	start_binhost -f off.conf &&
	test_when_finished stop_binhost &&
	for i in 1 2 3 4 5
	do
		test "$(node Packages $wrong)" = 401 || return 1
	done &&
	test "$(node Packages)" = 200 &&
	! grep "auth-failures:" binhost.err
'

test_done
