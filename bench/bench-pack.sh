#!/bin/sh
# bench-pack: binfarm pack against `tar -c DIR | zstd -T0` at the same
# level, on the same image, in one run.  The image is about 1 GiB of
# mixed content: real binaries and text copied from this machine's /usr,
# plus incompressible random data, as a package image would be.
#
# usage: bench/bench-pack.sh [SIZE_MIB] (default 1024)
# Environment: BINFARM (path to binfarm), BENCH_DIR (scratch directory),
# RUNS (default 3; the best run of each is reported).
set -eu
size_mib=${1:-1024}
runs=${RUNS:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
binfarm=${BINFARM:-$top/binfarm}
work=${BENCH_DIR:-/tmp/binfarm-bench-pack}
level=3

[ -x "$binfarm" ] || { echo "bench-pack: build binfarm first (make)" >&2; exit 2; }
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

t_tar= t_bf= t_man=
r=0
while [ $r -lt "$runs" ]; do
	s=$(now)
	tar -cf - -C "$img" . | zstd -q -T0 -$level -o "$work/ref.tar.zst" -f
	# binfarm fsyncs what it writes (atomic, durable); so must the reference.
	sync "$work/ref.tar.zst"
	e=$(now)
	t_tar="$t_tar $(echo "$e - $s" | bc)"
	# What the same container needs on top: the Manifest's two digests.
	s=$(now)
	tar -cf - -C "$img" . | zstd -q -T0 -$level -o "$work/ref.tar.zst" -f
	sync "$work/ref.tar.zst"
	b2sum "$work/ref.tar.zst" >/dev/null & sha512sum "$work/ref.tar.zst" >/dev/null
	wait
	e=$(now)
	t_man="$t_man $(echo "$e - $s" | bc)"
	s=$(now)
	"$binfarm" pack -q -l $level -i "$img" -b "$work/info" -o "$work/out.gpkg.tar"
	e=$(now)
	t_bf="$t_bf $(echo "$e - $s" | bc)"
	r=$((r + 1))
done
# shellcheck disable=SC2086
bt=$(best $t_tar)
# shellcheck disable=SC2086
bb=$(best $t_bf)
# shellcheck disable=SC2086
bm=$(best $t_man)
ratio=$(echo "scale=3; $bb / $bt" | bc)
ratio_m=$(echo "scale=3; $bb / $bm" | bc)
mbps() { echo "scale=1; $bytes / 1048576 / $1" | bc; }

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
echo "load before the run: $(cut -d" " -f1-3 /proc/loadavg)"
echo "image: $((bytes / 1048576)) MiB in $files entries; zstd level $level, all CPUs; best of $runs"
printf '%-34s %8.2f s %8s MiB/s  %s bytes\n' "tar -c | zstd -T0 -$level; sync" "$bt" "$(mbps "$bt")" "$(stat -c %s "$work/ref.tar.zst")"
printf '%-34s %8.2f s %8s MiB/s\n' "same, then b2sum & sha512sum" "$bm" "$(mbps "$bm")"
printf '%-34s %8.2f s %8s MiB/s  %s bytes\n' "binfarm pack (gpkg, Manifest)" "$bb" "$(mbps "$bb")" "$(stat -c %s "$work/out.gpkg.tar")"
echo "ratio binfarm / (tar | zstd):               ${ratio}x (target <= 1.1x)"
echo "ratio binfarm / (tar | zstd + the 2 digests): ${ratio_m}x"
"$binfarm" verify "$work/out.gpkg.tar" >/dev/null && echo "package verifies"
