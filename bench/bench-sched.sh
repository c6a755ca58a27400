#!/bin/sh
# bench-sched.sh [SIZES...]: binfarm-builder's scheduling and ingest cost.
#
# For each size N (default 1000 2500 5000): a synthetic ebuild repository
# of N packages (md5-cache only; each depends on up to 3 older ones), a
# profile whose world is all of them, one builder, 20 local workers with
# the noop driver (each job still packs a real gpkg that the builder
# verifies and stages).  Reports the builder's CPU time per job (user +
# system, from /proc, planning included and shown apart), its peak RSS
# and its resident memory once the queue is loaded, the database size
# when every job is done, and the wall time.  cpu_ms/job is everything
# from the rebuild call to the testing snapshot; sched_ms/job is from the
# first lease to the last job done (leases, heartbeats, ingest); pub_s
# is the builder's CPU for the snapshot (gpg's own time is not in it).
# With BF_PERF=FILE, records a perf profile of the builder (perf record
# -g) from the first lease to the end of the snapshot, into FILE.N.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
: "${BF_BUILD_DIR:=$here}"
PATH=$BF_BUILD_DIR:$PATH
sizes=${*:-1000 2500 5000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-sched.XXXXXX")
trap 'kill $wpid $bpid 2>/dev/null || :; rm -rf "$tmp"' EXIT
tck=$(getconf CLK_TCK)

cpu() { awk -v t="$tck" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat"; }

printf '%-6s %-8s %-7s %-11s %-13s %-7s %-10s %-10s %-7s %s\n' jobs wall_s \
	plan_s cpu_ms/job sched_ms/job pub_s ingest_ms queue_MB db_MB rss_MB
for n in $sizes; do
	d=$tmp/$n
	mkdir -p "$d/tree/profiles" "$d/tree/metadata/md5-cache/bench" "$d/prof"
	echo bench >"$d/tree/profiles/repo_name"
	awk -v n="$n" -v d="$d/tree/metadata/md5-cache/bench" 'BEGIN {
		srand(42)
		for (i = 1; i <= n; i++) {
			f = d "/pkg" i "-1.0"
			dep = ""
			for (k = 0; k < 3 && i > 1; k++) {
				j = int(rand() * (i - 1)) + 1
				dep = dep " bench/pkg" j
			}
			printf "DEPEND=%s\nRDEPEND=%s\nEAPI=8\nKEYWORDS=amd64\nSLOT=0\n_md5_=%032x\n", \
				dep, dep, i > f
			close(f)
		}
	}'
	git -C "$d/tree" init -q -b main
	git -C "$d/tree" add -A
	git -C "$d/tree" -c user.name=b -c user.email=b@x commit -q -m t
	printf 'CHOST="x86_64-pc-linux-gnu"\nCFLAGS="-O2"\nACCEPT_KEYWORDS="amd64"\nACCEPT_LICENSE="*"\n' >"$d/prof/make.conf"
	printf '[profile]\nworker-tags = bench\n[repo bench]\nuri = %s\nref = main\n' "$d/tree" >"$d/prof/profile.conf"
	i=1; while [ $i -le "$n" ]; do echo "bench/pkg$i"; i=$((i + 1)); done >"$d/prof/world"
	# the signing key's home: this run's own, not /var/lib/binfarm/gnupg
	BINFARM_GNUPG_HOME=$d/gnupg
	export BINFARM_GNUPG_HOME
	binfarm-builder --init "$d/state" -l 127.0.0.1:0 -P "$d/prof" >/dev/null
	printf '[builder]\nlease-timeout = 120\nbackoff = 0\nmax-attempts = 1\n' >>"$d/state/builder.conf"
	binfarm-builder -d -s "$d/state" 2>"$d/builder.log" &
	bpid=$!
	while [ ! -s "$d/state/builder.url" ]; do sleep 0.05; done
	c0=$(cpu $bpid)
	t0=$(date +%s.%N)
	binfarm rebuild -s "$d/state" --profile prof >/dev/null
	t1=$(date +%s.%N)
	c1=$(cpu $bpid)
	q=$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$bpid/status")
	c3=
	if [ -n "${BF_PERF:-}" ]; then
		perf record -q -g -p $bpid -o "$BF_PERF.$n" 2>/dev/null &
		ppid=$!
	fi
	# [worker prof-1] is the worker --init wrote, with its token (-s).
	binfarm-worker -s "$d/state" --name prof-1 --driver noop -j 20 \
		--workdir "$d/work" --idle-exit 2 2>"$d/workers.log" &
	wpid=$!
	while ! grep -q "rebuild 1 complete\|rebuild 1 finished" "$d/builder.log"; do
		# The workers may idle out while the snapshot is cut.
		if [ -z "$c3" ] && grep -q "every job done" "$d/builder.log"; then
			c3=$(cpu $bpid)
			db=$(du -cm "$d/state"/builder.db* | awk 'END { print $1 }')
		fi
		kill -0 $wpid 2>/dev/null || [ -n "$c3" ] ||
		    { tail "$d/builder.log" >&2; exit 1; }
		sleep 0.2
	done
	[ -n "$c3" ] || c3=$(cpu $bpid)
	t2=$(date +%s.%N)
	c2=$(cpu $bpid)
	if [ -n "${BF_PERF:-}" ]; then
		kill -INT $ppid; wait $ppid || :
	fi
	rss=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$bpid/status")
	ing=$(binfarm status -s "$d/state" --json | python3 -c 'import json,sys; s=json.load(sys.stdin); print("%.3f" % (s["ingest_ms"] / max(s["ingested"], 1)))')
	done_n=$(grep -c ") done:" "$d/builder.log")
	kill $wpid 2>/dev/null || :; wait $wpid 2>/dev/null || :
	kill $bpid; wait $bpid 2>/dev/null || :
	gpgconf --homedir "$d/gnupg" --kill gpg-agent 2>/dev/null || :
	awk -v n="$done_n" -v w="$(echo "$t2 - $t0" | bc)" -v p="$(echo "$t1 - $t0" | bc)" \
	    -v c="$(echo "$c2 - $c0" | bc)" -v s="$(echo "$c3 - $c1" | bc)" \
	    -v u="$(echo "$c2 - $c3" | bc)" -v i="$ing" -v q="$q" -v db="${db:-?}" \
	    -v r="$rss" 'BEGIN {
		printf "%-6d %-8.2f %-7.2f %-11.3f %-13.3f %-7.2f %-10s %-10s %-7s %s\n", \
			n, w, p, c * 1000 / n, s * 1000 / n, u, i, q, db, r }'
	rm -rf "$d"
done
