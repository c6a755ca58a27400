#!/bin/sh
test_description='binfarm-binhost: configuration, -t, signals, privileges, slow clients'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

command -v curl >/dev/null 2>&1 || skip_all 'curl is not installed'

test_expect_success 'setup' '
	make_repo repo &&
	mkdir -p repo/snapshots/amd64/s1 &&
	printf "VERSION: 0\nTIMESTAMP: 1700000000\n\n" >repo/snapshots/amd64/s1/Packages &&
	mkdir -p repo/snapshots/amd64/s1/app-misc &&
	head -c 4000000 /dev/urandom >repo/snapshots/amd64/s1/app-misc/big-1.gpkg.tar &&
	set_channel repo testing amd64 s1
'

test_expect_success '-t accepts a good configuration' '
	cat >good.conf <<-\EOF &&
	# binfarm-binhost.conf
	[binhost]
	root = repo
	listen = 127.0.0.1:8080
	threads = 2
	max-connections = 100
	connection-timeout = 5
	index-max-age = 30
	EOF
	binfarm-binhost -t -u root -f good.conf 2>err &&
	test_grep "configuration OK" err
'

# bad_conf TEXT WANT: -t fails and says WANT.
bad_conf() {
	printf "$1" >bad.conf &&
	test_expect_code 1 binfarm-binhost -t -f bad.conf 2>err &&
	test_grep "$2" err
}

test_expect_success '-t on broken configurations names file:line and the problem' '
	bad_conf "root = repo\nlisten = 127.0.0.1:1\nbogus = 1\n" "bad.conf:3: unknown setting .bogus." &&
	bad_conf "root = repo\nthreads = many\n" "bad.conf:2: .threads. must be a number from 0 to 1024, not .many." &&
	bad_conf "root = repo\nmax-connections = 0\n" "bad.conf:2: .max-connections. must be a number" &&
	bad_conf "root = repo\n\n[server]\nthreads = 1\n" "bad.conf:4: unknown section .\[server\]." &&
	bad_conf "root = repo\n[oops\n" "bad.conf:2: invalid section header" &&
	bad_conf "# c\nroot = nowhere\n" "bad.conf:2: root .nowhere.: No such file or directory" &&
	bad_conf "root = repo/snapshots/amd64/s1/Packages\n" "bad.conf:1: root .*is not a directory" &&
	bad_conf "root = repo\nlisten = 127.0.0.1\n" "bad.conf:2: bad listen address .127.0.0.1." &&
	bad_conf "root = repo\nlisten = 127.0.0.1:http-ish\n" "bad.conf:2: listen .127.0.0.1:http-ish." &&
	bad_conf "root = repo\ntls-cert = nope.pem\n" "TLS needs both" &&
	bad_conf "root = repo\ntls-cert = nope.pem\ntls-key = nope.pem\n" "bad.conf:3: cannot read .nope.pem." &&
	bad_conf "root = repo\nuser = no-such-user-here\n" "bad.conf:2: no such user .no-such-user-here." &&
	bad_conf "listen = :1\nroot =\n" "bad.conf:2: .root. needs a value" &&
	bad_conf "listen = :1\n" "no repository root"
'

test_expect_success 'a missing config file and bad flags are errors' '
	test_expect_code 1 binfarm-binhost -t -f nope.conf 2>err &&
	test_grep "nope.conf" err &&
	test_expect_code 1 binfarm-binhost -t --root repo --threads -1 2>err &&
	test_grep "\-\-threads: .threads. must be a number" err &&
	test_expect_code 2 binfarm-binhost --no-such-flag 2>err &&
	test_grep usage: err &&
	test_expect_code 2 binfarm-binhost -t extra 2>err
'

test_expect_success 'flags override the file' '
	printf "root = nowhere\n" >over.conf &&
	binfarm-binhost -t -u root -f over.conf --root repo 2>err &&
	test_grep "configuration OK" err
'

test_expect_success 'a port already in use is an error naming the address' '
	start_binhost --root repo &&
	test_when_finished stop_binhost &&
	port=$(cat binhost.port) &&
	test_expect_code 1 binfarm-binhost -d -u root --root repo --listen 127.0.0.1:$port 2>err &&
	test_grep "cannot listen on .127.0.0.1:$port.: Address already in use" err
'

test_expect_success 'SIGHUP reopens the access log (rotation)' '
	start_binhost --root repo --access-log "$PWD/access.log" &&
	test_when_finished stop_binhost &&
	curl -fsS -o /dev/null "$(bh_url)/testing/amd64/Packages?before" &&
	wait_grep "?before" access.log &&
	mv access.log access.log.1 &&
	curl -fsS -o /dev/null "$(bh_url)/testing/amd64/Packages?between" &&
	wait_grep "?between" access.log.1 &&
	kill -HUP "$(cat binhost.pid)" &&
	n=0 && while ! test -f access.log && test $n -lt 50; do sleep 0.1; n=$((n + 1)); done &&
	curl -fsS -o /dev/null "$(bh_url)/testing/amd64/Packages?after" &&
	wait_grep "?after" access.log &&
	test_grep "?before" access.log.1 &&
	test_grep "?between" access.log.1 &&
	test_grep "?after" access.log &&
	! grep "?after" access.log.1 &&
	test_grep "SIGHUP: logs reopened" binhost.err &&
	kill -0 "$(cat binhost.pid)"
'

test_expect_success 'SIGTERM: requests in flight finish, then exit 0' '
	rm -f port || return 1
	binfarm-binhost -d -u root --root repo --listen 127.0.0.1:0 --port-file port 2>err &
	pid=$! &&
	n=0 && while ! test -s port && test $n -lt 100; do sleep 0.05; n=$((n + 1)); done || return 1
	curl -fsS --limit-rate 2M -o slow "http://127.0.0.1:$(cat port)/testing/amd64/app-misc/big-1.gpkg.tar" &
	cpid=$! &&
	# in flight: the first bytes have arrived
	n=0 && while ! test -s slow && test $n -lt 200; do sleep 0.05; n=$((n + 1)); done &&
	test -s slow &&
	kill -TERM $pid &&
	wait $cpid &&
	cmp slow repo/snapshots/amd64/s1/app-misc/big-1.gpkg.tar &&
	wait $pid &&
	test_grep "stopping" err &&
	test_grep "stopped" err &&
	! curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$(cat port)/healthz" 2>/dev/null
'

test_expect_success PYTHON 'SIGTERM: a stuck client is cut off after shutdown-timeout' '
	printf "root = repo\nshutdown-timeout = 1\n" >st.conf &&
	# more than the largest send buffer (tcp_wmem, 4 MiB by default):
	# the response can never be all in the kernel, done for the server
	truncate -s 32M repo/snapshots/amd64/s1/app-misc/huge-1.gpkg.tar &&
	rm -f port ready || return 1
	binfarm-binhost -d -u root -f st.conf --listen 127.0.0.1:0 --port-file port 2>err &
	pid=$! &&
	n=0 && while ! test -s port && test $n -lt 100; do sleep 0.05; n=$((n + 1)); done || return 1
	# A client that asks for a big package, sees the response start, then
	# stops reading: the server is stuck sending to it.
	python3 -c "
import socket, sys, time
s = socket.create_connection((\"127.0.0.1\", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(b\"GET /testing/amd64/app-misc/huge-1.gpkg.tar HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n\")
buf = b\"\"
while b\"\\r\\n\\r\\n\" not in buf:
    buf += s.recv(1024)
open(\"ready\", \"w\").write(\"ok\")
time.sleep(30)
" "$(cat port)" &
	cpid=$! &&
	n=0 && while ! test -s ready && test $n -lt 200; do sleep 0.05; n=$((n + 1)); done &&
	test -s ready &&
	start=$(date +%s) &&
	kill -TERM $pid &&
	wait $pid &&
	test $(($(date +%s) - start)) -le 4 &&
	test_grep "closing 1 connection" err &&
	{ kill $cpid 2>/dev/null; wait $cpid; true; }
'

test_expect_success PYTHON 'slow clients do not starve fast ones; idle ones time out' '
	printf "root = repo\nthreads = 1\nconnection-timeout = 2\nmax-connections-per-ip = 0\n" >slow.conf &&
	start_binhost -f slow.conf || return 1
	test_when_finished stop_binhost
	port=$(cat binhost.port)
	python3 -c "
import socket, time, sys
socks = []
for i in range(200):
    s = socket.create_connection((\"127.0.0.1\", $port))
    s.sendall(b\"GET /testing/amd64/Packages HTTP/1.1\\r\\nHost: x\\r\\nX-Slow: \")
    socks.append(s)
time.sleep(30)
" &
	spid=$! &&
	test_when_finished "kill $spid 2>/dev/null" &&
	sleep 1 &&
	start=$(date +%s%N) &&
	for i in 1 2 3 4 5 6 7 8 9 10; do
		curl -fsS -m 2 -o /dev/null "$(bh_url)/testing/amd64/Packages" || return 1
	done &&
	ms=$((($(date +%s%N) - start) / 1000000)) &&
	echo "10 requests beside 200 slow clients: $ms ms" &&
	test $ms -lt 2000 &&
	curl -fsS -o m "$(bh_url)/metrics" &&
	conns=$(sed -n "s/^binhost_connections //p" m) &&
	test "$conns" -ge 200 &&
	sleep 4 &&
	curl -fsS -o m "$(bh_url)/metrics" &&
	conns=$(sed -n "s/^binhost_connections //p" m) &&
	test "$conns" -lt 10
'

test_expect_success 'max-connections-per-ip limits one client' '
	printf "root = repo\nmax-connections-per-ip = 2\n" >ip.conf &&
	start_binhost -f ip.conf || return 1
	test_when_finished stop_binhost
	# once the server holds no connection but the one of the helper, a
	# second one is served and held, a third is refused, the two are
	# still served, and a slot freed is given again (t/helper/per-ip.py
	# waits on binhost_connections, never on a timer)
	python3 "$TEST_DIRECTORY/helper/per-ip.py" "$(cat binhost.port)" 2 >out &&
	test_grep "^ok$" out
'

test_expect_success 'without -d: detaches, writes the pid file, logs to syslog' '
	rm -f port &&
	binfarm-binhost -u root --root repo --listen 127.0.0.1:0 --port-file "$PWD/port" --pid-file "$PWD/bh.pid" &&
	n=0 && while ! test -s port && test $n -lt 100; do sleep 0.05; n=$((n + 1)); done &&
	pid=$(cat bh.pid) &&
	echo $pid >>"$BINHOST_PIDS" &&
	curl -fsS -o /dev/null "http://127.0.0.1:$(cat port)/healthz" &&
	kill $pid &&
	n=0 && while kill -0 $pid 2>/dev/null && test $n -lt 100; do sleep 0.05; n=$((n + 1)); done &&
	! kill -0 $pid 2>/dev/null &&
	test_path_is_missing bh.pid
'

test_expect_success ROOT 'started as root with user = nobody: serves as nobody' '
	chmod -R a+rX repo &&
	rm -f binhost.err &&
	printf "root = %s\nuser = nobody\naccess-log = %s\n" "$PWD/repo" "$PWD/root-access.log" >priv.conf &&
	start_binhost -f priv.conf &&
	test_when_finished stop_binhost &&
	pid=$(cat binhost.pid) &&
	grep "^Uid:" /proc/$pid/status >uid &&
	nobody=$(id -u nobody) &&
	test_grep "^Uid:	$nobody	$nobody	$nobody	$nobody" uid &&
	grep "^Groups:" /proc/$pid/status >groups &&
	! grep "[^0-9]0[^0-9]" groups &&
	curl -fsS -o /dev/null "$(bh_url)/testing/amd64/Packages" &&
	wait_grep "GET /testing/amd64/Packages" root-access.log &&
	! grep "running as root" binhost.err
'

test_expect_success '--version and --help' '
	binfarm-binhost --version >out &&
	test_grep "^binfarm-binhost [0-9]" out &&
	binfarm-binhost --help >out &&
	test_grep "usage: binfarm-binhost" out
'

test_done
