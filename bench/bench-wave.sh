#!/bin/sh
# bench-wave.sh: a release wave, binfarm-binhost against nginx, in one run.
#
# What a fleet does on release day: N nodes (BENCH_CONNECTIONS, default
# 500) each fetch Packages.gz, then K package files (BENCH_FILES,
# default 20), over one keep-alive HTTP/1.1 connection each.  h2load
# (nghttp2-client) drives it with a URL list (-i): every connection
# walks the list in order, -n = N x (K + 1) so each does exactly one
# pass.  Both servers serve the same snapshot under the same URLs.
#
# Two mixes (BENCH_MIXES, default "mixed small"):
#   mixed  the K files are the package sizes of a real repository: most
#          20-500 KB, a few (K/10, at least 1) 5-50 MB;
#   small  K files of 20-500 KB only.
# The repository: BENCH_PACKAGES (default 1000) package files of that
# size mix (about 1 in 100 of 5-50 MB), Packages and Packages.gz
# listing them.  BENCH_ROUNDS (default 3) rounds per mix, the servers
# taking turns; prints per round and medians of the wave's wall time,
# requests/s, errors (anything not a 2xx: failed + errored + timeout,
# and requests never started) and the server's CPU (user + system of
# all its threads or worker processes, from /proc/PID/stat), and the
# ratios (nginx time / binhost time: higher is better for binhost), both
# of the medians and as the median of each round's own ratio ("paired":
# steadier where the machine's speed drifts between rounds).
#
# BENCH_QUICK=1: a small check (100 connections, 5 files, 200 packages,
# 1 round).  BINHOST_ARGS adds binfarm-binhost options;
# BINFARM_BINHOST_NO_FILE_LOOP=1 in the environment runs it without its
# file loop (everything through libmicrohttpd), for before/after runs.
#
# binfarm-binhost runs with its trust limits on and at their defaults
# (request-timeout, connection-timeout), except the per-address limit:
# every h2load connection comes from 127.0.0.1, as a fleet behind one
# NAT address would, so it is raised above N as such a site would.
#
# BENCH_PIN=1: the servers on CPU 0, h2load on CPU 1 (see lib-serve.sh).
#
# BENCH_CLIENT=bf drives the wave with bench/wave-client.c (built here
# with cc) instead of h2load: the same connections and URL lists, one
# thread, reading BENCH_READ_SIZE bytes per recv() (default 262144)
# where h2load reads 8 KiB; on two CPUs h2load's reads, not the server,
# set the wave's time.  BENCH_DISCARD=1 (with BENCH_CLIENT=bf): the
# client lets the kernel drop the bodies (recv MSG_TRUNC), so that what
# is measured is the server's capacity, not the client's copies.
#
# Needs: h2load, nginx, curl, python3 (taskset to pin).  Usage: bench/bench-wave.sh from
# the build directory (or with BINHOST=path/to/binfarm-binhost).
set -eu

if test -n "${BENCH_QUICK:-}"; then
	: "${BENCH_CONNECTIONS:=100}" "${BENCH_FILES:=5}" "${BENCH_PACKAGES:=200}" "${BENCH_ROUNDS:=1}"
fi
CONNS=${BENCH_CONNECTIONS:-500}
K=${BENCH_FILES:-20}
NPKG=${BENCH_PACKAGES:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
MIXES=${BENCH_MIXES:-mixed small}
THREADS=${BENCH_THREADS:-2}
CLIENT=${BENCH_CLIENT:-h2load}
READ_SIZE=${BENCH_READ_SIZE:-262144}
. "$(dirname "$0")/lib-serve.sh"
command -v nginx >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
for c in h2load nginx curl python3; do
	command -v $c >/dev/null 2>&1 || { echo "bench-wave: needs $c" >&2; exit 2; }
done

serve_workdir bench-wave
case $CLIENT in
h2load) ;;
bf)	# bench/wave-client.c: h2load's wave with large reads, one thread.
	cc -O2 -o "$W/wave-client" "$(dirname "$0")/wave-client.c" ||
		{ echo "bench-wave: cannot build wave-client.c" >&2; exit 2; }
	THREADS=1 ;;
*)	echo "bench-wave: BENCH_CLIENT is h2load or bf" >&2; exit 2 ;;
esac

# The repository: one snapshot, testing -> it.  Sizes from a fixed seed;
# the bytes are cut from one random blob (page cache, as a hot binhost).
serve_repo
head -c 52428800 /dev/urandom >"$W/blob"
python3 - "$S" "$W/blob" "$NPKG" "$TS" <<'PY'
import os, random, sys
snap, blob, n, ts = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(1)
data = open(blob, "rb").read()
small, big, out = [], [], []
for i in range(n):
    cat, pn = "cat-%02d" % (i % 20), "package-%04d" % i
    if i % 100 == 50:
        size = rnd.randint(5 << 20, 50 << 20)
    else:
        size = rnd.randint(20 << 10, 500 << 10)
    path = "%s/%s/%s-1.0-1.gpkg.tar" % (cat, pn, pn)
    os.makedirs(os.path.join(snap, cat, pn), exist_ok=True)
    with open(os.path.join(snap, path), "wb") as f:
        off = rnd.randint(0, len(data) - size)
        f.write(data[off:off + size])
    (big if size >= 5 << 20 else small).append(path)
    out.append("BUILD_ID: 1\nBUILD_TIME: %d\nCPV: %s/%s-1.0\nEAPI: 8\n"
        "KEYWORDS: amd64\nLICENSE: GPL-2+\nPATH: %s\nSIZE: %d\nSLOT: 0\n"
        "USE: amd64 ssl\nMTIME: %d\nREPO: gentoo\n\n" % (ts - i, cat, pn, path, size, ts - i))
with open(os.path.join(snap, "Packages"), "w") as f:
    f.write("ARCH: amd64\nPACKAGES: %d\nTIMESTAMP: %d\nVERSION: 0\n\n" % (n, ts))
    f.write("".join(out))
with open(os.path.join(snap, "..", "small.list"), "w") as f:
    f.write("\n".join(small) + "\n")
with open(os.path.join(snap, "..", "big.list"), "w") as f:
    f.write("\n".join(big) + "\n")
PY
gzip -9 -n -k "$S/Packages"
touch -d @$TS "$S/Packages" "$S/Packages.gz"
serve_link

# The URL lists (paths; the server's base is prepended per run).
nbig=$((K / 10)); test $nbig -ge 1 || nbig=1
{
	echo Packages.gz
	head -n $((K - nbig)) "$R/snapshots/amd64/small.list"
	head -n $nbig "$R/snapshots/amd64/big.list"
} >"$W/mixed.paths"
{
	echo Packages.gz
	tail -n "$K" "$R/snapshots/amd64/small.list"
} >"$W/small.paths"

# binfarm-binhost and nginx: as bench-binhost.sh runs them.
serve_binhost

serve_nginx

# Sanity: both serve the same bytes.
for p in Packages.gz $(sed -n 2p "$W/mixed.paths"); do
	curl -sf "$BH/testing/amd64/$p" | cmp - "$S/$p"
	curl -sf "$NG/testing/amd64/$p" | cmp - "$S/$p"
done

# wave MIX: prints "seconds req/s errors cpu_s client_s" for the server
# $srv_pid; client_s is h2load's own CPU (user + system), which says
# whether the wave's time is the client's: near wave_s x its threads,
# h2load (8 KiB per read) is what limits the wave, not the server.
wave() {
	sed "s|^|$base/testing/amd64/|" "$W/$1.paths" >"$W/urls"
	total=$((CONNS * ($(wc -l <"$W/urls"))))
	if test "$CLIENT" = bf; then
		sed "s|^|/testing/amd64/|" "$W/$1.paths" >"$W/urls"
		set -- "$W/wave-client" ${BENCH_DISCARD:+-d} -r "$READ_SIZE" \
			127.0.0.1 "${base##*:}" \
			"$CONNS" "$W/urls"
	else
		set -- h2load --h1 -t"$THREADS" -c"$CONNS" -m1 -n"$total" \
			-i "$W/urls"
	fi
	c0=$(cpu_ticks "$srv_pid")
	$CRUN python3 -c 'import resource, subprocess, sys
with open(sys.argv[1], "w") as out:
    subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "a") as out:
    out.write("client-cpu %.2f\n" % (r.ru_utime + r.ru_stime))' \
		"$W/h2load.out" "$@" || true
	c1=$(cpu_ticks "$srv_pid")
	awk -v total="$total" -v c0="$c0" -v c1="$c1" -v hz="$(getconf CLK_TCK)" '
	/^finished in/ { t = $3; sub(/,$/, "", t)
		if (t ~ /ms$/) { sub(/ms$/, "", t); t /= 1000 } else if (t ~ /us$/) { sub(/us$/, "", t); t /= 1e6 } else sub(/s$/, "", t)
		rps = $4 }
	/^requests:/ { ok = $8; fail = total - ok }
	/^client-cpu / { cl = $2 }
	END { printf "%.3f %.0f %d %.2f %.2f\n", t, rps, fail, (c1 - c0) / hz, cl }' "$W/h2load.out"
}

printf 'release wave, binhost vs nginx %s: %s -c%s, Packages.gz + %s files each, %s cores (%s)\n' \
	"$(nginx -v 2>&1 | sed 's/.*nginx\///')" \
	"$(test "$CLIENT" = bf && echo "wave-client ${BENCH_DISCARD:+-d }-r $READ_SIZE" || echo "h2load --h1")" \
	"$CONNS" "$K" "$(nproc)" \
	"$(sed -n 's/^model name.*: //p' /proc/cpuinfo | head -n 1)"
pinned_line
printf 'repository: %s packages, %s MB; Packages.gz %s bytes\n' "$NPKG" \
	"$(du -sm "$S" | cut -f1)" "$(wc -c <"$S/Packages.gz")"
for m in $MIXES; do
	printf '%s wave: %s MB per connection\n' "$m" "$(sed 1d "$W/$m.paths" | (cd "$S" && xargs cat) | wc -c | awk '{ printf "%.1f", ($1 + 0) / 1048576 }')"
done
printf '\n%-7s %-8s %9s %9s %7s %8s %9s\n' mix server wave_s req/s errors cpu_s client_s
for m in $MIXES; do
	: >"$W/binhost.$m"; : >"$W/nginx.$m"
	r=0
	while test $r -lt "$ROUNDS"; do
		r=$((r + 1))
		for srv in binhost nginx; do
			if test $srv = binhost; then base=$BH srv_pid=$bh_pid; else base=$NG srv_pid=$ng_pid; fi
			set -- $(wave "$m")
			echo "$@" >>"$W/$srv.$m"
			printf '%-7s %-8s %9.3f %9s %7s %8s %9s  (round %d)\n' "$m" $srv "$1" "$2" "$3" "$4" "$5" $r
			if test "$3" != 0 && test -n "${BENCH_SHOW_ERRORS:-}"; then cat "$W/h2load.out"; fi
			sleep 1
		done
	done
	for srv in binhost nginx; do
		f=$W/$srv.$m
		set -- "$(median "$f" 1)" "$(median "$f" 2)" \
			"$(awk '{ n += $3 } END { print n + 0 }' "$f")" "$(median "$f" 4)" \
			"$(median "$f" 5)"
		printf '%-7s %-8s %9.3f %9s %7s %8s %9s  (median of %d; errors: sum)\n' "$m" $srv "$1" "$2" "$3" "$4" "$5" "$ROUNDS"
		eval "${m}_${srv}_t=$1 ${m}_${srv}_cpu=$4"
	done
done
# The ratios of the medians, and the medians of the rounds' own ratios
# (each round's nginx wave over the binhost wave just before it): on a
# virtual machine whose speed drifts over seconds, a round's two waves
# ran at nearly the same speed, the medians of all rounds less so.
echo
printf '%-24s %14s %14s %14s %14s\n' ratio "time (ng/bh)" "cpu (ng/bh)" \
	"time, paired" "cpu, paired"
for m in $MIXES; do
	eval "a=\$${m}_binhost_t b=\$${m}_nginx_t u=\$${m}_binhost_cpu v=\$${m}_nginx_cpu"
	paste "$W/binhost.$m" "$W/nginx.$m" |
		awk '{ print ($1 > 0 ? $6 / $1 : 0), ($4 > 0 ? $9 / $4 : 0) }' >"$W/paired.$m"
	awk -v m=$m -v a="$a" -v b="$b" -v u="$u" -v v="$v" \
	    -v pt="$(median "$W/paired.$m" 1)" -v pc="$(median "$W/paired.$m" 2)" 'BEGIN {
		printf "%-24s %13.2fx %13.2fx %13.2fx %13.2fx\n", m " binhost/nginx",
		    (a > 0 ? b / a : 0), (u > 0 ? v / u : 0), pt, pc }'
done
