#!/bin/sh
test_description='binfarm-binhost: a release wave (many connections at once, each Packages.gz then package files) gets no errors, also when the server stalls'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"
. "$TEST_DIRECTORY/lib-binhost-files.sh"

# cpu_load N: N busy processes until the test ends.
cpu_load() {
	i=0
	while test $i -lt "$1"; do
		yes >/dev/null &
		echo $! >>load.pids
		i=$((i + 1))
	done
}
stop_load() {
	test -f load.pids && kill $(cat load.pids) 2>/dev/null
	rm -f load.pids
}

test_expect_success 'setup: a snapshot with Packages.gz and package files of a few sizes' '
	files_snapshot 500000 &&
	printf "root = repo\nmax-connections-per-ip = 300\n" >wave.conf
'

test_expect_success 'a fresh server, 200 connections at once under CPU load: no errors' '
	test_when_finished stop_load &&
	cpu_load 2 &&
	start_binhost -f wave.conf &&
	test_when_finished stop_binhost &&
	python3 "$TEST_DIRECTORY/helper/wave.py" "$(cat binhost.port)" 200 \
		$P/Packages.gz $A $B $C $BIG >out &&
	cat out &&
	test_grep "^connected 200 of 200$" out &&
	test_grep "^requests 1000 ok 1000 errors 0$" out &&
	test "$(metric binhost_request_timeouts_total)" = 0
'

# The server stops (a stall: a cold page cache under other heavy work, a
# paused VM) while 200 kept-alive clients send their next request; the
# request deadline is the client's, not the server's: those requests
# are answered when it runs again.  The deadline (4 s) is what this
# script may take, on a loaded machine, between the clients' first
# answers and the stop: a connection idle that long before the stall
# would rightly be closed.
test_expect_success 'a server stalled past the request deadline answers the requests sent meanwhile' '
	printf "request-timeout = 4\n" >>wave.conf &&
	start_binhost -f wave.conf &&
	test_when_finished "kill -CONT \$(cat binhost.pid) 2>/dev/null; stop_binhost" &&
	rm -f ready go &&
	{ python3 "$TEST_DIRECTORY/helper/wave.py" --ready ready --go go \
		"$(cat binhost.port)" 200 $P/Packages.gz $B $A >out &
	} &&
	wpid=$! &&
	n=0 &&
	while ! test -f ready && test $n -lt 600; do sleep 0.05; n=$((n + 1)); done &&
	kill -STOP "$(cat binhost.pid)" &&
	touch go &&
	sleep 5.5 &&
	kill -CONT "$(cat binhost.pid)" &&
	wait $wpid &&
	cat out &&
	test_grep "^connected 200 of 200$" out &&
	test_grep "^requests 600 ok 600 errors 0$" out &&
	test "$(metric binhost_request_timeouts_total)" = 0
'

test_expect_success 'an idle client is still closed at the deadline' '
	printf "root = repo\nrequest-timeout = 2\n" >idle.conf &&
	start_binhost -f idle.conf &&
	test_when_finished stop_binhost &&
	python3 -c "
import socket, sys, time
s = socket.create_connection((\"127.0.0.1\", int(sys.argv[1])))
s.settimeout(10)
t0 = time.monotonic()
d = s.recv(1)
print(\"closed %.1f\" % (time.monotonic() - t0))
" "$(cat binhost.port)" >idle &&
	cat idle &&
	awk "{ exit !(\$2 >= 1.9 && \$2 <= 4.5) }" idle &&
	test "$(metric binhost_request_timeouts_total)" = 1
'

test_done
