# SPDX-License-Identifier: GPL-2.0-or-later
# lib-serve.sh: what bench-binhost.sh and bench-wave.sh share, sourced
# by both: binfarm-binhost and nginx serving the same snapshot under the
# same URLs (/testing/amd64/...) on loopback, and the measuring helpers.
#
#   serve_workdir NAME   W, a work directory removed (and both servers
#                        stopped) on exit
#   serve_repo           R, a repository with one snapshot S (empty), TS
#   serve_link           testing -> S, dated TS
#   serve_binhost        binfarm-binhost ($BINHOST) on R: BH, bh_pid
#   serve_nginx          nginx on S: NG, ng_pid
#   cpu_ticks PID        user + system clock ticks of PID and its
#                        threads or child processes (nginx's workers)
#   median FILE COLUMN   the median of a column of numbers
#
# The caller sets CONNS (the client's connections) and THREADS (the
# client's threads); BINHOST_ARGS adds binfarm-binhost options.
#
# Pinning (taskset): BENCH_PIN=1 gives the servers CPU 0 and the client
# CPU 1; BENCH_SERVER_CPUS and BENCH_CLIENT_CPUS set other lists.  Each
# server then runs one worker per CPU of its list (nginx
# worker_processes, binfarm-binhost --threads) and the client one thread
# per CPU of its list.  As in production, where the clients are other
# machines, the server's CPUs then do the server's work only (and the
# loopback's receive processing, which the kernel does on the sending
# CPU); sharing the CPUs with the client makes a wave's time mostly the
# client's.  The caller runs the client as `$CRUN client ...`.

# ncpus LIST: how many CPUs a taskset list ("0", "0,1", "0-3") names.
ncpus() {
	echo "$1" | tr , '\n' | awk -F- '{ n += (NF == 2 ? $2 - $1 + 1 : 1) } END { print n }'
}

if test -n "${BENCH_PIN:-}"; then
	: "${BENCH_SERVER_CPUS:=0}" "${BENCH_CLIENT_CPUS:=1}"
fi
SCPUS=${BENCH_SERVER_CPUS:-} CCPUS=${BENCH_CLIENT_CPUS:-}
SRUN= CRUN= WORKERS=auto
if test -n "$SCPUS$CCPUS" && ! command -v taskset >/dev/null 2>&1; then
	echo "$(basename "$0"): needs taskset to pin" >&2
	exit 2
fi
if test -n "$SCPUS"; then
	SRUN="taskset -c $SCPUS" WORKERS=$(ncpus "$SCPUS")
	BINHOST_ARGS="${BINHOST_ARGS:-} --threads $WORKERS"
fi
if test -n "$CCPUS"; then
	CRUN="taskset -c $CCPUS" THREADS=$(ncpus "$CCPUS")
fi

# pinned_line: says how the servers and the client are pinned, if they are.
pinned_line() {
	test -z "$SCPUS$CCPUS" ||
	printf 'pinned: servers on CPU %s (%s workers each), client on CPU %s (%s threads)\n' \
		"${SCPUS:-any}" "$WORKERS" "${CCPUS:-any}" "$THREADS"
}

here=$(cd "$(dirname "$0")/.." && pwd)
BINHOST=${BINHOST:-$PWD/binfarm-binhost}
test -x "$BINHOST" || BINHOST=$here/binfarm-binhost

serve_workdir() {
	W=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$W"	# nginx workers run as an unprivileged user
	bh_pid= ng_pid=
	trap serve_cleanup EXIT INT TERM
}

serve_cleanup() {
	test -n "$bh_pid" && kill "$bh_pid" 2>/dev/null
	test -n "$ng_pid" && kill "$ng_pid" 2>/dev/null
	sleep 0.3
	rm -rf "$W"
}

serve_repo() {
	R=$W/repo
	S=$R/snapshots/amd64/s1
	mkdir -p "$R/channels/testing" "$R/keys" "$R/pool" "$S"
	TS=1700000000
}

serve_link() {
	ln -s ../../snapshots/amd64/s1 "$R/channels/testing/amd64"
	touch -h -d @$TS "$R/channels/testing/amd64"
	# the channel generation a promote leaves (8 bytes: 1), which
	# binfarm-binhost maps (binfarm-repository(5))
	printf '\001\000\000\000\000\000\000\000' >"$R/channels/.generation"
}

# binfarm-binhost: no access log (nginx's is off too), one thread per CPU,
# its limits on (request-timeout at its default), as nobody when started
# as root (nginx's workers are unprivileged too).  The client's
# connections all come from 127.0.0.1, as a fleet behind one NAT address
# would: the per-address limit (default 64) is raised above them, as
# such a site would raise it.
serve_binhost() {
	printf 'max-connections-per-ip = %d\n' $((CONNS + 16)) >"$W/binhost.conf"
	$SRUN "$BINHOST" -d -f "$W/binhost.conf" --root "$R" --listen 127.0.0.1:0 \
		--port-file "$W/bh.port" $(test "$(id -u)" = 0 && echo "-u nobody") \
		${BINHOST_ARGS:-} 2>"$W/bh.err" &
	bh_pid=$!
	n=0; while ! test -s "$W/bh.port"; do n=$((n+1)); test $n -lt 100 || { cat "$W/bh.err"; exit 1; }; sleep 0.05; done
	BH=http://127.0.0.1:$(cat "$W/bh.port")
}

# nginx serving the same snapshot under the same URLs, tuned as a user
# would for static files.
serve_nginx() {
	NGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
	mkdir -p "$W/nginx/logs"
	cat >"$W/nginx/nginx.conf" <<EOF2
worker_processes $WORKERS;
pid $W/nginx/nginx.pid;
error_log $W/nginx/logs/error.log;
events { worker_connections 4096; use epoll; multi_accept on; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	keepalive_requests 100000;
	open_file_cache off;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$NGPORT reuseport backlog=4096;
		location /testing/amd64/ { alias $S/; }
	}
}
EOF2
	$SRUN nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" -g 'daemon off;' 2>"$W/ng.err" &
	ng_pid=$!
	NG=http://127.0.0.1:$NGPORT
	n=0; until curl -sf -o /dev/null "$NG/testing/amd64/Packages"; do n=$((n+1)); test $n -lt 100 || { cat "$W/ng.err" "$W/nginx/logs/error.log"; exit 1; }; sleep 0.05; done
}

cpu_ticks() {
	for p in $1 $(cat /proc/$1/task/*/children 2>/dev/null); do
		cat /proc/$p/stat 2>/dev/null
	done | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

median() {
	awk -v k="$2" '{ print $k }' "$1" | sort -g | awk '{ v[NR] = $1 }
	END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
