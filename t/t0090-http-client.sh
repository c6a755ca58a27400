#!/bin/sh
test_description='the HTTP client (lib/http.c): kept-alive connections'
. "$(dirname "$0")/test-lib.sh"

if ! test_have_prereq PYTHON 2>/dev/null && ! command -v python3 >/dev/null 2>&1; then
	skip_all 'python3 is not installed'
fi

# peer MODE: starts t/helper/http-peer.py; PEER is its URL.
peer() {
	rm -f port port.conns
	python3 "$TEST_DIRECTORY/helper/http-peer.py" "$1" port >peer.log 2>&1 &
	echo $! >peer.pid
	i=0
	while ! test -s port; do
		i=$((i + 1)); test $i -lt 100 || return 1; sleep 0.05
	done
	PEER=http://127.0.0.1:$(cat port)
}

peer_stop() {
	kill "$(cat peer.pid)" 2>/dev/null
	wait "$(cat peer.pid)" 2>/dev/null
	return 0
}

test_expect_success 'requests in a row share one connection' '
	peer keep &&
	test_when_finished peer_stop &&
	bf-test-tool http "$PEER" 3 /a post:/b >out &&
	printf "200 /a \n200 /b /b\n" >one &&
	cat one one one >expect &&
	test_cmp expect out &&
	echo 1 >expect &&
	test_cmp expect port.conns
'

test_expect_success 'a connection the server closed while idle: the request goes again on a new one' '
	peer drop &&
	test_when_finished peer_stop &&
	bf-test-tool http "$PEER" 3 /a post:/b >out &&
	printf "200 /a \n200 /b /b\n" >one &&
	cat one one one >expect &&
	test_cmp expect out &&
	echo 6 >expect &&
	test_cmp expect port.conns
'

test_expect_success '"Connection: close" is obeyed' '
	peer close &&
	test_when_finished peer_stop &&
	bf-test-tool http "$PEER" 2 /a >out &&
	printf "200 /a \n200 /a \n" >expect &&
	test_cmp expect out &&
	echo 2 >expect &&
	test_cmp expect port.conns
'

test_expect_success 'a server that is gone is an error, after one new try' '
	peer keep &&
	bf-test-tool http "$PEER" 1 /a >out &&
	peer_stop &&
	test_must_fail bf-test-tool http "$PEER" 1 /a 2>err &&
	test_grep "cannot connect to 127.0.0.1" err
'

test_done
