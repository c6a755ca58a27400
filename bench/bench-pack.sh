#!/bin/sh
# bench-pack: binfarm pack against `tar -c DIR | zstd -T0` at the same
# level, on the same image, in one run.  The image is about 1 GiB of
# mixed content: real binaries and text copied from this machine's /usr,
# plus incompressible random data, as a package image would be.
#
# usage: bench/bench-pack.sh [SIZE_MIB] (default 1024)
# Environment: BINFARM (path to binfarm), BENCH_DIR (scratch directory),
# RUNS (default 3), BINFARM_BASE (optional: an older binfarm, run in the
# same rounds for a before/after figure).  The commands run in turns,
# one of each per round; the median and the best of each are reported,
# with the load average before every round (the machine may be shared).
# Every command writes a new file: its previous output is removed before
# the clock starts.  (zstd -f would otherwise truncate and refill the
# cached pages of its last output in place while binfarm, writing to a
# temporary file and renaming it, needs fresh page-cache memory with the
# old package still cached; on a VM that returns free memory to its host
# that alone cost binfarm 0.7 CPU-s per GiB, bench/RESULTS.md.)
set -eu
size_mib=${1:-1024}
runs=${RUNS:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
binfarm=${BINFARM:-$top/binfarm}
base=${BINFARM_BASE:-}
work=${BENCH_DIR:-/tmp/binfarm-bench-pack}
level=3

[ -x "$binfarm" ] || { echo "bench-pack: build binfarm first (make)" >&2; exit 2; }
[ -z "$base" ] || [ -x "$base" ] || { echo "bench-pack: no $base" >&2; exit 2; }
command -v zstd >/dev/null || { echo "bench-pack: needs zstd" >&2; exit 2; }

mkdir -p "$work"
img=$work/image
if [ ! -f "$work/.image-$size_mib" ]; then
	echo "bench-pack: making a ${size_mib} MiB image in $img"
	rm -rf "$img" "$work"/.image-*
	mkdir -p "$img/usr" "$img/var/lib/blob"
	# One quarter incompressible data, the rest real files from /usr.
	rnd=$((size_mib / 4))
	i=0
	while [ $i -lt $rnd ]; do
		head -c 1048576 /dev/urandom >"$img/var/lib/blob/r$i"
		i=$((i + 1))
	done
	want=$(( (size_mib - rnd) * 1048576 ))
	( cd / && find usr/lib usr/share usr/bin -xdev -type f -size -64M 2>/dev/null ) |
	LC_ALL=C sort | while read -r f; do
		s=$(stat -c %s "/$f")
		[ "$want" -gt 0 ] || break
		mkdir -p "$img/$(dirname "$f")"
		cp -p "/$f" "$img/$f" 2>/dev/null || continue
		want=$((want - s))
	done
	touch "$work/.image-$size_mib"
fi
mkdir -p "$work/info"
for kv in CATEGORY=app-misc PF=bench-1.0 SLOT=0 EAPI=8 USE= KEYWORDS=amd64; do
	printf '%s\n' "${kv#*=}" >"$work/info/${kv%%=*}"
done

bytes=$(du -sb "$img" | cut -f1)
files=$(find "$img" | wc -l)
# Warm the page cache so that both sides read from memory.
tar -cf - -C "$img" . >/dev/null

now() { date +%s.%N; }
best() { printf '%s\n' "$@" | sort -n | head -n 1; }
median() {
	printf '%s\n' "$@" | sort -n |
	awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

t_tar='' t_bf='' t_man='' t_base='' loads=''
r=0
while [ $r -lt "$runs" ]; do
	loads="$loads $(cut -d" " -f1 /proc/loadavg)"
	rm -f "$work/ref.tar.zst"
	s=$(now)
	tar -cf - -C "$img" . | zstd -q -T0 -$level -o "$work/ref.tar.zst" -f
	# binfarm fsyncs what it writes (atomic, durable); so must the reference.
	sync "$work/ref.tar.zst"
	e=$(now)
	t_tar="$t_tar $(echo "$e - $s" | bc)"
	# What the same container needs on top: the Manifest's two digests.
	rm -f "$work/ref.tar.zst"
	s=$(now)
	tar -cf - -C "$img" . | zstd -q -T0 -$level -o "$work/ref.tar.zst" -f
	sync "$work/ref.tar.zst"
	b2sum "$work/ref.tar.zst" >/dev/null & sha512sum "$work/ref.tar.zst" >/dev/null
	wait
	e=$(now)
	t_man="$t_man $(echo "$e - $s" | bc)"
	rm -f "$work/out.gpkg.tar"
	s=$(now)
	"$binfarm" pack -q -l $level -i "$img" -b "$work/info" -o "$work/out.gpkg.tar"
	e=$(now)
	t_bf="$t_bf $(echo "$e - $s" | bc)"
	if [ -n "$base" ]; then
		rm -f "$work/base.gpkg.tar"
		s=$(now)
		"$base" pack -q -l $level -i "$img" -b "$work/info" -o "$work/base.gpkg.tar"
		e=$(now)
		t_base="$t_base $(echo "$e - $s" | bc)"
	fi
	r=$((r + 1))
done
mbps() { echo "scale=1; $bytes / 1048576 / $1" | bc; }
# shellcheck disable=SC2086
mt=$(median $t_tar) bt=$(best $t_tar)
# shellcheck disable=SC2086
mb=$(median $t_bf) bb=$(best $t_bf)
# shellcheck disable=SC2086
mm=$(median $t_man) bm=$(best $t_man)
line() {	# label, median, best, [bytes]
	printf '%-34s %7.2f s %7.2f s %7s MiB/s  %s\n' "$1" "$2" "$3" "$(mbps "$2")" "${4:-}"
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
echo "load before each round:$loads (now $(cut -d" " -f1-3 /proc/loadavg))"
echo "image: $((bytes / 1048576)) MiB in $files entries; zstd level $level, all CPUs; $runs rounds"
printf '%-34s %9s %9s %13s\n' "" median best "(median)"
line "tar -c | zstd -T0 -$level; sync" "$mt" "$bt" "$(stat -c %s "$work/ref.tar.zst") bytes"
line "same, then b2sum & sha512sum" "$mm" "$bm"
line "binfarm pack (gpkg, Manifest)" "$mb" "$bb" "$(stat -c %s "$work/out.gpkg.tar") bytes"
if [ -n "$base" ]; then
	# shellcheck disable=SC2086
	mo=$(median $t_base) bo=$(best $t_base)
	line "BINFARM_BASE pack" "$mo" "$bo"
	echo "ratio BINFARM_BASE / (tar | zstd), medians: $(echo "scale=3; $mo / $mt" | bc)x"
fi
echo "ratio binfarm / (tar | zstd), medians:      $(echo "scale=3; $mb / $mt" | bc)x (best: $(echo "scale=3; $bb / $bt" | bc)x; target <= 1.1x)"
echo "ratio binfarm / (tar | zstd + the 2 digests): $(echo "scale=3; $mb / $mm" | bc)x"
"$binfarm" verify "$work/out.gpkg.tar" >/dev/null && echo "package verifies"
