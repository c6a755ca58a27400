#!/bin/sh
# bench-root.sh PORTAGE_TARBALL: the ebuild driver's cost per job beyond
# Portage's own build, on the sample world (11 packages, hw-profile
# web-x86-64-v3), one worker, real Portage as a layer over / (as root).
#
# Per job, from the job's log (binfarm-worker writes the times):
#   root_s    the build root's own cost: fork, namespaces, overlay and
#             mounts, chroot, and after the driver the teardown and the
#             removal of the upper directory (the time from fork to the
#             driver's exit, minus the driver's own run, plus removal)
#   setup_s   the rest of the driver before and after the build itself:
#             /etc/portage, emaint binhost --fix, emerge --pretend,
#             installing the dependencies, unpacking the gpkg
#   ebuild_s  `ebuild FILE clean package`, what a plain build costs
# and the world's wall time, from `binfarm rebuild` to the testing
# snapshot.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
: "${BF_BUILD_DIR:=$here}"
PATH=$BF_BUILD_DIR:$PATH
tarball=${1:-$(ls "$here"/../shared/portage/portage-*.tar.xz 2>/dev/null | head -1)}
[ -f "$tarball" ] || { echo "usage: bench-root.sh PORTAGE_TARBALL" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench-root.sh: needs root" >&2; exit 2; }
prof=web-x86-64-v3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-root.XXXXXX")
bpid= wpid=
trap 'kill $wpid $bpid 2>/dev/null || :; wait 2>/dev/null || :; rm -rf "$tmp"' EXIT
cd "$tmp"

"$here/scripts/portage-layer.sh" "$tarball" layer >/dev/null
"$here/scripts/sample-tree.sh" trees >/dev/null
binfarm-builder --init state -l 127.0.0.1:0 -P "$here/profiles/$prof" \
	-r gentoo="$PWD/trees/gentoo@main" -r company="$PWD/trees/company@main" >/dev/null
printf '[builder]\nmax-attempts = 1\nbackoff = 0\n' >>state/builder.conf
binfarm-builder -d -s state >builder.log 2>&1 &
bpid=$!
while ! test -s state/builder.url; do sleep 0.1; done
BINFARM_BUILDER_STATE=$PWD/state
export BINFARM_BUILDER_STATE

t0=$(date +%s.%N)
binfarm rebuild --profile $prof >/dev/null
binfarm-worker -s state --name bench --tags x86-64-v3,web --driver ebuild \
	--profiles "$here/profiles" --layer "$(pwd -P)/layer" --workdir "$PWD/work" \
	>worker.log 2>&1 &
wpid=$!
state() {
	binfarm status --json | python3 -c '
import json, sys
print((json.load(sys.stdin)["profiles"][0].get("rebuild") or {}).get("state", "none"))'
}
while :; do
	case $(state) in running|publishing) sleep 0.2 ;; *) break ;; esac
done
t1=$(date +%s.%N)
[ "$(state)" = complete ] || { echo "bench-root.sh: the rebuild failed" >&2; exit 1; }

printf '%-32s %8s %8s %9s\n' package root_s setup_s ebuild_s
for cpv in $(sed -n 's/.*job [0-9]* (\([^)]*\)) uploaded/\1/p' worker.log); do
	binfarm log --no-follow "$cpv" 2>/dev/null | awk -v cpv="$cpv" '
	/build driver starts at/ { ds = $NF }
	/build driver ends at/ { de = $NF }
	/clean package \(at / { es = $NF; sub(/\)$/, "", es) }
	/clean package done at/ { ee = $NF }
	/build root: .* from fork/ { fork = $4; rm = $(NF - 4) }
	END {
		if (fork == "") exit
		printf "%-32s %8.3f %8.3f %9.3f\n", cpv, fork - (de - ds) + rm,
		    (de - ds) - (ee - es), ee - es
	}'
done >jobs.txt
cat jobs.txt
awk '{ r += $2; s += $3; e += $4; n++ }
END { printf "%-32s %8.3f %8.3f %9.3f\n", "mean of " n " jobs", r / n, s / n, e / n }' jobs.txt
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "sample world (11 packages, 1 worker): %.1f s wall\n", b - a }'
