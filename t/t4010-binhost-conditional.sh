#!/bin/sh
test_description='binfarm-binhost: conditional GET, 304, promotion and rollback'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-gpkg.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

command -v curl >/dev/null 2>&1 || skip_all 'curl is not installed'

T1=1700000000
T2=1700000100
U=

test_expect_success 'setup: two snapshots, testing on the first' '
	make_repo repo &&
	make_snapshot repo amd64 s1 $T1 app-misc/foo-1.0 &&
	make_snapshot repo amd64 s2 $T2 app-misc/foo-1.1 &&
	set_channel repo testing amd64 s1 &&
	touch -h -d @$T1 repo/channels/testing/amd64 &&
	start_binhost --root repo
'

test_expect_success 'Last-Modified equals TIMESTAMP when the link is not newer' '
	curl -fsS -D h -o /dev/null "$(bh_url)/testing/amd64/Packages" &&
	test "$(hdr Last-Modified h)" = "$(http_date $T1)"
'

test_expect_success 'If-Modified-Since = cached TIMESTAMP + 5 (Portage): 304, no body' '
	curl -sS -D h -o body -H "If-Modified-Since: $(http_date $((T1 + 5)))" \
		"$(bh_url)/testing/amd64/Packages" &&
	head -n 1 h | grep " 304 " &&
	test ! -s body &&
	test "$(hdr Last-Modified h)" = "$(http_date $T1)" &&
	test -n "$(hdr ETag h)" &&
	test "$(hdr Cache-Control h)" = "public, max-age=60"
'

test_expect_success 'If-Modified-Since exactly Last-Modified: 304; one second earlier: 200' '
	test "$(http_code /testing/amd64/Packages -H "If-Modified-Since: $(http_date $T1)")" = 304 &&
	test "$(http_code /testing/amd64/Packages -H "If-Modified-Since: $(http_date $((T1 - 1)))")" = 200
'

test_expect_success 'RFC 850 and asctime dates are understood; garbage is ignored' '
	test "$(http_code /testing/amd64/Packages -H "If-Modified-Since: Tuesday, 14-Nov-23 22:13:25 GMT")" = 304 &&
	test "$(http_code /testing/amd64/Packages -H "If-Modified-Since: Tue Nov 14 22:13:25 2023")" = 304 &&
	test "$(http_code /testing/amd64/Packages -H "If-Modified-Since: yesterday")" = 200
'

test_expect_success 'If-None-Match: 304 on the ETag, W/ and lists too; 200 otherwise' '
	curl -fsS -D h -o /dev/null "$(bh_url)/testing/amd64/Packages" &&
	etag=$(hdr ETag h) &&
	test "$(http_code /testing/amd64/Packages -H "If-None-Match: $etag")" = 304 &&
	test "$(http_code /testing/amd64/Packages -H "If-None-Match: \"x\", W/$etag")" = 304 &&
	test "$(http_code /testing/amd64/Packages -H "If-None-Match: *")" = 304 &&
	test "$(http_code /testing/amd64/Packages -H "If-None-Match: \"other\"")" = 200
'

test_expect_success 'If-None-Match wins over If-Modified-Since' '
	test "$(http_code /testing/amd64/Packages -H "If-None-Match: \"other\"" \
		-H "If-Modified-Since: $(http_date $((T1 + 5)))")" = 200
'

test_expect_success 'package files answer conditional requests too' '
	p=/testing/amd64/app-misc/foo/foo-1.0-1.gpkg.tar &&
	curl -fsS -D h -o /dev/null "$(bh_url)$p" &&
	test "$(http_code $p -H "If-None-Match: $(hdr ETag h)")" = 304
'

test_expect_success 'a promotion is seen by the next request, with a later Last-Modified' '
	curl -fsS -D h1 -o /dev/null "$(bh_url)/testing/amd64/Packages" &&
	set_channel repo testing amd64 s2 &&
	curl -fsS -D h2 -o got "$(bh_url)/testing/amd64/Packages" &&
	test_cmp repo/snapshots/amd64/s2/Packages got &&
	test "$(date -u -d "$(hdr Last-Modified h2)" +%s)" -gt "$(date -u -d "$(hdr Last-Modified h1)" +%s)" &&
	test "$(hdr ETag h1)" != "$(hdr ETag h2)" &&
	test "$(http_code /testing/amd64/Packages -H "If-Modified-Since: $(http_date $((T1 + 5)))")" = 200 &&
	test "$(http_code /testing/amd64/Packages -H "If-None-Match: $(hdr ETag h1)")" = 200 &&
	test "$(http_code /testing/amd64/app-misc/foo/foo-1.1-1.gpkg.tar)" = 200 &&
	test "$(http_code /testing/amd64/app-misc/foo/foo-1.0-1.gpkg.tar)" = 404
'

test_expect_success 'a rollback to an older snapshot still moves Last-Modified forward' '
	curl -fsS -D h2 -o /dev/null "$(bh_url)/testing/amd64/Packages" &&
	lm2=$(date -u -d "$(hdr Last-Modified h2)" +%s) &&
	set_channel repo testing amd64 s1 &&
	touch -h -d @$T1 repo/channels/testing/amd64 &&
	curl -fsS -D h3 -o got "$(bh_url)/testing/amd64/Packages" &&
	test_cmp repo/snapshots/amd64/s1/Packages got &&
	lm3=$(date -u -d "$(hdr Last-Modified h3)" +%s) &&
	test $lm3 -gt $lm2 &&
	test "$(http_code /testing/amd64/Packages -H "If-Modified-Since: $(http_date $((T2 + 5)))")" = 200
'

test_expect_success 'a request in flight finishes on the snapshot it started with' '
	set_channel repo testing amd64 s2 &&
	mkdir -p repo/snapshots/amd64/s2/big &&
	head -c 3000000 /dev/urandom >repo/snapshots/amd64/s2/big/file-1-1.gpkg.tar &&
	curl -fsS --limit-rate 1M -o slow "$(bh_url)/testing/amd64/big/file-1-1.gpkg.tar" &
	cpid=$! &&
	wait_size slow &&
	mv repo/snapshots/amd64/s2/big/file-1-1.gpkg.tar old.bin &&
	set_channel repo testing amd64 s1 &&
	wait $cpid &&
	cmp slow old.bin &&
	test "$(http_code /testing/amd64/big/file-1-1.gpkg.tar)" = 404
'

test_expect_success 'stop' '
	stop_binhost
'

# The channel cache.  A link younger than two seconds is read again on
# every request, which every link set by these tests is; with
# BINFARM_BINHOST_LINK_FRESH=-1 the server trusts the link's lstat at
# once, so what follows runs on the cached path a long-lived link takes.

# metric NAME: its value from /metrics.
metric() {
	curl -fsS "$(bh_url)/metrics" | sed -n "s/^$1 //p"
}

test_expect_success 'cached channel: start with the lstat-only check' '
	set_channel repo testing amd64 s1 &&
	touch -h -d @$T1 repo/channels/testing/amd64 &&
	gzip -9n -c repo/snapshots/amd64/s1/Packages >repo/snapshots/amd64/s1/Packages.gz &&
	gzip -9n -c repo/snapshots/amd64/s2/Packages >repo/snapshots/amd64/s2/Packages.gz &&
	touch -d @$T1 repo/snapshots/amd64/s1/Packages.gz &&
	touch -d @$T2 repo/snapshots/amd64/s2/Packages.gz &&
	BINFARM_BINHOST_LINK_FRESH=-1 start_binhost --root repo
'

test_expect_success 'cached channel: 304 validators equal those of a fresh open' '
	curl -fsS -D h200 -o got "$(bh_url)/testing/amd64/Packages" &&
	test_cmp repo/snapshots/amd64/s1/Packages got &&
	hits0=$(metric binhost_channel_cache_hits_total) &&
	for i in 1 2 3; do
		curl -sS -D h304 -o body -H "If-None-Match: $(hdr ETag h200)" \
			"$(bh_url)/testing/amd64/Packages" &&
		head -n 1 h304 | grep " 304 " &&
		test ! -s body &&
		test "$(hdr ETag h304)" = "$(hdr ETag h200)" &&
		test "$(hdr Last-Modified h304)" = "$(hdr Last-Modified h200)" &&
		test "$(hdr Cache-Control h304)" = "$(hdr Cache-Control h200)" || return 1
	done &&
	hits1=$(metric binhost_channel_cache_hits_total) &&
	test $hits1 -ge $((hits0 + 3)) &&
	test "$(http_code /testing/amd64/Packages -H "If-Modified-Since: $(hdr Last-Modified h200)")" = 304 &&
	test "$(http_code /testing/amd64/Packages -H "If-Modified-Since: $(http_date $((T1 - 1)))")" = 200
'

test_expect_success 'cached channel: a body from the cached resolution is the file' '
	curl -fsS -o got "$(bh_url)/testing/amd64/Packages" &&
	test_cmp repo/snapshots/amd64/s1/Packages got &&
	curl -fsS -o got.gz "$(bh_url)/testing/amd64/Packages.gz" &&
	cmp repo/snapshots/amd64/s1/Packages.gz got.gz &&
	curl -fsS -D h -o part -r 0-9 "$(bh_url)/testing/amd64/Packages" &&
	head -n 1 h | grep " 206 " &&
	head -c 10 repo/snapshots/amd64/s1/Packages >want &&
	test_cmp want part &&
	curl -sS -D h -o /dev/null -r 999999- "$(bh_url)/testing/amd64/Packages" &&
	head -n 1 h | grep " 416 "
'

test_expect_success 'cached channel: a promotion between two cached requests is seen at once' '
	curl -fsS -D h1 -o /dev/null "$(bh_url)/testing/amd64/Packages" &&
	curl -fsS -D g1 -o /dev/null "$(bh_url)/testing/amd64/Packages.gz" &&
	test "$(http_code /testing/amd64/Packages -H "If-None-Match: $(hdr ETag h1)")" = 304 &&
	test "$(http_code /testing/amd64/Packages.gz -H "If-None-Match: $(hdr ETag g1)")" = 304 &&
	set_channel repo testing amd64 s2 &&
	curl -sS -D h2 -o got -H "If-None-Match: $(hdr ETag h1)" \
		"$(bh_url)/testing/amd64/Packages" &&
	head -n 1 h2 | grep " 200 " &&
	test_cmp repo/snapshots/amd64/s2/Packages got &&
	test "$(hdr ETag h2)" != "$(hdr ETag h1)" &&
	test "$(date -u -d "$(hdr Last-Modified h2)" +%s)" -gt "$(date -u -d "$(hdr Last-Modified h1)" +%s)" &&
	curl -sS -D g2 -o got.gz -H "If-Modified-Since: $(hdr Last-Modified g1)" \
		"$(bh_url)/testing/amd64/Packages.gz" &&
	head -n 1 g2 | grep " 200 " &&
	cmp repo/snapshots/amd64/s2/Packages.gz got.gz &&
	test "$(http_code /testing/amd64/app-misc/foo/foo-1.1-1.gpkg.tar)" = 200 &&
	test "$(http_code /testing/amd64/app-misc/foo/foo-1.0-1.gpkg.tar)" = 404
'

test_expect_success 'cached channel: a rollback still moves Last-Modified forward' '
	curl -fsS -D h2 -o /dev/null "$(bh_url)/testing/amd64/Packages" &&
	test "$(http_code /testing/amd64/Packages -H "If-None-Match: $(hdr ETag h2)")" = 304 &&
	set_channel repo testing amd64 s1 &&
	touch -h -d @$T1 repo/channels/testing/amd64 &&
	curl -sS -D h3 -o got -H "If-Modified-Since: $(hdr Last-Modified h2)" \
		"$(bh_url)/testing/amd64/Packages" &&
	head -n 1 h3 | grep " 200 " &&
	test_cmp repo/snapshots/amd64/s1/Packages got &&
	test "$(date -u -d "$(hdr Last-Modified h3)" +%s)" -gt "$(date -u -d "$(hdr Last-Modified h2)" +%s)" &&
	curl -sS -D h4 -o /dev/null -H "If-None-Match: $(hdr ETag h3)" \
		"$(bh_url)/testing/amd64/Packages" &&
	head -n 1 h4 | grep " 304 " &&
	test "$(hdr Last-Modified h4)" = "$(hdr Last-Modified h3)"
'

test_expect_success 'cached channel: a link removed or pointed outside is a 404 at once, the generation told' '
	test "$(http_code /testing/amd64/Packages)" = 200 &&
	ln -sfn ../../snapshots/arm64/s1 repo/channels/testing/.amd64.new &&
	mv -T repo/channels/testing/.amd64.new repo/channels/testing/amd64 &&
	bf-test-tool chgen-bump repo &&
	test "$(http_code /testing/amd64/Packages)" = 404 &&
	rm repo/channels/testing/amd64 &&
	bf-test-tool chgen-bump repo &&
	test "$(http_code /testing/amd64/Packages)" = 404 &&
	set_channel repo testing amd64 s1 &&
	test "$(http_code /testing/amd64/Packages)" = 200
'

test_expect_success 'cached channel: a link changed by hand, the generation not told, within a second' '
	test "$(http_code /testing/amd64/Packages)" = 200 &&
	test "$(http_code /testing/amd64/Packages)" = 200 &&
	rm repo/channels/testing/amd64 &&
	sleep 1.1 &&
	test "$(http_code /testing/amd64/Packages)" = 404 &&
	set_channel repo testing amd64 s1 &&
	test "$(http_code /testing/amd64/Packages)" = 200
'

test_expect_success 'cached channel: while no channel moves, the link is looked at once a second' '
	u0=$(metric binhost_channel_cache_unchecked_total) &&
	m0=$(metric binhost_channel_cache_misses_total) &&
	h0=$(metric binhost_channel_cache_hits_total) &&
	set -- && for i in $(seq 20); do set -- "$@" "$(bh_url)/testing/amd64/Packages"; done &&
	curl -fsS -o /dev/null "$@" &&
	u1=$(metric binhost_channel_cache_unchecked_total) &&
	h1=$(metric binhost_channel_cache_hits_total) &&
	test $((u1 - u0)) -ge 10 &&
	test $((h1 - h0)) -ge $((u1 - u0)) &&
	test "$(metric binhost_channel_cache_misses_total)" = "$m0" &&
	# a promotion: the very next request looks again, and follows it
	test_when_finished "set_channel repo testing amd64 s1" &&
	set_channel repo testing amd64 s2 &&
	curl -fsS -o got "$(bh_url)/testing/amd64/Packages" &&
	test_cmp repo/snapshots/amd64/s2/Packages got &&
	test "$(metric binhost_channel_cache_misses_total)" -gt "$m0"
'

test_expect_success 'cached channel: the generation file truncated under the binhost: answers go on, promotions followed' '
	test "$(http_code /testing/amd64/Packages)" = 200 &&
	: >repo/channels/.generation &&
	test "$(http_code /testing/amd64/Packages)" = 200 &&
	test "$(http_code /testing/amd64/Packages)" = 200 &&
	test_when_finished "set_channel repo testing amd64 s1" &&
	set_channel repo testing amd64 s2 &&
	curl -fsS -o got "$(bh_url)/testing/amd64/Packages" &&
	test_cmp repo/snapshots/amd64/s2/Packages got &&
	sleep 1.1 &&
	set_channel repo testing amd64 s1 &&
	curl -fsS -o got "$(bh_url)/testing/amd64/Packages" &&
	test_cmp repo/snapshots/amd64/s1/Packages got &&
	# mapped again: the short cut is back
	u0=$(metric binhost_channel_cache_unchecked_total) &&
	curl -fsS -o /dev/null "$(bh_url)/testing/amd64/Packages" "$(bh_url)/testing/amd64/Packages" \
		"$(bh_url)/testing/amd64/Packages" "$(bh_url)/testing/amd64/Packages" &&
	test "$(metric binhost_channel_cache_unchecked_total)" -gt "$u0"
'

test_expect_success 'cached channel: an index rewritten in place is seen within a second' '
	curl -fsS -D h1 -o /dev/null "$(bh_url)/testing/amd64/Packages" &&
	test "$(http_code /testing/amd64/Packages -H "If-None-Match: $(hdr ETag h1)")" = 304 &&
	cp repo/snapshots/amd64/s1/Packages saved &&
	test_when_finished "cp saved repo/snapshots/amd64/s1/Packages && touch -d @$T1 repo/snapshots/amd64/s1/Packages" &&
	echo "FOO: bar" >>repo/snapshots/amd64/s1/Packages &&
	touch -d @$((T1 + 50)) repo/snapshots/amd64/s1/Packages &&
	sleep 1.1 &&
	curl -sS -D h2 -o got -H "If-None-Match: $(hdr ETag h1)" \
		"$(bh_url)/testing/amd64/Packages" &&
	head -n 1 h2 | grep " 200 " &&
	test_cmp repo/snapshots/amd64/s1/Packages got
'

test_expect_success 'cached channel: concurrent requests across promotions' '
	curl -fsS -D h1 -o /dev/null "$(bh_url)/testing/amd64/Packages" &&
	etag=$(hdr ETag h1) &&
	seq 1 300 >reqs &&
	xargs -P 6 -I{} curl -s -o /dev/null -w "%{http_code}\n" \
		-H "If-None-Match: $etag" "$(bh_url)/testing/amd64/Packages" \
		<reqs >codes &
	xpid=$! &&
	for i in 1 2 3 4 5 6 7 8 9 10; do
		set_channel repo testing amd64 s2 &&
		set_channel repo testing amd64 s1 || return 1
	done &&
	wait $xpid &&
	test $(wc -l <codes) = 300 &&
	! grep -v -e "^200$" -e "^304$" codes &&
	set_channel repo testing amd64 s2 &&
	curl -fsS -o got "$(bh_url)/testing/amd64/Packages" &&
	test_cmp repo/snapshots/amd64/s2/Packages got
'

test_expect_success 'cached channel: more channels than the cache holds' '
	for i in $(seq 1 70); do
		if test $((i % 2)) = 0; then id=s2; else id=s1; fi &&
		set_channel repo c$i amd64 $id || return 1
	done &&
	for round in 1 2; do
		for i in $(seq 1 70); do
			if test $((i % 2)) = 0; then id=s2; else id=s1; fi &&
			curl -fsS -o got "$(bh_url)/c$i/amd64/Packages" &&
			test_cmp repo/snapshots/amd64/$id/Packages got || return 1
		done || return 1
	done &&
	set_channel repo c1 amd64 s2 &&
	curl -fsS -o got "$(bh_url)/c1/amd64/Packages" &&
	test_cmp repo/snapshots/amd64/s2/Packages got
'

test_expect_success 'more distinct 304 answers than their cache holds' '
	mkdir -p repo/snapshots/amd64/s1/many &&
	for i in $(seq 1 40); do
		echo $i >repo/snapshots/amd64/s1/many/f$i-1.tbz2 || return 1
	done &&
	for round in 1 2; do
		for i in $(seq 1 40); do
			p=/snapshots/amd64/s1/many/f$i-1.tbz2 &&
			curl -fsS -D h -o /dev/null "$(bh_url)$p" &&
			curl -sS -D h304 -o /dev/null -H "If-None-Match: $(hdr ETag h)" "$(bh_url)$p" &&
			head -n 1 h304 | grep -q " 304 " &&
			test "$(hdr ETag h304)" = "$(hdr ETag h)" &&
			test "$(hdr Last-Modified h304)" = "$(hdr Last-Modified h)" || return 1
		done || return 1
	done
'

test_expect_success 'the default: a link just replaced is read again on each request' '
	stop_binhost &&
	start_binhost --root repo &&
	set_channel repo testing amd64 s1 &&
	m0=$(metric binhost_channel_cache_misses_total) &&
	test "$(http_code /testing/amd64/Packages)" = 200 &&
	test "$(http_code /testing/amd64/Packages)" = 200 &&
	m1=$(metric binhost_channel_cache_misses_total) &&
	test $m1 -ge $((m0 + 2))
'

test_expect_success 'stop the cached-channel server' '
	stop_binhost
'

test_done
