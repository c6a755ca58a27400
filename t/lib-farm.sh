# Build farm fixtures: an ebuild repository with real C packages, a
# hw-profile, and helpers to run binfarm-builder and binfarm-worker on
# 127.0.0.1 with ephemeral ports.  Source after test-lib.sh.
#
#   farm_tree DIR          gentoo-like git repository: dev-libs/libhello
#                          (a C library), app-misc/hello (links it),
#                          app-misc/solo (no deps), app-misc/broken
#                          (fails to compile) and app-misc/needs-broken
#   farm_profile DIR WORLD...   a hw-profile building WORLD
#   farm_init              state/ with builder.conf (profile "p"), TLS
#                          (state/tls/ca.pem, as binfarm-builder --init
#                          makes it) and the test workers' sections
#   farm_add_worker NAME [LINE...]  a [worker NAME] section with a fresh
#                          token and LINEs ("tags = farm-test" if none)
#   farm_worker_token NAME the token of [worker NAME]
#   farm_start             starts the builder; waits for builder.url;
#                          exports CURL_CA_BUNDLE for the curl tool
#   farm_stop / farm_kill  SIGTERM / SIGKILL the builder
#   farm_worker NAME [ARGS]  starts a worker in the background
#   farm_wait_state CPV STATE [SECONDS]
#   farm_wait_rebuild STATE [SECONDS]

. "$TEST_DIRECTORY/lib-tree.sh"

farm_tree() {
	tree_init "$1" gentoo &&
	cat >"$1/eclass/simplec.eclass" <<-\EOT &&
	# simplec.eclass: build ${FILESDIR}/src with make
	simplec_src_unpack() {
		mkdir -p "${S}" && cp -R "${FILESDIR}/src/." "${S}/"
	}
	simplec_src_compile() {
		emake CC="${CC:-cc}" CFLAGS="${CFLAGS} -I${ESYSROOT}/usr/include" \
			LDFLAGS="${LDFLAGS} -L${ESYSROOT}/usr/lib64"
	}
	EXPORT_FUNCTIONS src_unpack src_compile
	EOT
	mkdir -p "$1/dev-libs/libhello/files/src" "$1/app-misc/hello/files/src" \
		"$1/app-misc/solo/files/src" "$1/app-misc/broken/files/src" \
		"$1/app-misc/needs-broken/files/src" &&
	cat >"$1/dev-libs/libhello/files/src/hello.c" <<-\EOT &&
	#include "hello.h"
	const char *hello(void) { return "hello from libhello"; }
	EOT
	echo 'const char *hello(void);' >"$1/dev-libs/libhello/files/src/hello.h" &&
	printf 'libhello.a: hello.o\n\tar rcs $@ hello.o\n' \
		>"$1/dev-libs/libhello/files/src/Makefile" &&
	cat >"$1/dev-libs/libhello/libhello-1.0.ebuild" <<-\EOT &&
	EAPI=8
	inherit simplec
	DESCRIPTION="a tiny library"
	SLOT="0/1"
	KEYWORDS="amd64"
	LICENSE="MIT"
	IUSE="+static debug"
	src_install() {
		insinto /usr/include
		doins hello.h
		insinto /usr/lib64
		doins libhello.a
	}
	EOT
	cat >"$1/app-misc/hello/files/src/main.c" <<-\EOT &&
	#include <stdio.h>
	#include <hello.h>
	int main(void) { puts(hello()); return 0; }
	EOT
	printf 'hello: main.c\n\t$(CC) $(CFLAGS) -o $@ main.c $(LDFLAGS) -lhello\n' \
		>"$1/app-misc/hello/files/src/Makefile" &&
	cat >"$1/app-misc/hello/hello-2.1.ebuild" <<-\EOT &&
	EAPI=8
	inherit simplec
	DESCRIPTION="says hello"
	SLOT="0"
	KEYWORDS="amd64"
	LICENSE="MIT"
	IUSE="nls"
	DEPEND="dev-libs/libhello:0= nls? ( sys-devel/gettext )"
	RDEPEND="${DEPEND}"
	src_install() {
		dobin hello
		dodoc README
	}
	EOT
	echo "hello README" >"$1/app-misc/hello/files/src/README" &&
	echo 'int main(void) { return 0; }' >"$1/app-misc/solo/files/src/solo.c" &&
	printf 'solo: solo.c\n\t$(CC) $(CFLAGS) -o $@ solo.c\n' \
		>"$1/app-misc/solo/files/src/Makefile" &&
	cat >"$1/app-misc/solo/solo-1.ebuild" <<-\EOT &&
	EAPI=8
	inherit simplec
	SLOT="0"
	KEYWORDS="amd64"
	LICENSE="MIT"
	src_compile() {
		# a test slows a worker down with WORKDIR/slow (seconds): the
		# sandbox builds in a clean environment, as Portage does, so
		# the worker's own variables do not reach the ebuild
		local slow=${BF_JOBDIR%/jobs/*}/slow
		[[ -f ${slow} ]] && { echo "sleeping $(<"${slow}")"; sleep "$(<"${slow}")"; }
		simplec_src_compile
	}
	src_install() { dobin solo; }
	EOT
	echo 'int main(void) { return this is not C; }' \
		>"$1/app-misc/broken/files/src/broken.c" &&
	printf 'broken: broken.c\n\t$(CC) $(CFLAGS) -o $@ broken.c\n' \
		>"$1/app-misc/broken/files/src/Makefile" &&
	cat >"$1/app-misc/broken/broken-1.ebuild" <<-\EOT &&
	EAPI=8
	inherit simplec
	SLOT="0"
	KEYWORDS="amd64"
	LICENSE="MIT"
	src_install() { dobin broken; }
	EOT
	cat >"$1/app-misc/needs-broken/needs-broken-1.ebuild" <<-\EOT &&
	EAPI=8
	SLOT="0"
	KEYWORDS="amd64"
	LICENSE="MIT"
	DEPEND="app-misc/broken"
	S=${WORKDIR}
	src_install() { insinto /usr/share/nb; echo x >x; doins x; }
	EOT
	farm_md5cache "$1" &&
	git -C "$1" add -A && git -C "$1" commit -q -m tree
}

# md5-cache for the fixture ebuilds (DEPEND, SLOT, IUSE, INHERIT, ...).
farm_md5cache() {
	rm -rf "$1/metadata/md5-cache" &&
	for _eb in "$1"/*/*/*.ebuild
	do
		_rel=${_eb#"$1"/}
		_cat=${_rel%%/*}
		_pf=$(basename "$_eb" .ebuild)
		mkdir -p "$1/metadata/md5-cache/$_cat" &&
		(
			inherit() { INHERIT="$*"; }
			EXPORT_FUNCTIONS() { :; }
			DEPEND= RDEPEND= BDEPEND= IUSE= INHERIT= SLOT= KEYWORDS= LICENSE=
			WORKDIR=/w
			. "$_eb"
			for _k in DEPEND EAPI IUSE KEYWORDS LICENSE RDEPEND SLOT
			do
				eval "_v=\$$_k"
				test -n "$_v" && printf '%s=%s\n' "$_k" "$(echo $_v)"
			done
			if test -n "$INHERIT"
			then
				printf '_eclasses_=%s\t%s\n' "$INHERIT" \
					"$(md5sum <"$1/eclass/$INHERIT.eclass" | cut -d' ' -f1)"
			fi
			printf '_md5_=%s\n' "$(md5sum <"$_eb" | cut -d' ' -f1)"
		) >"$1/metadata/md5-cache/$_cat/$_pf" || return 1
	done
}

farm_profile() {
	_d=$1
	shift
	mkdir -p "$_d" &&
	cat >"$_d/make.conf" <<-\EOT &&
	CHOST="x86_64-pc-linux-gnu"
	CFLAGS="-O2 -pipe"
	CXXFLAGS="${CFLAGS}"
	LDFLAGS="-Wl,-O1"
	ACCEPT_KEYWORDS="amd64"
	ACCEPT_LICENSE="*"
	USE="-nls"
	FEATURES="buildpkg distcc"
	DISTCC_HOSTS="localhost/2"
	EOT
	printf '[profile]\nworker-tags = farm-test\n\n[repo gentoo]\nuri = %s\nref = main\n' \
		"$PWD/gentoo" >"$_d/profile.conf" &&
	printf '%s\n' "$@" >"$_d/world"
}

farm_init() {
	binfarm-builder --init state -l 127.0.0.1:0 -P prof/p >/dev/null &&
	cat >>state/builder.conf <<-\EOT &&
	[builder]
	lease-timeout = 3
	max-attempts = 2
	backoff = 0
	EOT
	farm_add_workers
}

# The workers the t5xxx tests start, each with its own token.
farm_add_workers() {
	for _w in w1 w2 w3 bad evil liar
	do
		farm_add_worker $_w || return 1
	done &&
	farm_add_worker arm "tags = arm64"
}

farm_add_worker() {
	_n=$1
	shift
	test $# -gt 0 || set -- "tags = farm-test"
	printf '\n[worker %s]\ntoken = %s\n' "$_n" \
		"$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" >>state/builder.conf &&
	printf '%s\n' "$@" >>state/builder.conf
}

farm_worker_token() {
	sed -n "/^\[worker $1\]/,/^\[/s/^token = //p" state/builder.conf
}

farm_start() {
	rm -f state/builder.url
	binfarm-builder -d -s state >>builder.log 2>&1 &
	echo $! >builder.pid
	_i=0
	while ! test -s state/builder.url
	do
		_i=$((_i + 1))
		test $_i -gt 100 && { cat builder.log; return 1; }
		sleep 0.1
	done
	BINFARM_BUILDER_STATE=$PWD/state
	CURL_CA_BUNDLE=$PWD/state/tls/ca.pem
	export BINFARM_BUILDER_STATE CURL_CA_BUNDLE
}

farm_stop() {
	test -f builder.pid && kill "$(cat builder.pid)" 2>/dev/null
	test -f builder.pid && wait "$(cat builder.pid)" 2>/dev/null
	rm -f builder.pid
	return 0
}

farm_kill() {
	kill -9 "$(cat builder.pid)" && wait "$(cat builder.pid)" 2>/dev/null
	rm -f builder.pid
	return 0
}

farm_worker() {
	_n=$1
	shift
	binfarm-worker -s state --name "$_n" --tags farm-test \
		--workdir "work-$_n" "$@" >>"worker-$_n.log" 2>&1 &
	echo $! >"worker-$_n.pid"
}

farm_stop_workers() {
	for _p in worker-*.pid
	do
		test -f "$_p" || continue
		kill "$(cat "$_p")" 2>/dev/null
		wait "$(cat "$_p")" 2>/dev/null
		rm -f "$_p"
	done
	return 0
}

farm_job_state() {
	binfarm status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
' >/dev/null
	binfarm log --no-follow "$1" 2>&1 >/dev/null |
		sed -n 's/^binfarm log: job [0-9]* ([^)]*) is \([a-z]*\).*/\1/p'
}

farm_rebuild_state() {
	binfarm status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
r = s["profiles"][0].get("rebuild", {})
print(r.get("state", "none"))'
}

farm_wait_rebuild() {
	_i=0
	while case $(farm_rebuild_state) in running|publishing) true ;; *) false ;; esac
	do
		_i=$((_i + 1))
		test $_i -gt $((${2:-60} * 5)) && return 1
		sleep 0.2
	done
	test "$(farm_rebuild_state)" = "$1"
}
