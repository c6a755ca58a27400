#!/bin/sh
test_description='the ebuild driver: real Portage builds the sample world in a disposable root per job'
. "$(dirname "$0")/test-lib.sh"

PORTAGE_TARBALL=$(ls "$BF_SRC_DIR"/../shared/portage/portage-*.tar.xz 2>/dev/null | head -1)
test -n "$PORTAGE_TARBALL" ||
	skip_all 'skipped: no Portage source (../shared/portage/portage-*.tar.xz)'
test "$(id -u)" = 0 ||
	skip_all 'skipped: the ebuild driver needs root (namespaces, overlayfs)'
command -v curl >/dev/null 2>&1 || skip_all 'skipped: curl is not installed'
command -v scanelf >/dev/null 2>&1 || skip_all 'skipped: no scanelf (pax-utils)'
unshare --mount --pid --fork --ipc --uts --net true 2>/dev/null ||
	skip_all 'skipped: cannot make namespaces here'

. "$TEST_DIRECTORY/lib-farm.sh"
PROF=web-x86-64-v3

# What a build could change on the host, if it escaped its root.
host_state() {
	for d in /var/db/pkg /usr /etc
	do
		test -e "$d" || continue
		find "$d" -xdev -printf '%p %y %m %s %T@\n' 2>/dev/null
	done | sort | md5sum
}

ebuild_worker() {
	_n=$1
	shift
	binfarm-worker -s state --name "$_n" --tags x86-64-v3,web \
		--driver ebuild --profiles "$BF_SRC_DIR/profiles" \
		--layer "$PWD/layer" --workdir "$PWD/work-$_n" "$@" \
		>>"worker-$_n.log" 2>&1 &
	echo $! >"worker-$_n.pid"
}

# metadata of a gpkg: KEY: value lines (binary keys by checksum)
gpkg_meta() {
	rm -rf gm && mkdir gm &&
	tar -xf "$1" -C gm &&
	tar -xf gm/*/metadata.tar.* -C gm &&
	for f in gm/metadata/*
	do
		case $f in
		*.bz2|*.ebuild) printf '%s: %s\n' "${f##*/}" "$(bzcat -f "$f" | md5sum)" ;;
		*) printf '%s: %s\n' "${f##*/}" "$(tr '\n' ' ' <"$f")" ;;
		esac
	done
}

# the image of a gpkg: every entry with its mode, owner, size, link, digest
gpkg_image() {
	rm -rf gi && mkdir gi &&
	tar -xf "$1" -C gi &&
	tar -x --numeric-owner -p -f gi/*/image.tar.* -C gi &&
	(cd gi/image && find . -printf '%p %y %m %U %G %s %l\n' | sort &&
	 find . -type f -exec sha256sum {} + | sort -k2)
}

test_expect_success 'setup: a Portage layer, the sample trees, a builder' '
	"$BF_SRC_DIR/scripts/portage-layer.sh" "$PORTAGE_TARBALL" layer >out &&
	test_grep "Portage from" out &&
	test -x layer/usr/lib/portage-src/bin/emerge &&
	"$BF_SRC_DIR/scripts/sample-tree.sh" trees >/dev/null &&
	binfarm-builder --init state -l 127.0.0.1:0 \
		-P "$BF_SRC_DIR/profiles/$PROF" \
		-r gentoo="$PWD/trees/gentoo@main" \
		-r company="$PWD/trees/company@main" >/dev/null &&
	printf "[builder]\nmax-attempts = 1\nbackoff = 0\n" >>state/builder.conf &&
	binfarm-builder -t -s state >out &&
	test_grep "publishing to .*state/repo" out
'

test_expect_success 'the farm builds the sample world with real Portage, the host untouched' '
	host_state >host.before &&
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	binfarm rebuild --profile $PROF >out &&
	test_grep "11 packages, 11 to build" out &&
	ebuild_worker a --keep &&
	farm_wait_rebuild complete 600 &&
	binfarm status >st &&
	test_grep "11/11 done" st &&
	test_grep "^PACKAGES: 11$" state/repo/channels/testing/$PROF/Packages &&
	host_state >host.after &&
	test_cmp host.before host.after
'

test_done
