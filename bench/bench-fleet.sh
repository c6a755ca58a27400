#!/bin/sh
# bench-fleet.sh: what the per-node view costs binfarm-binhost.
#
# A simulated fleet of N nodes (BENCH_NODES, default 500) in F farms
# (BENCH_FARMS, default 16; member k of every farm is wave k), each node
# on one keep-alive connection of its own fetching Packages.gz then K
# package files (BENCH_FILES, default 20) of 20-500 KB, as the small
# wave of bench-wave.sh.  Two ways, alternating, BENCH_ROUNDS (default
# 3) rounds each, a freshly started binhost every round:
#
#   channel  every node GETs /production/web/... : no identity, no
#            records, no release;
#   node     every node GETs /node/NAME/... with its own Basic identity
#            (checked against nodes.conf's SHA-256), while a release of
#            production is running in by-member waves: the binhost
#            decides each node's snapshot from its wave, records every
#            index and file per node (fleet/nodes.state, downloads.log)
#            and opens the waves as they complete.
#
# The release's two snapshots hold the same files, so both ways send
# the same bytes.  Prints per round and medians the wave's wall time,
# the server's CPU (user + system of its threads, /proc) and errors,
# and the ratios node/channel: the per-node view's cost.
#
# bench/wave-client.c drives the waves (built here with cc; -a gives
# each connection a node's identity).  BENCH_PIN=1: the binhost on CPU
# 0, the client on CPU 1 (lib-serve.sh).  BENCH_DISCARD=1: the client
# lets the kernel drop the bodies.  BENCH_QUICK=1: 100 nodes, 5 files,
# 200 packages, 1 round.
#
# Needs: cc, curl, python3 (taskset to pin).  Usage: bench/bench-fleet.sh
# from the build directory (or with BINHOST=path/to/binfarm-binhost).
set -eu

if test -n "${BENCH_QUICK:-}"; then
	: "${BENCH_NODES:=100}" "${BENCH_FILES:=5}" "${BENCH_PACKAGES:=200}" "${BENCH_ROUNDS:=1}"
fi
CONNS=${BENCH_NODES:-500}
FARMS=${BENCH_FARMS:-16}
K=${BENCH_FILES:-20}
NPKG=${BENCH_PACKAGES:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=1
. "$(dirname "$0")/lib-serve.sh"
for c in cc curl python3; do
	command -v $c >/dev/null 2>&1 || { echo "bench-fleet: needs $c" >&2; exit 2; }
done

serve_workdir bench-fleet
test -z "${BENCH_KEEP:-}" || trap "kill \$bh_pid 2>/dev/null; echo kept \$W" EXIT
cc -O2 -o "$W/wave-client" "$(dirname "$0")/wave-client.c" ||
	{ echo "bench-fleet: cannot build wave-client.c" >&2; exit 2; }

# The repository: snapshot A (production points at it) and snapshot B,
# the same files under a newer id; the inventory; the release A -> B.
R=$W/repo
A=20260101T000000Z-0001 B=20260102T000000Z-0001 TS=1700000000
mkdir -p "$R/channels/production" "$R/keys" "$R/pool"
head -c 16777216 /dev/urandom >"$W/blob"
python3 - "$R" "$W/blob" "$NPKG" "$TS" "$A" "$B" "$CONNS" "$FARMS" "$K" <<'PY'
import hashlib, os, random, sys
root, blob, n, ts, a, b, nodes, farms, k = sys.argv[1:10]
n, ts, nodes, farms, k = int(n), int(ts), int(nodes), int(farms), int(k)
rnd = random.Random(1)
data = open(blob, "rb").read()
snap_a = os.path.join(root, "snapshots", "web", a)
snap_b = os.path.join(root, "snapshots", "web", b)
out, paths = [], []
for i in range(n):
    cat, pn = "cat-%02d" % (i % 20), "package-%04d" % i
    size = rnd.randint(20 << 10, 500 << 10)
    path = "%s/%s/%s-1.0-1.gpkg.tar" % (cat, pn, pn)
    for s in (snap_a, snap_b):
        os.makedirs(os.path.join(s, cat, pn), exist_ok=True)
    off = rnd.randint(0, len(data) - size)
    with open(os.path.join(snap_a, path), "wb") as f:
        f.write(data[off:off + size])
    os.link(os.path.join(snap_a, path), os.path.join(snap_b, path))
    paths.append(path)
    out.append("BUILD_ID: 1\nBUILD_TIME: %d\nCPV: %s/%s-1.0\nEAPI: 8\n"
        "PATH: %s\nSIZE: %d\nSLOT: 0\nMTIME: %d\n\n" % (ts - i, cat, pn,
        path, size, ts - i))
for s, t in ((snap_a, ts), (snap_b, ts + 86400)):
    with open(os.path.join(s, "Packages"), "w") as f:
        f.write("ARCH: amd64\nPACKAGES: %d\nTIMESTAMP: %d\nVERSION: 0\n\n" % (n, t))
        f.write("".join(out))
with open(os.path.join(root, "..", "files.list"), "w") as f:
    f.write("\n".join(["Packages.gz"] + paths[:k]) + "\n")
# nodes: member m of farm f is node m * farms + f; every farm numbered 1..n
conf, ids, waves = [], [], {}
for i in range(nodes):
    farm, member = i % farms + 1, i // farms + 1
    name = "n%04d" % i
    tok = "%064x" % rnd.getrandbits(256)
    ids.append("%s %s" % (name, tok))
    conf.append("[node %s]\nsite = s\nfarm = f%02d\nmember = %d\nprofile = web\n"
        "channel = production\ntoken-sha256 = %s\n" % (name, farm, member,
        hashlib.sha256(tok.encode()).hexdigest()))
    waves.setdefault(member, []).append("%s=web" % name)
open(os.path.join(root, "nodes.conf"), "w").write("\n".join(conf))
open(os.path.join(root, "..", "ids"), "w").write("\n".join(ids) + "\n")
rel = ["release 1", "channel production", "strategy by-member", "state running",
    "allow-downgrade no", "started %d bench" % ts, "target web %s %s" % (a, b)]
for m in sorted(waves):
    rel.append("wave %d %s" % (m, " ".join(waves[m])))
os.makedirs(os.path.join(root, "releases"), exist_ok=True)
open(os.path.join(root, "..", "release"), "w").write("\n".join(rel) + "\n")
PY
for s in "$A" "$B"; do
	gzip -9 -n -k "$R/snapshots/web/$s/Packages"
done
ln -s "../../snapshots/web/$A" "$R/channels/production/web"
sed 's|^|/production/web/|' "$W/files.list" >"$W/channel.paths"
cp "$W/files.list" "$W/node.paths"

# One round: a fresh binhost, the wave, its CPU.  Prints
# "way seconds server_cpu_s errors opened_waves".
round() {
	way=$1
	rm -rf "$R/fleet" "$R/releases/production" "$W/bh.port"
	test "$way" = node && cp "$W/release" "$R/releases/production"
	serve_binhost
	port=$(cat "$W/bh.port")
	t0=$(cpu_ticks "$bh_pid")
	if test "$way" = node; then
		$CRUN "$W/wave-client" ${BENCH_DISCARD:+-d} -a "$W/ids" 127.0.0.1 "$port" \
			"$CONNS" "$W/node.paths" >"$W/out"
	else
		$CRUN "$W/wave-client" ${BENCH_DISCARD:+-d} 127.0.0.1 "$port" \
			"$CONNS" "$W/channel.paths" >"$W/out"
	fi
	t1=$(cpu_ticks "$bh_pid")
	opened=$(curl -s "$BH/metrics" | sed -n 's/^binhost_release_waves_open{[^}]*} //p')
	kill "$bh_pid"; wait "$bh_pid" 2>/dev/null || :; bh_pid=
	secs=$(sed -n 's/^finished in \([0-9.]*\)s.*/\1/p' "$W/out")
	errs=$(sed -n 's/^requests: \([0-9]*\) total, [0-9]* started, [0-9]* done, \([0-9]*\) succeeded.*/\1 \2/p' "$W/out" |
		awk '{ print $1 - $2 }')
	hz=$(getconf CLK_TCK)
	echo "$way $secs $(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.3f", (b - a) / hz }') $errs ${opened:--}"
}

pinned_line
echo "fleet: $CONNS nodes in $FARMS farms, $K files of 20-500 KB each, $NPKG packages, $ROUNDS rounds"
printf '%-8s %8s %10s %7s %6s\n' way wave_s server_cpu_s errors waves
: >"$W/res"
i=0
while test $i -lt "$ROUNDS"; do
	for way in channel node; do
		round $way | tee -a "$W/res" | awk '{ printf "%-8s %8s %10s %7s %6s\n", $1, $2, $3, $4, $5 }'
	done
	i=$((i + 1))
done
grep '^channel' "$W/res" >"$W/ch"
grep '^node' "$W/res" >"$W/nd"
ct=$(median "$W/ch" 2) nt=$(median "$W/nd" 2)
cc_=$(median "$W/ch" 3) nc=$(median "$W/nd" 3)
echo "median wave: channel ${ct}s, node ${nt}s; server CPU: channel ${cc_}s, node ${nc}s"
awk -v ct="$ct" -v nt="$nt" -v cc="$cc_" -v nc="$nc" 'BEGIN {
	printf "per-node view: wave time %.3fx, server CPU %.3fx of the channel wave (cost %+.1f%% time, %+.1f%% CPU)\n",
	    nt / ct, nc / cc, (nt / ct - 1) * 100, (nc / cc - 1) * 100 }'
