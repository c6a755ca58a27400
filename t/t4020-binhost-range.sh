#!/bin/sh
test_description='binfarm-binhost: Range requests, 206 and 416, absurd ranges'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

command -v curl >/dev/null 2>&1 || skip_all 'curl is not installed'

F=/testing/amd64/app-misc/foo/foo-1.0-1.gpkg.tar

test_expect_success 'setup: a 100000-byte package file' '
	make_repo repo &&
	mkdir -p repo/snapshots/amd64/s1/app-misc/foo &&
	printf "VERSION: 0\nTIMESTAMP: 1700000000\n\n" >repo/snapshots/amd64/s1/Packages &&
	head -c 100000 /dev/urandom >repo/snapshots/amd64/s1/app-misc/foo/foo-1.0-1.gpkg.tar &&
	cp repo/snapshots/amd64/s1/app-misc/foo/foo-1.0-1.gpkg.tar whole &&
	set_channel repo testing amd64 s1 &&
	start_binhost --root repo
'

# range_ok RANGE OFFSET LENGTH: 206, Content-Range and the right bytes.
range_ok() {
	curl -sS -D h -o part -H "Range: $1" "$(bh_url)$F" &&
	head -n 1 h | grep " 206 " &&
	test "$(hdr Content-Range h)" = "bytes $2-$(($2 + $3 - 1))/100000" &&
	test "$(hdr Content-Length h)" = "$3" &&
	dd if=whole of=expect bs=1 skip=$2 count=$3 2>/dev/null &&
	cmp expect part
}

test_expect_success 'bytes=0-51199 (Portage get_metadata_url): 206' '
	range_ok bytes=0-51199 0 51200
'

test_expect_success 'bytes=5-9, an open end, a suffix' '
	range_ok bytes=5-9 5 5 &&
	range_ok bytes=99990- 99990 10 &&
	range_ok bytes=-100 99900 100
'

test_expect_success 'an end past the file is clipped; a suffix longer than the file is all of it' '
	range_ok bytes=99000-999999999 99000 1000 &&
	range_ok bytes=-999999 0 100000
'

test_expect_success 'wget -c style resume (Range: bytes=N-) gives the rest' '
	head -c 30000 whole >resumed &&
	curl -fsS -C 30000 -o rest "$(bh_url)$F" &&
	cat rest >>resumed &&
	cmp whole resumed
'

test_expect_success 'unsatisfiable: 416 with Content-Range: bytes */size' '
	curl -sS -D h -o /dev/null -H "Range: bytes=999999999-" "$(bh_url)$F" &&
	head -n 1 h | grep " 416 " &&
	test "$(hdr Content-Range h)" = "bytes */100000" &&
	test "$(http_code $F -H "Range: bytes=100000-")" = 416 &&
	test "$(http_code $F -H "Range: bytes=-0")" = 416
'

test_expect_success 'inverted or malformed ranges are ignored: 200 with the whole file' '
	curl -sS -D h -o body -H "Range: bytes=5-2" "$(bh_url)$F" &&
	head -n 1 h | grep " 200 " &&
	cmp whole body &&
	for r in "bytes=abc" "bytes=" "bytes=--5" "items=0-5" "bytes=1-2-3" "bytes=0x10-"; do
		test "$(http_code $F -H "Range: $r")" = 200 || return 1
	done
'

test_expect_success 'several ranges: 200 with the whole file' '
	curl -sS -D h -o body -H "Range: bytes=0-1,5-6" "$(bh_url)$F" &&
	head -n 1 h | grep " 200 " &&
	cmp whole body
'

test_expect_success 'absurd numbers: 20-digit and 5000-digit positions, no overflow' '
	test "$(http_code $F -H "Range: bytes=99999999999999999999999-")" = 416 &&
	test "$(http_code $F -H "Range: bytes=18446744073709551615-18446744073709551615")" = 416 &&
	range_ok "bytes=0-99999999999999999999999999" 0 100000 &&
	range_ok "bytes=-99999999999999999999999999" 0 100000 &&
	big=$(head -c 5000 /dev/zero | tr "\\0" 9) &&
	test "$(http_code $F -H "Range: bytes=$big-")" = 416
'

test_expect_success PYTHON 'huge header values never make a 500, and the server lives on' '
	big=$(head -c 20000 /dev/zero | tr "\\0" 9) &&
	code=$(http_code $F -H "Range: bytes=0-$big") &&
	case $code in 200|206|400|413|414|416|431) ;; *) false ;; esac &&
	huge=$(head -c 100000 /dev/zero | tr "\\0" a) &&
	code=$(http_code $F -H "X-Junk: $huge") &&
	case $code in 400|413|414|431|000) ;; *) false ;; esac &&
	raw_http "GET $F HTTP/1.1\\r\\nHost: x\\r\\nRange: bytes=0-$big$big$big$big$big\\r\\n\\r\\n" >raw &&
	head -n 1 raw >status &&
	! grep " 5[0-9][0-9] " status &&
	test "$(http_code /healthz)" = 200
'

test_expect_success 'If-Range: a matching ETag gets the range, a stale one the whole file' '
	curl -fsS -D h -o /dev/null "$(bh_url)$F" &&
	etag=$(hdr ETag h) &&
	test "$(http_code $F -H "Range: bytes=0-9" -H "If-Range: $etag")" = 206 &&
	test "$(http_code $F -H "Range: bytes=0-9" -H "If-Range: \"stale\"")" = 200
'

test_expect_success 'HEAD with a range: 206 headers only' '
	curl -sS -I -H "Range: bytes=10-19" "$(bh_url)$F" >h &&
	head -n 1 h | grep " 206 " &&
	test "$(hdr Content-Length h)" = 10
'

test_expect_success 'stop' '
	stop_binhost
'

test_done
