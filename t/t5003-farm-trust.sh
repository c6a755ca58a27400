#!/bin/sh
test_description='the builder API on a network: TLS, per-worker tokens, connection and upload limits'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

command -v curl >/dev/null 2>&1 || skip_all 'curl is not installed'
command -v openssl >/dev/null 2>&1 || skip_all 'openssl is not installed'

# wapi TOKEN PATH JSON: a worker call; prints the body, then the status.
wapi() {
	curl -s -w "\n%{http_code}\n" -X POST -H "Authorization: Bearer $1" \
		-d "$3" "$url$2"
}

# Each test runs in a subshell: the tokens.
tokens() {
	w1=$(farm_worker_token w1) &&
	et=$(sed -n "s/^engineer-token = //p" state/builder.conf) &&
	test -n "$w1" && test -n "$et"
}

# A new revision of app-misc/solo, so that a rebuild has a job.
bump() {
	cp gentoo/app-misc/solo/solo-1.ebuild gentoo/app-misc/solo/solo-1-r$1.ebuild &&
	farm_md5cache gentoo &&
	git -C gentoo add -A && git -C gentoo commit -q -m "solo r$1"
}

running() {
	binfarm status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(sum((p.get("jobs") or {}).get("running", 0) for p in s["profiles"]))'
}

test_expect_success 'setup: a TLS builder, its CA, and another CA' '
	farm_tree gentoo &&
	farm_profile prof/p app-misc/solo &&
	farm_init &&
	printf "[builder]\nrequest-timeout = 2\nmax-upload-size = 64K\n" \
		>>state/builder.conf &&
	test_grep "^tls-cert = tls/server.pem" state/builder.conf &&
	test_grep "^\[worker p-1\]" state/builder.conf &&
	openssl verify -CAfile state/tls/ca.pem state/tls/server.pem &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout other.key -out other-ca.pem -days 2 \
		-subj "/CN=another CA" 2>/dev/null &&
	w1=$(farm_worker_token w1) && test -n "$w1" &&
	w2=$(farm_worker_token w2) && test -n "$w2" &&
	test "$w1" != "$w2"
'

test_expect_success 'the old single worker-token is refused with what to do' '
	tokens &&
	printf "[builder]\nstate = x\nworker-token = aaaaaaaaaaaaaaaa\n" >old.conf &&
	test_expect_code 2 binfarm-builder -t -f old.conf 2>err &&
	test_grep "old.conf:3: worker-token: one token for every worker is no longer accepted; give each worker a \[worker NAME\] section" err &&
	cp state/builder.conf dup.conf &&
	printf "[worker dup]\ntoken = %s\n" "$w1" >>dup.conf &&
	test_expect_code 2 binfarm-builder -t -f dup.conf 2>err &&
	test_grep "\[worker dup\] has the token of \[worker w1\]" err &&
	cp state/builder.conf np.conf &&
	printf "[worker np]\ntoken = 0123456789abcdef0\nprofiles = nope\n" >>np.conf &&
	test_expect_code 2 binfarm-builder -t -f np.conf 2>err &&
	test_grep "\[worker np\]: no \[profile nope\]" err
'

test_expect_success 'a plain-HTTP request to the TLS builder is refused clearly' '
	tokens &&
	farm_start &&
	test_when_finished "farm_stop" &&
	url=$(cat state/builder.url) &&
	case $url in https://127.0.0.1:*) ;; *) false ;; esac &&
	plain=http://${url#https://} &&
	test_must_fail binfarm status --builder "$plain" 2>err &&
	test_grep "no HTTP response .*; if it speaks TLS, use an https:// URL" err &&
	test_must_fail curl -sf "$plain/v1/status" >out &&
	test_must_be_empty out &&
	binfarm status >out &&
	test_grep "profile p" out
'

test_expect_success 'a wrong CA: the worker stops with a TLS verification error and gets no job' '
	tokens &&
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	url=$(cat state/builder.url) &&
	binfarm rebuild --profile p >out &&
	test_must_fail binfarm status --cacert other-ca.pem 2>err &&
	test_grep "TLS: cannot verify the certificate of 127.0.0.1:[0-9]* against other-ca.pem" err &&
	test_expect_code 1 binfarm-worker --builder "$url" --token "$w1" \
		--cacert other-ca.pem --name w1 --tags farm-test \
		--workdir work-w1 --idle-exit 2 2>werr &&
	test_grep "cannot register with the builder: TLS: cannot verify the certificate" werr &&
	! grep "registered" werr &&
	test "$(running)" = 0 &&
	binfarm status --json >st &&
	! grep "\"w1\"" st &&
	test_must_fail binfarm-worker --builder "$url" --token "$w1" \
		--cacert nowhere.pem --name w1 2>werr &&
	test_grep "cacert .nowhere.pem.: No such file" werr
'

test_expect_success 'with the right CA the farm builds over TLS' '
	tokens &&
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	farm_worker w1 &&
	farm_wait_rebuild complete 120 &&
	test_grep "registered as w1 with 127.0.0.1" worker-w1.log &&
	test_grep "worker w1 registered" builder.log &&
	binfarm status >st &&
	test_grep "1/1 done" st
'

test_expect_success 'a worker presenting another worker'"'"'s name is refused; nothing leased' '
	tokens &&
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	url=$(cat state/builder.url) &&
	binfarm rebuild --profile p --commit gentoo=main >/dev/null 2>&1;
	wapi "$w1" /v1/workers/register "{\"name\":\"w2\",\"tags\":[\"farm-test\"]}" >out &&
	test_grep "^403$" out &&
	test_grep "this token is worker w1.s: it cannot act as another worker" out &&
	wapi "$w1" /v1/jobs/lease "{\"name\":\"w2\"}" >out &&
	test_grep "^403$" out &&
	wapi "$w1" /v1/workers/heartbeat "{\"name\":\"w2\",\"jobs\":[]}" >out &&
	test_grep "^403$" out &&
	test_grep "the token of worker w1 claims to be .w2." builder.log &&
	test "$(running)" = 0 &&
	test_expect_code 1 binfarm-worker -s state --token "$w1" --name w2 \
		--tags farm-test --workdir work-x --idle-exit 2 2>werr &&
	test_grep "the builder refused this worker: HTTP 403: this token is worker w1.s" werr &&
	wapi "$w1" /v1/workers/register "{\"name\":\"w1-2\",\"tags\":[]}" >out &&
	test_grep "^200$" out &&
	test_grep "\"name\":\"w1-2\"" out &&
	test_grep "\"tags\":\[\"farm-test\"\]" out
'

test_expect_success 'a worker claiming a profile it is not configured for is refused' '
	tokens &&
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	url=$(cat state/builder.url) &&
	wapi "$w1" /v1/workers/register "{\"name\":\"w1\",\"tags\":[\"farm-test\",\"p\"]}" >out &&
	test_grep "^403$" out &&
	test_grep "worker w1 is not configured for .p." out &&
	wapi "$w1" /v1/workers/register "{\"name\":\"w1\",\"tags\":[\"farm-test\",5]}" >out &&
	test_grep "^403$" out &&
	test_grep "worker w1 is not configured for .(not a string)." out &&
	wapi "$w1" /v1/workers/register "{\"name\":\"w1\",\"tags\":[\"p\",5]}" >out &&
	test_grep "worker w1 is not configured for .p." out &&
	wapi "$w1" /v1/workers/register "{\"name\":\"w1\",\"tags\":\"farm-test\"}" >out &&
	test_grep "^400$" out &&
	test_grep "register.s tags must be a list" out &&
	test "$(running)" = 0 &&
	test_expect_code 1 binfarm-worker -s state --name arm --tags arm64,p \
		--workdir work-arm --idle-exit 2 2>werr &&
	test_grep "worker arm is not configured for .p.: builder.conf.s \[worker arm\] sets" werr &&
	test_grep "refused to register worker arm: it is not configured for .p." builder.log &&
	test "$(running)" = 0 &&
	# registered by an older builder, which took the tags from the worker
	wapi "$w1" /v1/workers/register "{\"name\":\"w1\",\"tags\":[]}" >out &&
	test_grep "^200$" out &&
	sqlite3 state/builder.db "UPDATE workers SET tags=\"[\"\"farm-test\"\",\"\"p\"\"]\" WHERE name=\"w1\"" &&
	wapi "$w1" /v1/jobs/lease "{\"name\":\"w1\"}" >out &&
	test_grep "^403$" out &&
	test_grep "worker w1 is registered for .p., which its \[worker w1\] section does not allow; register again" out
'

test_expect_success 'worker tokens cannot make engineer calls, nor the engineer token worker calls' '
	tokens &&
	farm_start &&
	test_when_finished "farm_stop" &&
	url=$(cat state/builder.url) &&
	wapi "$w1" /v1/rebuild "{\"profile\":\"p\"}" >out &&
	test_grep "^403$" out &&
	test "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $w1" "$url/v1/status")" = 403 &&
	test "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $w1" "$url/v1/jobs/1/log")" = 403 &&
	wapi "$et" /v1/jobs/lease "{\"name\":\"w1\"}" >out &&
	test_grep "^403$" out &&
	wapi "$et" /v1/workers/register "{\"name\":\"w1\",\"tags\":[]}" >out &&
	test_grep "^403$" out &&
	! grep -e "$w1" -e "$et" builder.log
'

test_expect_success 'idle connections do not lock the engineer out; tricklers are closed' '
	tokens &&
	farm_start &&
	test_when_finished "kill \$(cat idle.pid) 2>/dev/null; farm_stop" &&
	port=${BINFARM_PORT:-$(sed "s/.*://" state/builder.url)} &&
	{ python3 "$TEST_DIRECTORY/helper/conns.py" idle $port 530 127.0.0.2 ready 20 & } &&
	echo $! >idle.pid &&
	i=0 && while ! test -s ready; do i=$((i + 1)); test $i -lt 200 || break; sleep 0.1; done &&
	test "$(cat ready)" -le 64 &&
	start=$(date +%s) &&
	timeout 5 binfarm status >st &&
	test $(($(date +%s) - start)) -le 2 &&
	test_grep "profile p" st &&
	python3 "$TEST_DIRECTORY/helper/conns.py" trickle $port state/tls/ca.pem 0.3 15 >tr &&
	test_grep "closed after [2-4] s" tr &&
	test_grep "closed [0-9]* connections* that sent no complete request head within 2 s" builder.log
'

test_expect_success 'an upload over max-upload-size: 413 from Content-Length, and while streaming; nothing kept' '
	tokens &&
	farm_start &&
	test_when_finished "binfarm cancel --profile p >/dev/null 2>&1; farm_stop" &&
	url=$(cat state/builder.url) &&
	port=$(sed "s/.*://" state/builder.url) &&
	bump 1 &&
	binfarm rebuild --profile p >out &&
	test_grep "1 to build" out &&
	python3 "$TEST_DIRECTORY/helper/conns.py" put $port state/tls/ca.pem "$w1" \
		/v1/jobs/1/package 10737418240 >out &&
	test_grep "^HTTP/1.1 413" out &&
	python3 "$TEST_DIRECTORY/helper/conns.py" put $port state/tls/ca.pem nobody \
		/v1/jobs/1/package 10737418240 >out &&
	test_grep "^HTTP/1.1 413" out &&
	wapi "$w1" /v1/workers/register "{\"name\":\"w1\",\"tags\":[]}" >/dev/null &&
	wapi "$w1" /v1/jobs/lease "{\"name\":\"w1\",\"deps\":false}" >lease &&
	test_grep "^200$" lease &&
	job=$(head -n 1 lease | python3 -c "import json,sys; print(json.load(sys.stdin)[\"job\"])") &&
	ls=$(head -n 1 lease | python3 -c "import json,sys; print(json.load(sys.stdin)[\"lease\"])") &&
	head -c 1048576 /dev/zero >big &&
	curl -s -o resp -w "%{http_code}" -T - -H "Transfer-Encoding: chunked" \
		-H "Authorization: Bearer $w1" -H "X-Binfarm-Worker: w1" \
		-H "X-Binfarm-Lease: $ls" \
		-H "X-Binfarm-Checksum: sha256:$(sha256sum <big | cut -c1-64)" \
		"$url/v1/jobs/$job/package" <big >code;
	test "$(cat code)" = 413 &&
	test_grep "upload larger than max-upload-size (65536 bytes)" resp &&
	test_grep "refused PUT /v1/jobs/$job/package from w1: body over 65536 bytes" builder.log &&
	ls state/incoming >left &&
	test_must_be_empty left
'

test_expect_success 'the worker token reaches neither the build driver'"'"'s environment nor its view of the worker' '
	tokens &&
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	url=$(cat state/builder.url) &&
	# a driver (run as the sandbox driver is: its script, the job
	# directory) that shows what it was given; the ebuild driver'\''s
	# environment is checked in every package by t5100
	cat >driver.sh <<-EOF &&
	#!/bin/sh
	env >"$PWD/driver-env"
	for p in \$(pgrep -f binfarm-worker); do tr "\\\\0" " " </proc/\$p/cmdline; echo; done >"$PWD/driver-ps"
	exit 1
	EOF
	bump 2 &&
	binfarm rebuild --profile p >out &&
	test_grep "1 to build" out &&
	(
		BINFARM_SANDBOX=$PWD/driver.sh BINFARM_WORKER_TOKEN=$w1 &&
		export BINFARM_SANDBOX BINFARM_WORKER_TOKEN &&
		exec binfarm-worker --builder "$url" --cacert state/tls/ca.pem \
			--token "$w1" --name w1 --tags farm-test --driver sandbox \
			--workdir work-env --max-jobs 1 \
			--idle-exit 3 >worker-env.log 2>&1
	) &&
	test -s driver-env &&
	test_grep "^PWD=.*work-env/jobs/" driver-env &&
	! grep -e BINFARM_WORKER_TOKEN -e "$w1" driver-env &&
	test_grep "binfarm-worker --builder" driver-ps &&
	! grep -e "$w1" driver-ps
'

test_done
