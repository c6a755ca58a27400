#!/bin/sh
test_description='binfarm-binhost: slow clients (request deadline, per-address limit) do not lock others out'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

command -v curl >/dev/null 2>&1 || skip_all 'curl is not installed'
command -v python3 >/dev/null 2>&1 || skip_all 'python3 is not installed'
# The normal client of t/helper/slowloris.py comes from 127.0.0.2
# (loopback, as 127.0.0.1; a different address for the per-address limit).
python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null ||
	skip_all 'cannot bind 127.0.0.2'

# metric NAME: its value from /metrics.
metric() {
	curl -fsS "$(bh_url)/metrics" | sed -n "s/^$1 //p"
}

test_expect_success 'setup' '
	make_repo repo &&
	mkdir -p repo/snapshots/amd64/s1 &&
	printf "VERSION: 0\nTIMESTAMP: 1700000000\n\n" >repo/snapshots/amd64/s1/Packages &&
	mkdir -p repo/snapshots/amd64/s1/app-misc/big &&
	head -c 4000000 /dev/urandom >repo/snapshots/amd64/s1/app-misc/big/big-1-1.gpkg.tar &&
	set_channel repo testing amd64 s1
'

test_expect_success 'the defaults: 64 connections per address, a whole request within 10 s' '
	start_binhost --root repo &&
	test_when_finished stop_binhost &&
	test_grep "limits: 4096 connections, 64 per address, a whole request within 10 s, idle 30 s" binhost.err &&
	test "$(metric binhost_request_timeouts_total)" = 0
'

test_expect_success 'one address trickling 300 heads: 64 held, each closed at the deadline; another client is served at once' '
	printf "root = repo\nrequest-timeout = 2\n" >rt.conf &&
	start_binhost -f rt.conf &&
	test_when_finished stop_binhost &&
	python3 "$TEST_DIRECTORY/helper/slowloris.py" "$(cat binhost.port)" 300 6 >out &&
	cat out &&
	test_grep "^accepted 64 refused 236$" out &&
	test_grep "^answered 0$" out &&
	# every held one closed 2 to 3 s after it came (the reaper looks
	# once a second), with some room for a loaded machine
	read x k x min x max <<-EOF &&
	$(grep "^reaped" out)
	EOF
	test "$k" = 64 &&
	awk -v a="$min" -v b="$max" "BEGIN { exit !(a >= 1.9 && b <= 4.5) }" &&
	# the normal client: every request answered, none slower than 500 ms
	read x n x ok x ms <<-EOF &&
	$(grep "^fast" out)
	EOF
	test "$n" -ge 10 && test "$ok" = "$n" && test "$ms" -lt 500 &&
	test "$(metric binhost_request_timeouts_total)" = 64 &&
	test "$(metric binhost_connections)" -le 2
'

test_expect_success 'a kept-alive connection has the deadline again from the end of its response' '
	printf "root = repo\nrequest-timeout = 2\n" >rt.conf &&
	start_binhost -f rt.conf &&
	test_when_finished stop_binhost &&
	python3 - "$(cat binhost.port)" >out <<-\EOF &&
	import socket, sys, time
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
	def get():
	    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	    buf = b""
	    while not buf.endswith(b"ok\n"):
	        buf += s.recv(4096)
	    return buf.split(b" ")[1].decode()
	# three requests 1.5 s apart: each within 2 s of the previous answer
	print(get()); time.sleep(1.5); print(get()); time.sleep(1.5); print(get())
	t0 = time.monotonic()
	for b in b"GET /healthz HTTP/1.1\r\n":	# then a head trickled
	    try:
	        s.send(bytes([b]))
	    except OSError:
	        break
	    time.sleep(0.25)
	    s.settimeout(0.01)
	    try:
	        if s.recv(1) == b"":
	            break
	    except socket.timeout:
	        pass
	    except OSError:
	        break
	print("closed after %.1f s" % (time.monotonic() - t0))
	EOF
	cat out &&
	test "$(grep -c "^200$" out)" = 3 &&
	test_grep "^closed after [234]\.[0-9] s$" out
'

test_expect_success 'a slow download is not cut by the request deadline' '
	printf "root = repo\nrequest-timeout = 1\n" >rt1.conf &&
	start_binhost -f rt1.conf &&
	test_when_finished stop_binhost &&
	# about 4 s at 1 MB/s, four times the deadline
	curl -fsS --limit-rate 1M -o got "$(bh_url)/testing/amd64/app-misc/big/big-1-1.gpkg.tar" &&
	cmp got repo/snapshots/amd64/s1/app-misc/big/big-1-1.gpkg.tar &&
	test "$(metric binhost_request_timeouts_total)" = 0
'

test_expect_success 'max-connections-per-ip = 0 turns the limit off (a fleet behind one NAT)' '
	printf "root = repo\nmax-connections-per-ip = 0\nrequest-timeout = 2\n" >nat.conf &&
	start_binhost -f nat.conf &&
	test_when_finished stop_binhost &&
	test_grep "no limit (0) 0 per address" binhost.err &&
	python3 "$TEST_DIRECTORY/helper/slowloris.py" "$(cat binhost.port)" 100 3 >out &&
	test_grep "^accepted 100 refused 0$" out &&
	test_grep "^reaped 100 " out
'

test_expect_success 'request-timeout must be a number from 1 to 3600' '
	printf "root = repo\nrequest-timeout = 0\n" >bad.conf &&
	test_expect_code 1 binfarm-binhost -t -f bad.conf 2>err &&
	test_grep "bad.conf:2: .request-timeout. must be a number from 1 to 3600, not .0." err
'

test_done
