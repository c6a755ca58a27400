#!/bin/sh
# bench-binhost.sh: binfarm-binhost against nginx, in one run, on loopback.
#
# Both serve the same snapshot directory (20,000-package Packages and a
# 50 MB package file); wrk drives each with 500 connections for
# BENCH_SECONDS (default 10) per case:
#   (a) Packages, 200;  (a') Packages, 304 (If-Modified-Since);
#   (b) the 50 MB package file.
# Prints requests/s, throughput, p99 latency and the server's CPU time
# per request (user + system of all its threads or processes, from
# /proc) of each, and the ratios binhost/nginx (higher is better for
# req/s and throughput; for p99 and CPU, nginx/binhost, so higher is
# better too).  On a machine shared with other work the CPU per request
# varies much less than requests/s.
#
# BENCH_ROUNDS=N (default 1) runs each case N times, the two servers
# taking turns, and reports the medians.  BENCH_CASES picks cases
# (default "index index304 file"); BINHOST_ARGS adds binfarm-binhost
# options (e.g. "--threads 4").
#
# BENCH_PIN=1: the servers on CPU 0, wrk on CPU 1 (see lib-serve.sh).
#
# Needs: wrk, nginx (nginx-light), curl (taskset to pin).  Usage: bench/bench-binhost.sh
# from the build directory (or with BINHOST=path/to/binfarm-binhost).
set -eu

SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-1}
CONNS=${BENCH_CONNECTIONS:-500}
THREADS=${BENCH_THREADS:-2}
CASES=${BENCH_CASES:-index index304 file}
NPKG=${BENCH_PACKAGES:-20000}
. "$(dirname "$0")/lib-serve.sh"
for c in wrk nginx curl; do
	command -v $c >/dev/null 2>&1 || { echo "bench-binhost: needs $c" >&2; exit 2; }
done
command -v nginx >/dev/null 2>&1 || PATH=$PATH:/usr/sbin

serve_workdir bench-binhost

# The repository: one snapshot, testing -> it.
serve_repo
mkdir -p "$S/app-misc/big"
awk -v n="$NPKG" -v ts=$TS 'BEGIN {
	printf "ACCEPT_KEYWORDS: amd64\nARCH: amd64\nCBUILD: x86_64-pc-linux-gnu\nCHOST: x86_64-pc-linux-gnu\nPACKAGES: %d\nTIMESTAMP: %d\nVERSION: 0\n\n", n, ts
	srand(1)
	for (i = 0; i < n; i++) {
		cat = sprintf("cat-%03d", i % 150); pn = sprintf("package-%05d", i)
		printf "BUILD_ID: 1\nBUILD_TIME: %d\nCPV: %s/%s-1.%d.%d\n", ts - i, cat, pn, i % 7, i % 13
		printf "DEFINED_PHASES: compile configure install prepare\nDEPEND: >=dev-libs/openssl-3.0:= sys-libs/zlib virtual/pkgconfig\n"
		printf "EAPI: 8\nIUSE: debug doc +ssl static-libs test\nKEYWORDS: amd64 ~arm64\nLICENSE: GPL-2+\n"
		printf "MD5: %08x%08x%08x%08x\n", rand()*4294967295, rand()*4294967295, rand()*4294967295, rand()*4294967295
		printf "PATH: %s/%s/%s-1.%d.%d-1.gpkg.tar\n", cat, pn, pn, i % 7, i % 13
		printf "RDEPEND: >=dev-libs/openssl-3.0:= sys-libs/zlib\n"
		printf "SHA1: %08x%08x%08x%08x%08x\n", rand()*4294967295, rand()*4294967295, rand()*4294967295, rand()*4294967295, rand()*4294967295
		printf "SIZE: %d\nSLOT: 0/%d\nUSE: abi_x86_64 amd64 elibc_glibc kernel_linux ssl\nMTIME: %d\nREPO: gentoo\n\n", 20480 + i * 10, i % 3, ts - i
	}
}' >"$S/Packages"
touch -d @$TS "$S/Packages"
head -c 50000000 /dev/urandom >"$S/app-misc/big/big-1.0-1.gpkg.tar"
serve_link
idx_size=$(wc -c <"$S/Packages")

serve_binhost

serve_nginx

# Sanity: both serve the same bytes.
curl -sf "$BH/testing/amd64/Packages" | cmp - "$S/Packages"
curl -sf "$NG/testing/amd64/Packages" | cmp - "$S/Packages"

lm() { curl -sI "$1" | tr -d '\r' | sed -n 's/^Last-Modified: //Ip'; }

# run NAME URL [header]: prints "req/s bytes/s p99_ms non2xx cpu_us/req
# cpu_us/MB"
# for the server whose pid is $srv_pid.
run() {
	c0=$(cpu_ticks "$srv_pid")
	if test $# -ge 3; then
		$CRUN wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency -H "$3" "$2" >"$W/wrk.out" 2>&1
	else
		$CRUN wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency "$2" >"$W/wrk.out" 2>&1
	fi
	awk '
	function bytes(s,  v, u) {
		v = s + 0; u = s; sub(/^[0-9.]+/, "", u)
		if (u == "KB") v *= 1024; else if (u == "MB") v *= 1048576; else if (u == "GB") v *= 1073741824; else if (u == "TB") v *= 1099511627776
		return v
	}
	function ms(s,  v) {
		v = s + 0
		if (s ~ /us$/) v /= 1000; else if (s ~ /ms$/) v = v; else if (s ~ /s$/) v *= 1000
		return v
	}
	/Requests\/sec:/ { rps = $2 }
	/Transfer\/sec:/ { bps = bytes($2) }
	/^ *99%/ { p99 = ms($2) }
	/Non-2xx or 3xx/ { bad = $NF }
	/Socket errors/ { err = $0 }
	/ requests in / { reqs = $1; rd = $5; sub(/,$/, "", rd); read = bytes(rd) }
	END { printf "%s %s %s %s %s %s\n", rps, bps, p99, bad + 0, reqs + 0, read + 0 }' "$W/wrk.out" >"$W/run.out"
	c1=$(cpu_ticks "$srv_pid")
	# CPU per request, and per MB read (partial transfers of requests
	# still running at the end count there, not in requests).
	awk -v c0="$c0" -v c1="$c1" -v hz="$(getconf CLK_TCK)" '{
		cpu = (c1 - c0) / hz * 1e6
		printf "%s %s %s %s %.1f %.1f\n", $1, $2, $3, $4,
		    ($5 > 0 ? cpu / $5 : 0), ($6 > 0 ? cpu / ($6 / 1048576) : 0) }' "$W/run.out"
}

printf 'binhost vs nginx %s, wrk -t%s -c%s -d%ss, %s cores (%s)\n' \
	"$(nginx -v 2>&1 | sed 's/.*nginx\///')" "$THREADS" "$CONNS" "$SECS" \
	"$(nproc)" "$(sed -n 's/^model name.*: //p' /proc/cpuinfo | head -n 1)"
pinned_line
printf 'Packages: %d packages, %d bytes; package file: 50000000 bytes\n\n' "$NPKG" "$idx_size"
printf '%-10s %-8s %10s %9s %9s %11s %10s  %s\n' case server req/s MB/s p99_ms cpu_us/req cpu_us/MB non-2xx/3xx
for c in $CASES; do
	case $c in
	index) p=/testing/amd64/Packages ;;
	index304) p=/testing/amd64/Packages ;;
	file) p=/testing/amd64/app-misc/big/big-1.0-1.gpkg.tar ;;
	esac
	: >"$W/binhost.$c"
	: >"$W/nginx.$c"
	# The servers take turns, ROUNDS times, so that both see the same
	# spells of load from whatever else runs on the machine.
	r=0
	while test $r -lt "$ROUNDS"; do
		r=$((r + 1))
		for srv in binhost nginx; do
			if test $srv = binhost; then base=$BH srv_pid=$bh_pid; else base=$NG srv_pid=$ng_pid; fi
			if test $c = index304; then
				# Each server's own Last-Modified, as a client would send.
				set -- $(run "$c" "$base$p" "If-Modified-Since: $(lm "$base$p")")
			else
				set -- $(run "$c" "$base$p")
			fi
			echo "$@" >>"$W/$srv.$c"
			test "$ROUNDS" -gt 1 &&
			printf '%-10s %-8s %10.0f %9.1f %9.2f %11s %10s  %s  (round %d)\n' "$c" $srv "$1" "$(echo "$2" | awk '{print $1/1048576}')" "$3" "$5" "$6" "$4" $r
			sleep 1
		done
	done
	for srv in binhost nginx; do
		f=$W/$srv.$c
		set -- "$(median "$f" 1)" "$(median "$f" 2)" "$(median "$f" 3)" \
			"$(awk '{ n += $4 } END { print n + 0 }' "$f")" \
			"$(median "$f" 5)" "$(median "$f" 6)"
		printf '%-10s %-8s %10.0f %9.1f %9.2f %11s %10s  %s%s\n' "$c" $srv "$1" "$(echo "$2" | awk '{print $1/1048576}')" "$3" "$5" "$6" "$4" \
			"$(test "$ROUNDS" -gt 1 && echo "  (median of $ROUNDS)")"
		# CPU per request for the 304s, per MB for the bodies.
		if test $c = index304; then cpu=$5; else cpu=$6; fi
		eval "${c}_${srv}_rps=$1 ${c}_${srv}_bps=$2 ${c}_${srv}_p99=$3 ${c}_${srv}_cpu=$cpu"
	done
done
echo
printf '%-22s %10s %10s %12s %12s\n' ratio req/s MB/s "p99 (ng/bh)" "cpu (ng/bh)"
for c in $CASES; do
	eval "a=\$${c}_binhost_rps b=\$${c}_nginx_rps x=\$${c}_binhost_bps y=\$${c}_nginx_bps p=\$${c}_binhost_p99 q=\$${c}_nginx_p99 u=\$${c}_binhost_cpu v=\$${c}_nginx_cpu"
	awk -v c=$c -v a="$a" -v b="$b" -v x="$x" -v y="$y" -v p="$p" -v q="$q" -v u="$u" -v v="$v" 'BEGIN {
		printf "%-22s %9.2fx %9.2fx %11.2fx %11.2fx\n", c " binhost/nginx", a / b, x / y, (p > 0 ? q / p : 0), (u > 0 ? v / u : 0) }'
done
