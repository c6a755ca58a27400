#!/bin/sh
test_description='binfarm-binhost: the file loop keeps package files open for the next request, and never serves a file the channel no longer resolves to'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

command -v curl >/dev/null 2>&1 || skip_all 'curl is not installed'
command -v python3 >/dev/null 2>&1 || skip_all 'python3 is not installed'

metric() {
	curl -fsS "$(bh_url)/metrics" | sed -n "s/^$1 //p"
}

# ka STEPS...: keepalive.py against the running server.
ka() {
	python3 "$TEST_DIRECTORY/helper/keepalive.py" "$(cat binhost.port)" "$@"
}

# body PATH: sha256 of what the server answers for PATH.
body() {
	curl -fsS "$(bh_url)$1" | sha256sum | cut -d" " -f1
}

sum() {
	sha256sum "$1" | cut -d" " -f1
}

P=/testing/amd64
A=app-misc/a/a-1-1.gpkg.tar

# snap ID BYTES: a snapshot holding a/a-1-1 of BYTES random bytes.
snap() {
	mkdir -p repo/snapshots/amd64/$1/app-misc/a &&
	printf "VERSION: 0\nTIMESTAMP: 1700000000\n\n" >repo/snapshots/amd64/$1/Packages &&
	head -c $2 /dev/urandom >repo/snapshots/amd64/$1/$A
}

test_expect_success 'setup: two snapshots with different bytes under one path' '
	make_repo repo &&
	snap s1 40000 &&
	snap s2 50000 &&
	set_channel repo testing amd64 s1 &&
	printf "root = repo\n" >fc.conf
'

test_expect_success 'the same file again: from the open descriptor, the same bytes' '
	start_binhost -f fc.conf &&
	test_when_finished stop_binhost &&
	h0=$(metric binhost_file_cache_hits_total) &&
	m0=$(metric binhost_file_cache_misses_total) &&
	ka "GET $P/$A" "GET $P/$A" "HEAD $P/$A" "GET $P/$A" >out &&
	cat out &&
	test "$(awk "{ print \$3 }" out | sort -u | grep -c .)" = 2 &&
	grep -c "^200 40000 $(sum repo/snapshots/amd64/s1/$A) " out >n &&
	test "$(cat n)" = 3 &&
	h1=$(metric binhost_file_cache_hits_total) &&
	m1=$(metric binhost_file_cache_misses_total) &&
	test $((m1 - m0)) -ge 1 && test $((h1 - h0)) -ge 2 &&
	test $((h1 - h0 + m1 - m0)) = 4
'

test_expect_success 'a promotion: the next request has the new snapshot bytes at once' '
	start_binhost -f fc.conf &&
	test_when_finished "stop_binhost; set_channel repo testing amd64 s1" &&
	test "$(body $P/$A)" = "$(sum repo/snapshots/amd64/s1/$A)" &&
	test "$(body $P/$A)" = "$(sum repo/snapshots/amd64/s1/$A)" &&
	set_channel repo testing amd64 s2 &&
	test "$(body $P/$A)" = "$(sum repo/snapshots/amd64/s2/$A)" &&
	set_channel repo testing amd64 s1 &&
	test "$(body $P/$A)" = "$(sum repo/snapshots/amd64/s1/$A)"
'

test_expect_success 'a snapshot deleted and made again under its name: the new bytes, not the open old file' '
	BINFARM_BINHOST_LINK_FRESH=-1 start_binhost -f fc.conf &&
	test_when_finished stop_binhost &&
	ka "GET $P/$A" "GET $P/$A" >before &&
	grep "^200 40000 $(sum repo/snapshots/amd64/s1/$A) " before &&
	mv repo/snapshots/amd64/s1 repo/snapshots/amd64/s1.old &&
	snap s1 45000 &&
	set_channel repo testing amd64 s1 &&
	ka "GET $P/$A" >after &&
	cat after &&
	grep "^200 45000 $(sum repo/snapshots/amd64/s1/$A) " after &&
	rm -rf repo/snapshots/amd64/s1.old
'

test_expect_success 'a file gone from the snapshot under the same link: 404 within the cache lifetime' '
	BINFARM_BINHOST_LINK_FRESH=-1 start_binhost -f fc.conf &&
	test_when_finished "stop_binhost; snap s2 50000" &&
	set_channel repo testing amd64 s2 &&
	test "$(body $P/$A)" = "$(sum repo/snapshots/amd64/s2/$A)" &&
	rm repo/snapshots/amd64/s2/$A &&
	n=0 &&
	while test "$(http_code $P/$A)" = 200 && test $n -lt 30; do
		sleep 0.5; n=$((n + 1))
	done &&
	test "$(http_code $P/$A)" = 404 &&
	set_channel repo testing amd64 s1
'

test_expect_success 'an idle kept file is closed after its lifetime: a removed snapshot frees its space' '
	snap s3 30000 &&
	set_channel repo testing amd64 s3 &&
	test_when_finished "set_channel repo testing amd64 s1" &&
	start_binhost -f fc.conf &&
	test_when_finished stop_binhost &&
	test "$(body $P/$A)" = "$(sum repo/snapshots/amd64/s3/$A)" &&
	set_channel repo testing amd64 s1 &&
	rm -r repo/snapshots/amd64/s3 &&
	held() {
		ls -l /proc/$(cat binhost.pid)/fd | grep -c "s3/.*(deleted)" || :
	} &&
	test "$(held)" -ge 1 &&
	n=0 &&
	while test "$(held)" != 0 && test $n -lt 30; do
		sleep 0.5; n=$((n + 1))
	done &&
	test "$(held)" = 0
'

test_expect_success 'BINFARM_BINHOST_NO_FILE_CACHE: every request opens its file' '
	BINFARM_BINHOST_NO_FILE_CACHE=1 start_binhost -f fc.conf &&
	test_when_finished stop_binhost &&
	ka "GET $P/$A" "GET $P/$A" "GET $P/$A" >out &&
	test "$(grep -c "^200 " out)" = 3 &&
	test "$(metric binhost_file_cache_hits_total)" = 0 &&
	test "$(metric binhost_file_cache_misses_total)" = 3
'

test_expect_success 'the soft limit on descriptors is raised for max-connections, up to the hard limit' '
	printf "root = repo\nmax-connections = 3000\n" >many.conf &&
	(ulimit -S -n 256 && start_binhost -f many.conf) &&
	test_when_finished stop_binhost &&
	soft=$(awk "/^Max open files/ { print \$4 }" /proc/$(cat binhost.pid)/limits) &&
	hard=$(awk "/^Max open files/ { print \$5 }" /proc/$(cat binhost.pid)/limits) &&
	echo "soft $soft hard $hard" &&
	if test "$hard" = unlimited || test "$hard" -ge 3200
	then
		test "$soft" -ge 3064
	else
		test "$soft" = "$hard"
	fi &&
	test "$(body $P/$A)" = "$(sum repo/snapshots/amd64/s1/$A)"
'

test_expect_success 'a hard limit too low for a cache: files are served, none kept' '
	printf "root = repo\nmax-connections = 200\n" >few.conf &&
	(ulimit -n 250 && start_binhost -f few.conf) &&
	test_when_finished stop_binhost &&
	ka "GET $P/$A" "GET $P/$A" >out &&
	test "$(grep -c "^200 [0-9]* $(sum repo/snapshots/amd64/s1/$A) " out)" = 2 &&
	test "$(metric binhost_file_cache_hits_total)" = 0
'

test_done
