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
	head -c 3000000 /dev/urandom >repo/snapshots/amd64/s2/big/file.bin &&
	curl -fsS --limit-rate 1M -o slow "$(bh_url)/testing/amd64/big/file.bin" &
	cpid=$! &&
	wait_size slow &&
	mv repo/snapshots/amd64/s2/big/file.bin old.bin &&
	set_channel repo testing amd64 s1 &&
	wait $cpid &&
	cmp slow old.bin &&
	test "$(http_code /testing/amd64/big/file.bin)" = 404
'

test_expect_success 'stop' '
	stop_binhost
'

test_done
