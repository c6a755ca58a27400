#!/bin/sh
test_description='the ebuild driver: distfiles fetched once, checked against the Manifest, read-only to builds without network'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-portage.sh"

. "$TEST_DIRECTORY/lib-farm.sh"
PROF=web-x86-64-v3

ebuild_worker() {
	binfarm-worker -s state --name a --tags x86-64-v3,web \
		--driver ebuild --profiles "$PWD/profiles" \
		--layer "$(pwd -P)/layer" --workdir "$PWD/work-a" "$@" \
		>>worker-a.log 2>&1 &
	echo $! >worker-a.pid
}

# tinyfetch-VERSION: a package whose sources are a real tarball, served
# by the HTTP server at $PORT; its Manifest has the tarball's digests.
# Its build fails if it can reach that server (the build has no network).
add_tinyfetch() {
	PORT=$(cat port) &&
	d=trees/gentoo/app-misc/tinyfetch &&
	mkdir -p $d &&
	cat >$d/tinyfetch-$1.ebuild <<-EOF &&
	EAPI=8
	DESCRIPTION="Sample: sources from a distfile"
	HOMEPAGE="https://example.com/binfarm/sample"
	SRC_URI="http://127.0.0.1:$PORT/tinyfetch-$2.tar.gz"
	LICENSE="ZLIB"
	SLOT="0"
	KEYWORDS="amd64"
	RESTRICT="mirror"
	S="\${WORKDIR}/tinyfetch-$2"
	src_compile() {
		if (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then
			die "the build reached the network"
		fi
		\${CC:-cc} \${CFLAGS} \${LDFLAGS} -o tinyfetch tinyfetch.c || die
	}
	src_install() { dobin tinyfetch; }
	EOF
	f=dist/tinyfetch-$2.tar.gz &&
	python3 - "$f" >>$d/Manifest <<-\EOF &&
	import hashlib, os, sys
	b = open(sys.argv[1], "rb").read()
	print("DIST %s %d BLAKE2B %s SHA512 %s" % (os.path.basename(sys.argv[1]),
	    len(b), hashlib.blake2b(b).hexdigest(), hashlib.sha512(b).hexdigest()))
	EOF
	sort -u $d/Manifest >m && mv m $d/Manifest &&
	bash "$BF_SRC_DIR/scripts/md5-cache.sh" trees/gentoo >/dev/null &&
	git -C trees/gentoo add -A &&
	git -C trees/gentoo commit -qm "tinyfetch-$1"
}

test_expect_success 'setup: a distfile server, a package that needs it, a builder' '
	"$BF_SRC_DIR/scripts/portage-layer.sh" "$PORTAGE_TARBALL" layer >/dev/null &&
	"$BF_SRC_DIR/scripts/sample-tree.sh" trees >/dev/null &&
	mkdir -p dist src/tinyfetch-1.0 &&
	printf "#include <stdio.h>\nint main(void) { puts(\"fetched\"); return 0; }\n" \
		>src/tinyfetch-1.0/tinyfetch.c &&
	tar -czf dist/tinyfetch-1.0.tar.gz -C src tinyfetch-1.0 &&
	(cd dist && exec python3 -u -m http.server 0 --bind 127.0.0.1 \
		>../http.out 2>../http.log) &
	echo $! >http.pid &&
	i=0 && until grep -q "port [0-9]" http.out
	do
		i=$((i + 1)) && test $i -lt 100 && sleep 0.1 || break
	done &&
	sed -n "s/.* port \([0-9]*\) .*/\1/p" http.out >port &&
	test -s port &&
	echo app-misc >>trees/gentoo/profiles/categories &&
	add_tinyfetch 1.0 1.0 &&
	mkdir profiles &&
	cp -R "$BF_SRC_DIR/profiles/$PROF" profiles/ &&
	echo app-misc/tinyfetch >profiles/$PROF/world &&
	# without Portage'"'"'s own network-sandbox: the root alone isolates
	echo "FEATURES=\"\${FEATURES} -network-sandbox\"" >>profiles/$PROF/make.conf &&
	binfarm-builder --init state -l 127.0.0.1:0 -P "$PWD/profiles/$PROF" \
		-r gentoo="$PWD/trees/gentoo@main" \
		-r company="$PWD/trees/company@main" >/dev/null &&
	printf "[builder]\nmax-attempts = 1\nbackoff = 0\n" >>state/builder.conf &&
	farm_add_worker a "profiles = $PROF" "tags = x86-64-v3,web"
'

test_expect_success 'the distfile is fetched (and checked) in a root with the network; the build has none' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	binfarm rebuild --profile $PROF >out &&
	test_grep "2 packages, 2 to build" out &&
	ebuild_worker --keep &&
	farm_wait_rebuild complete 300 &&
	cmp dist/tinyfetch-1.0.tar.gz work-a/distfiles/tinyfetch-1.0.tar.gz &&
	grep -c "GET /tinyfetch-1.0.tar.gz" http.log >gets &&
	echo 1 >expect &&
	test_cmp expect gets &&
	binfarm log --no-follow app-misc/tinyfetch >log 2>/dev/null &&
	test_grep "fetch root .*(with the network)" log &&
	test_grep "build root .*, net$" log &&
	binfarm log --no-follow sys-libs/tinyz >zlog 2>/dev/null &&
	! grep "fetch root" zlog &&
	pkg=$(ls state/repo/channels/testing/$PROF/app-misc/tinyfetch/*.gpkg.tar) &&
	# the build root, not Portage'"'"'s network-sandbox, kept it off the network
	binfarm inspect "$pkg" >meta &&
	test_grep "^FEATURES: " meta &&
	! grep "^FEATURES: .*network-sandbox" meta &&
	mkdir img &&
	tar -xOf "$pkg" --wildcards "*/image.tar.zst" | zstd -dcq | tar -x -C img &&
	img/image/usr/bin/tinyfetch >said &&
	echo fetched >expect &&
	test_cmp expect said
'

test_expect_success 'a later build finds the distfile in the cache: no second download' '
	add_tinyfetch 1.0-r1 1.0 &&
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	binfarm rebuild --profile $PROF >out &&
	test_grep "1 to build" out &&
	ebuild_worker --keep &&
	farm_wait_rebuild complete 300 &&
	grep -c "GET /tinyfetch-1.0.tar.gz" http.log >gets &&
	echo 1 >expect &&
	test_cmp expect gets &&
	ls state/repo/channels/testing/$PROF/app-misc/tinyfetch/tinyfetch-1.0-r1-*.gpkg.tar
'

test_expect_success 'a distfile that does not match the Manifest fails the job; nothing is built' '
	mkdir -p src/tinyfetch-1.1 &&
	cp src/tinyfetch-1.0/tinyfetch.c src/tinyfetch-1.1/ &&
	tar -czf dist/tinyfetch-1.1.tar.gz -C src tinyfetch-1.1 &&
	add_tinyfetch 1.1 1.1 &&
	echo "tampered" >>dist/tinyfetch-1.1.tar.gz &&
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	binfarm rebuild --profile $PROF >out &&
	ebuild_worker --keep &&
	farm_wait_rebuild failed 300 &&
	test_expect_code 1 binfarm log --no-follow app-misc/tinyfetch >log &&
	test_grep "could not fetch the distfiles" log &&
	! grep "binfarm-worker: build root" log &&
	! grep ">>> Compiling source" log &&
	! test -e work-a/distfiles/tinyfetch-1.1.tar.gz
'

test_expect_success 'a profile that turns distcc on (package.env) gives the build root the network' '
	mkdir -p profiles/$PROF/env &&
	printf "FEATURES=\"\${FEATURES} distcc\"\nDISTCC_HOSTS=\"127.0.0.1/1\"\n" \
		>profiles/$PROF/env/distcc.conf &&
	echo "app-misc/tinyfetch distcc.conf" >profiles/$PROF/package.env &&
	add_tinyfetch 1.2 1.0 &&
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	binfarm rebuild --profile $PROF >out &&
	ebuild_worker --keep &&
	farm_wait_rebuild failed 300 &&
	test_expect_code 1 binfarm log --no-follow app-misc/tinyfetch >log &&
	test_grep "the hw-profile turns distcc on" log &&
	test_grep "build root .*(with the network)" log &&
	# tinyfetch dies when its build can reach the network (this profile
	# has no network-sandbox)
	test_grep "the build reached the network" log
'

test_expect_success 'stage3-root.sh unpacks a stage3 into an empty directory and checks it' '
	mkdir -p s3/bin s3/usr/bin s3/usr/sbin s3/etc &&
	for f in bin/bash usr/bin/emerge usr/bin/ebuild usr/sbin/emaint \
		usr/bin/tar usr/bin/zstd usr/bin/bzip2 etc/passwd
	do
		echo x >s3/$f || return 1
	done &&
	tar -cJf s3.tar.xz -C s3 . &&
	"$BF_SRC_DIR/scripts/stage3-root.sh" s3.tar.xz base >out 2>err &&
	# the path to give --base-root: canonical (binfarm-worker(8))
	test_grep "base root in $(pwd -P)/base (binfarm-worker --base-root $(pwd -P)/base)$" out &&
	test_grep "warning: no git in base" err &&
	test -f base/usr/bin/emerge &&
	test_expect_code 2 "$BF_SRC_DIR/scripts/stage3-root.sh" s3.tar.xz base 2>err &&
	test_grep "base is not empty" err &&
	tar -cJf etc.tar.xz -C s3 etc &&
	test_expect_code 1 "$BF_SRC_DIR/scripts/stage3-root.sh" etc.tar.xz other 2>err &&
	test_grep "is not a Gentoo stage3 (no bin/bash usr/bin/emerge" err
'

test_expect_success 'cleanup: the distfile server' '
	kill "$(cat http.pid)"
'

test_done
