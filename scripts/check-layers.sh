#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check-layers.sh [SRCDIR]: the include rules of the source tree.
#
#  1. lib/ is in layers, lowest first: base, net, portage, format, store.
#     A file of lib/L/ includes headers of layer L or a lower one only,
#     never a program's header.
#  2. No include cycle between modules anywhere in the tree (a module is
#     a .c file with its .h: lib/base/buf.c and lib/base/buf.h are
#     "lib/base/buf").
#  3. No call cycle between the files of a program's folder (builder,
#     binhost, cli, worker): a function one file defines (its type on
#     the line before, the tree's style) that another file calls is an
#     edge from the caller to it.
#
# Prints each violation as "file: message" and exits 1 if there is one.
# Run by t/t0005-layers.sh, so "make check" fails on an upward include.
set -eu

src=${1:-$(dirname "$0")/..}
cd "$src"
layers="base net portage format store"

rank() {
	r=0
	for l in $layers; do
		[ "$l" = "$1" ] && { echo $r; return; }
		r=$((r + 1))
	done
	echo -1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-layers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0

find lib builder binhost cli worker t/unit t/helper -name '*.[ch]' \
	2>/dev/null | sort >"$tmp/files"

# file, then every quoted include resolved to a path in the tree.
while read -r f; do
	dir=$(dirname "$f")
	sed -n 's/^#[ \t]*include[ \t]*"\([^"]*\)".*/\1/p' "$f" |
	while read -r inc; do
		case $inc in config.h) continue ;; esac
		if [ -f "$dir/$inc" ]; then
			p=$dir/$inc
		elif [ -f "lib/$inc" ]; then
			p=lib/$inc
		elif [ -f "$inc" ]; then
			p=$inc
		else
			echo "$f: cannot find included '$inc'" >&2
			echo x >"$tmp/fail"
			continue
		fi
		printf '%s %s\n' "$f" "$(echo "$p" | sed 's|/\./|/|g')"
	done
done <"$tmp/files" >"$tmp/edges"
[ -f "$tmp/fail" ] && fail=1

# Rule 1: layers.
while read -r f p; do
	case $f in lib/*/*) ;; *) continue ;; esac
	fl=$(echo "$f" | cut -d/ -f2)
	case $p in
	lib/*/*)
		pl=$(echo "$p" | cut -d/ -f2)
		if [ "$(rank "$pl")" -gt "$(rank "$fl")" ]; then
			echo "$f: includes $p: layer '$pl' is above '$fl'"
			fail=1
		fi ;;
	*)
		echo "$f: includes $p, which is not in lib/"
		fail=1 ;;
	esac
done <"$tmp/edges"
for d in lib/*/; do
	l=$(basename "$d")
	if [ "$(rank "$l")" -lt 0 ]; then
		echo "lib/$l: not a layer (known: $layers)"
		fail=1
	fi
done
for f in lib/*.[ch]; do
	[ -e "$f" ] || continue
	echo "$f: lib/ files belong in a layer folder ($layers)"
	fail=1
done

# Rule 2: cycles between modules (tsort finds them).
sed 's/\.[ch]\( \|$\)/\1/g' "$tmp/edges" |
	awk '$1 != $2 { print $2, $1 }' >"$tmp/deps"
if ! tsort "$tmp/deps" >/dev/null 2>"$tmp/tsort"; then
	sed -n 's/^tsort: //p' "$tmp/tsort" | sed 's/^/include cycle: /'
	fail=1
fi

# Rule 3: calls between the files of a program (tsort again).
for d in builder binhost cli worker; do
	[ -d "$d" ] || continue
	for f in "$d"/*.c; do
		[ -e "$f" ] || continue
		awk -v f="$f" 'prev !~ /^static/ && prev ~ /^[a-z]/ &&
		    prev !~ /[;=]/ && /^[a-z_][a-z0-9_]*\(/ {
			n = $0; sub(/\(.*/, "", n); print n, f }
		{ prev = $0 }' "$f"
	done >"$tmp/defs"
	while read -r fn def; do
		for g in "$d"/*.c; do
			[ "$g" = "$def" ] && continue
			if grep -q "\\<$fn(" "$g"; then
				echo "$g $def"
			fi
		done
	done <"$tmp/defs"
done | sed 's/\.c / /; s/\.c$//' >"$tmp/calls"
if ! tsort "$tmp/calls" >/dev/null 2>"$tmp/tsort"; then
	sed -n '/input contains a loop/d; s/^tsort: //p' "$tmp/tsort" |
		awk '!seen[$0]++ { print "call cycle: " $0 }'
	fail=1
fi
exit $fail
