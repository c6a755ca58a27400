#!/bin/sh
test_description='binfarm-binhost: the file loop answers plain GET and HEAD of files on kept-alive connections as libmicrohttpd would, and hands everything else over unread'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"
. "$TEST_DIRECTORY/lib-binhost-files.sh"

# ka STEPS...: keepalive.py against the running server.
ka() {
	python3 "$TEST_DIRECTORY/helper/keepalive.py" "$(cat binhost.port)" "$@"
}

# both NAME STEPS...: the steps against the server with its file loop
# (NAME.loop), with the file loop reading each head out as on kernels
# without SO_PEEK_OFF for TCP (NAME.read), and without the file loop
# (NAME.mhd); the answers must be the same.
both() {
	_n=$1 && shift &&
	start_binhost -f loop.conf &&
	ka "$@" >"$_n.loop" &&
	stop_binhost &&
	BINFARM_BINHOST_NO_PEEK_OFF=1 start_binhost -f loop.conf &&
	ka "$@" >"$_n.read" &&
	stop_binhost &&
	BINFARM_BINHOST_NO_FILE_LOOP=1 start_binhost -f loop.conf &&
	ka "$@" >"$_n.mhd" &&
	stop_binhost &&
	test_cmp "$_n.mhd" "$_n.loop" &&
	test_cmp "$_n.mhd" "$_n.read"
}

sum() {
	sha256sum "$S/$1" | cut -d" " -f1
}

test_expect_success 'setup: a snapshot with index and package files of a few sizes' '
	files_snapshot 600000 &&
	printf "root = repo\naccess-log = %s\n" "$PWD/access.log" >loop.conf
'

test_expect_success 'one kept-alive connection: files, HEAD, indexes, pipelined requests, all by the file loop' '
	start_binhost -f loop.conf &&
	test_when_finished stop_binhost &&
	h0=$(metric binhost_file_loop_handoffs_total) &&
	ka "GET $A" "HEAD $B" "GET $C" "GET $P/Packages.gz" "GET $P/Packages" \
		"PIPE 3" "GET $A" "GET $BIG" "HEAD $C" "GET $BIG" \
		"GET /snapshots/amd64/s1/app-misc/b/b-1-1.gpkg.tar" >out &&
	cat out &&
	empty=$(printf "" | sha256sum | cut -d" " -f1) &&
	cut -d" " -f1-3 out >got &&
	cat >want <<-EOF &&
	200 30000 $(sum app-misc/a/a-1-1.gpkg.tar)
	200 200000 $empty
	200 600000 $(sum app-misc/c/c-1-1.gpkg.tar)
	200 $(wc -c <$S/Packages.gz) $(sum Packages.gz)
	200 $(wc -c <$S/Packages) $(sum Packages)
	200 30000 $(sum app-misc/a/a-1-1.gpkg.tar)
	200 3000000 $(sum app-misc/big/big-1-1.gpkg.tar)
	200 600000 $empty
	200 3000000 $(sum app-misc/big/big-1-1.gpkg.tar)
	200 200000 $(sum app-misc/b/b-1-1.gpkg.tar)
	EOF
	test_cmp want got &&
	test "$(metric binhost_file_loop_requests_total)" = 10 &&
	# one more: the connection that asks for /metrics
	test "$(metric binhost_file_loop_handoffs_total)" = $((h0 + 2)) &&
	wait_grep "\"HEAD $B HTTP/1.1\" 200 0 \"-\" \"keepalive\"" access.log &&
	test_grep "\"GET $BIG HTTP/1.1\" 200 3000000 \"-\" \"keepalive\"" access.log
'

test_expect_success 'the file loop answers with the head libmicrohttpd gives' '
	both same "GET $A" "HEAD $B" "GET $P/Packages.gz" "HEAD $P/Packages" \
		"GET $BIG" "GET /snapshots/amd64/s1/Packages" &&
	test $(wc -l <same.loop) = 6
'

test_expect_success 'conditional, range and error requests go to libmicrohttpd, unread, and the connection goes on there' '
	start_binhost -f loop.conf &&
	etag=$(curl -fsSI "$(bh_url)$A" | sed -n "s/^ETag: //Ip" | tr -d "\r") &&
	stop_binhost &&
	both handed "GET $A" \
		"RAW GET $A HTTP/1.1\r\nHost: x\r\nIf-None-Match: $etag\r\n\r\n" \
		"GET $A" \
		"RAW GET $B HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\n\r\n" \
		"GET /testing/amd64/app-misc/none/none-1-1.gpkg.tar" "GET $C" &&
	cut -d" " -f1,2 handed.loop >got &&
	printf "200 30000\n304 0\n200 30000\n206 10\n404 14\n200 600000\n" >want &&
	test_cmp want got
'

test_expect_success 'a long kept-alive connection: the heads answered are read out as they pile up, and before a hand-over' '
	set -- &&
	for i in $(seq 60); do set -- "$@" "GET $A" "HEAD $B"; done &&
	set -- "$@" "PIPE 21" &&
	for i in $(seq 20); do set -- "$@" "HEAD $C"; done &&
	set -- "$@" "GET $A" \
		"RAW GET $A HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"x\"\r\n\r\n" \
		"GET $C" &&
	both long "$@" &&
	test $(wc -l <long.loop) = 143 &&
	test $(grep -c "^200 30000 " long.loop) = 62 &&
	test $(grep -c "^200 600000 $(printf "" | sha256sum | cut -d" " -f1)" long.loop) = 20 &&
	test "$(tail -n 1 long.loop | cut -d" " -f1-3)" = "200 600000 $(sum app-misc/c/c-1-1.gpkg.tar)"
'

test_expect_success 'what the file loop does not take: a head in pieces, HTTP/1.0, framing headers, a query' '
	start_binhost -f loop.conf &&
	test_when_finished stop_binhost &&
	h0=$(metric binhost_file_loop_handoffs_total) &&
	ka SLOW "GET $A" "GET $B" >out &&
	cut -d" " -f1,2 out >got &&
	printf "200 30000\n200 200000\n" >want &&
	test_cmp want got &&
	ka "RAW GET $A HTTP/1.0\r\n\r\n" EOF >out &&
	test_grep "^200 30000 .*connection=close" out &&
	test_grep "^eof$" out &&
	ka "RAW GET $A HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n" EOF >out &&
	test_grep "^400 " out &&
	test_grep "^eof$" out &&
	ka "RAW GET $A HTTP/1.1\r\n\r\n" EOF >out &&
	test_grep "^400 " out &&
	ka "RAW GET $A HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n" EOF >out &&
	test_grep "^400 " out &&
	ka "GET $A?x=1" >out &&
	test_grep "^200 30000 " out &&
	test "$(metric binhost_file_loop_requests_total)" = 0 &&
	test "$(metric binhost_file_loop_handoffs_total)" = $((h0 + 8))
'

test_expect_success 'Connection: close is honoured' '
	start_binhost -f loop.conf &&
	test_when_finished stop_binhost &&
	ka "RAW GET $A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" EOF >out &&
	test_grep "^200 30000 .*connection=close" out &&
	test_grep "^eof$" out &&
	test "$(metric binhost_file_loop_requests_total)" = 1
'

# slowclose: a request for FILE with Connection: close, read only after
# a pause, when the server has closed with most of the body still queued.
slowclose() {
	python3 -c "
import socket, sys, time
s = socket.create_connection((\"127.0.0.1\", int(sys.argv[1])))
s.sendall(b\"GET \" + sys.argv[2].encode() + b\" HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n\")
time.sleep(1)
data = b\"\"
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    end = \"eof\"
except ConnectionResetError:
    end = \"reset\"
print(len(data.split(b\"\\r\\n\\r\\n\", 1)[1]), end)
" "$(cat binhost.port)" "$1"
}

test_expect_success 'a close after the last answer is a clean one: nothing unread, no reset' '
	start_binhost -f loop.conf &&
	test_when_finished stop_binhost &&
	slowclose "$BIG" >out &&
	echo "3000000 eof" >expect &&
	test_cmp expect out &&
	stop_binhost &&
	BINFARM_BINHOST_NO_PEEK_OFF=1 start_binhost -f loop.conf &&
	slowclose "$BIG" >out &&
	test_cmp expect out
'

test_expect_success 'the limits hold for connections the file loop holds' '
	printf "root = repo\nmax-connections-per-ip = 3\nrequest-timeout = 2\n" >lim.conf &&
	start_binhost -f lim.conf &&
	test_when_finished stop_binhost &&
	python3 -c "
import select, socket, sys, time
port = int(sys.argv[1])
req = b\"GET $A HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\"
socks = [socket.create_connection((\"127.0.0.1\", port)) for i in range(4)]
# One of the four is over the per-address limit: closed at once, before
# the request deadline (2 s) could close any.  Which one depends on the
# order the threads of the server accept them in, not on connect order.
closed, t0, until = set(), time.time(), 1.5
while time.time() - t0 < until:
    for s in select.select(socks, [], [], 0.05)[0]:
        try:
            if s.recv(1) == b\"\":
                closed.add(s)
        except ConnectionResetError:
            closed.add(s)
    if closed and until == 1.5:
        until = time.time() - t0 + 0.2
print(\"closed at once\", len(closed))
# a kept-alive connection that asked once and then idles past the deadline
s = [x for x in socks if x not in closed][0]
s.sendall(req)
time.sleep(0.5)
print(\"first\", len(s.recv(100000)) > 0)
s.settimeout(6)
t = time.time()
while s.recv(65536):
    pass
print(\"idle closed after\", round(time.time() - t))
" "$(cat binhost.port)" >out &&
	cat out &&
	test_grep "^closed at once 1$" out &&
	test_grep "^first True$" out &&
	test_grep "^idle closed after [234]$" out
'

test_done
