#!/bin/sh
test_description='binfarm-binhost and binfarm-builder: ambiguous request framing is refused (request smuggling)'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

command -v curl >/dev/null 2>&1 || skip_all 'curl is not installed'
command -v python3 >/dev/null 2>&1 || skip_all 'python3 is not installed'

# frame PORT REQUEST: one line per response, then closed or open
# (t/helper/http-frame.py).  Each request below carries a second,
# smuggled request after its first framing would end: a server that
# answers it shows a second response line.
frame() {
	python3 "$TEST_DIRECTORY/helper/http-frame.py" "$@"
}

SMUGGLED='GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n'
CHUNKED_END='0\r\n\r\n'

# refused PORT REQUEST [STATUS]: answered STATUS (400) once, then closed.
refused() {
	frame "$1" "$2" >out &&
	printf "HTTP/1.1 %s\nclosed\n" "${3:-400}" >expect &&
	test_cmp expect out
}

test_expect_success 'setup: a binhost and a builder' '
	make_repo repo &&
	mkdir -p repo/snapshots/amd64/s1 &&
	printf "VERSION: 0\nTIMESTAMP: 1700000000\n\n" >repo/snapshots/amd64/s1/Packages &&
	set_channel repo testing amd64 s1 &&
	start_binhost --root repo --access-log "$PWD/access.log" &&
	farm_profile prof/p app-misc/x &&
	farm_init &&
	# plain HTTP: the raw requests below speak no TLS
	sed -i "/^tls-\(cert\|key\) = /d" state/builder.conf &&
	farm_start &&
	sed "s|.*:||; s|/.*||" state/builder.url >builder.port &&
	test -s builder.port
'

for d in binhost builder; do
	case $d in
	binhost) port='$(cat binhost.port)' path=/testing/amd64/Packages ;;
	builder) port='$(cat builder.port)' path=/healthz ;;
	esac

	test_expect_success "$d: a sound request on a kept-alive connection is answered, twice" "
		frame $port 'GET $path HTTP/1.1\r\nHost: x\r\n\r\nGET $path HTTP/1.1\r\nHost: x\r\n\r\n' >out &&
		printf 'HTTP/1.1 200\nHTTP/1.1 200\nopen\n' >expect &&
		test_cmp expect out
	"

	test_expect_success "$d: a chunked body alone is fine" "
		frame $port 'GET $path HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n$CHUNKED_END' >out &&
		printf 'HTTP/1.1 200\nopen\n' >expect &&
		test_cmp expect out
	"

	test_expect_success "$d: Transfer-Encoding and Content-Length: 400, closed" "
		refused $port 'GET $path HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 48\r\n\r\n$CHUNKED_END$SMUGGLED' &&
		refused $port 'GET $path HTTP/1.1\r\nHost: x\r\nContent-Length: 48\r\nTransfer-Encoding: chunked\r\n\r\n$CHUNKED_END$SMUGGLED' &&
		refused $port 'POST $path HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n$CHUNKED_END$SMUGGLED'
	"

	test_expect_success "$d: two different Content-Length: 400, closed; the same twice is one" "
		refused $port 'GET $path HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 43\r\n\r\n$SMUGGLED' &&
		frame $port 'GET $path HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nxx' >out &&
		printf 'HTTP/1.1 200\nopen\n' >expect &&
		test_cmp expect out
	"

	test_expect_success "$d: HTTP/1.1 without Host, or with two: 400, closed" "
		refused $port 'GET $path HTTP/1.1\r\n\r\n' &&
		refused $port 'GET $path HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' &&
		refused $port 'GET $path HTTP/1.1\r\nHost: a b\r\n\r\n' &&
		frame $port 'GET $path HTTP/1.0\r\n\r\n' >out &&
		printf 'HTTP/1.1 200\nclosed\n' >expect &&
		test_cmp expect out
	"

	test_expect_success "$d: transfer codings not ending in one chunked, and in HTTP/1.0" "
		refused $port 'GET $path HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n$SMUGGLED' &&
		refused $port 'GET $path HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n$SMUGGLED' &&
		refused $port 'GET $path HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n$CHUNKED_END$SMUGGLED' &&
		refused $port 'GET $path HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n$CHUNKED_END$SMUGGLED' 501 &&
		refused $port 'GET $path HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n$CHUNKED_END$SMUGGLED'
	"

	test_expect_success "$d: whitespace before the colon of a field name: 400, closed" "
		refused $port 'GET $path HTTP/1.1\r\nHost: x\r\nContent-Length : 43\r\n\r\n$SMUGGLED' &&
		refused $port 'GET $path HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n$CHUNKED_END$SMUGGLED'
	"
done

test_expect_success 'binhost: the refusals are in the access log with their status' '
	wait_grep "\" 501 " access.log &&
	test $(grep -c "\" 400 " access.log) -ge 10 &&
	! grep smuggled access.log
'

test_expect_success 'the builder is still up and answers' '
	frame $(cat builder.port) "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" >out &&
	test_grep "HTTP/1.1 200" out &&
	farm_stop
'

# The builder is stopped even when a test above failed.
farm_stop
test_done
