#!/bin/sh
test_description='binfarm-builder and binfarm-worker: config, build, status, failures, auth'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

test_expect_success 'setup: tree, profile, builder config' '
	farm_tree gentoo &&
	farm_profile prof/p app-misc/hello app-misc/solo app-misc/needs-broken &&
	farm_init &&
	binfarm-builder -t -s state >out &&
	test_grep "configuration OK" out
'

test_expect_success '-t names file and line of a bad config' '
	printf "[builder]\nstate = x\nengineer-token = bbbbbbbbbbbbbbbb\nlease-timeout = soon\n" >bad.conf &&
	test_must_fail binfarm-builder -t -f bad.conf 2>err &&
	test_grep "bad.conf:4: lease-timeout: expected a number" err &&
	printf "[builder]\nstate = x\nengineer-token = bbbbbbbbbbbbbbbb\n[profile q]\ndir = nowhere\n" >bad2.conf &&
	test_must_fail binfarm-builder -t -f bad2.conf 2>err &&
	test_grep "bad2.conf:5: profile .q.: no make.conf" err &&
	printf "[builder]\nbogus = 1\n" >bad3.conf &&
	test_must_fail binfarm-builder -t -f bad3.conf 2>err &&
	test_grep "bad3.conf:2: unknown key .bogus." err &&
	printf "[builder]\nlisten\n" >bad5.conf &&
	test_expect_code 2 binfarm-builder -t -f bad5.conf 2>err &&
	test_grep "bad5.conf:2: .listen. has no value; expected KEY = VALUE" err &&
	printf "[profile q]\ndir\n" >bad6.conf &&
	test_expect_code 2 binfarm-builder -t -f bad6.conf 2>err &&
	test_grep "bad6.conf:2: .dir. has no value" err &&
	printf "[builder]\nstate = x\nrepository = norepo\nengineer-token = bbbbbbbbbbbbbbbb\n" >bad4.conf &&
	test_must_fail binfarm-builder -t -f bad4.conf 2>err &&
	test_grep "norepo.*binfarm repo init" err &&
	binfarm repo init --unsigned unsigned-repo &&
	printf "[builder]\nstate = x\nrepository = unsigned-repo\nengineer-token = bbbbbbbbbbbbbbbb\n" >u.conf &&
	binfarm-builder -t -f u.conf >out 2>err &&
	test_grep "publishing to .*unsigned-repo" out &&
	test_grep "UNSIGNED" err
'

test_expect_success 'no token and a wrong token are refused, and logged' '
	farm_start &&
	test_when_finished "farm_stop" &&
	url=$(cat state/builder.url) &&
	test_must_fail binfarm status --builder "$url" --token wrong-token-0000000 2>err &&
	test_grep "missing or wrong bearer token (HTTP 401)" err &&
	binfarm-worker --builder "$url" --cacert state/tls/ca.pem --token nope-nope-nope-nope --name intruder \
		--idle-exit 1 2>werr;
	test_grep "refused this worker" werr &&
	test_grep "refused POST /v1/workers/register from 127.0.0.1: wrong token" builder.log &&
	test "$(curl -s -o /dev/null -w "%{http_code}" "$url/v1/status")" = 401 &&
	test_grep "refused GET /v1/status from 127.0.0.1: no token" builder.log
'

test_expect_success 'the engineer token cannot lease jobs; the worker token cannot rebuild' '
	farm_start &&
	test_when_finished "farm_stop" &&
	url=$(cat state/builder.url) &&
	et=$(sed -n "s/^engineer-token = //p" state/builder.conf) &&
	wt=$(farm_worker_token w1) &&
	curl -s -o /dev/null -w "%{http_code}" -X POST -H "Authorization: Bearer $et" \
		-d "{\"name\":\"x\"}" "$url/v1/jobs/lease" >code &&
	test "$(cat code)" = 403 &&
	test_must_fail binfarm rebuild --profile p --builder "$url" --token "$wt" 2>err &&
	test_grep "not a worker call" err
'

test_expect_success 'a rebuild builds in dependency order; a failure blocks only its dependents' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	binfarm rebuild --profile p >out &&
	test_grep "rebuild 1 of p: 5 packages, 5 to build" out &&
	farm_worker w1 &&
	farm_wait_rebuild failed 120 &&
	test_expect_code 1 binfarm status >st 2>err &&
	test_grep "error: rebuild 1 of p failed" err &&
	test_grep "profile p: rebuild 1 failed" st &&
	test_grep "1 failed, 1 blocked, 0 cancelled; testing not moved" st &&
	test_grep "3/5 done" st &&
	test_grep "app-misc/broken-1 \[p\] FAILED after 2 attempts: build failed on w1" st &&
	test_grep "testing: (none)" st &&
	test_path_is_missing state/repo/channels/testing/p &&
	test_expect_code 1 binfarm log --no-follow app-misc/broken >log 2>err &&
	test_grep ">>> src_compile for app-misc/broken-1" log &&
	test_grep "attempt 2 of app-misc/broken-1 on worker w1" log &&
	test_grep "is failed" err &&
	binfarm log --no-follow needs-broken 2>err >/dev/null &&
	test_grep "is blocked: blocked: app-misc/broken-1 (job [0-9]*) did not build" err &&
	grep "leased to w1" builder.log | sed "s/.*(\(.*\)).*/\1/" >order &&
	test "$(head -1 order)" = dev-libs/libhello-1.0 &&
	grep -n "app-misc/hello-2.1" order >/dev/null
'

test_expect_success 'the built package is a verified gpkg with the job metadata' '
	pkg=$(ls state/pkgdir/p/app-misc/hello/hello-2.1-*.gpkg.tar) &&
	binfarm verify "$pkg" &&
	binfarm inspect "$pkg" >meta &&
	test_grep "^CATEGORY: app-misc" meta &&
	test_grep "^CFLAGS: -O2 -pipe" meta &&
	test_grep "^CHOST: x86_64-pc-linux-gnu" meta &&
	test_grep "^DEPEND: dev-libs/libhello:0/1=$" meta &&
	test_grep "^RDEPEND: dev-libs/libhello:0/1=$" meta &&
	test_grep "^USE: amd64$" meta &&
	test_grep "^hello-2.1.ebuild:" meta &&
	test_grep "^environment.bz2:" meta &&
	test_grep "^FEATURES: binpkg-multi-instance distcc$" meta &&
	mkdir x && tar -xOf "$pkg" --wildcards "*/image.tar.zst" | zstd -dcq | tar -x -C x &&
	./x/image/usr/bin/hello >said &&
	echo "hello from libhello" >expect &&
	test_cmp expect said
'

test_expect_success 'retry queues a failed job again (and it fails again: the fix is not committed)' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	job=$(binfarm status --json | python3 -c "import json,sys; print([j[\"job\"] for j in json.load(sys.stdin)[\"problems\"]][0])") &&
	echo "int main(void) { return 0; }" >gentoo/app-misc/broken/files/src/broken.c &&
	binfarm cancel 999 2>err; test_grep "no job 999" err &&
	binfarm retry "$job" >out 2>&1 || { cat out; false; } &&
	farm_worker w1 &&
	farm_wait_rebuild failed 60 &&
	test_expect_code 1 binfarm status >st &&
	test_grep "1 failed, 1 blocked" st
'

test_expect_success 'a new rebuild reuses built keys and completes; testing points at it' '
	git -C gentoo add -A && git -C gentoo commit -q -m "fix broken" &&
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	binfarm rebuild --profile p >out &&
	test_grep "5 packages, 2 to build, 3 already built" out &&
	farm_worker w1 &&
	farm_wait_rebuild complete 60 &&
	binfarm status >st &&
	test_grep "5/5 done (3 reused)" st &&
	test_grep "testing: [0-9]" st &&
	test -f state/repo/channels/testing/p/Packages &&
	test_grep "^PACKAGES: 5" state/repo/channels/testing/p/Packages &&
	test_grep "^CPV: app-misc/needs-broken-1" state/repo/channels/testing/p/Packages &&
	binfarm verify --keyring state/repo/keys/binfarm.asc \
		state/repo/channels/testing/p/*/*/*.gpkg.tar >/dev/null &&
	binfarm -R state/repo fsck >fsck &&
	binfarm -R state/repo history >hist &&
	test_grep "promote.*testing/p.*binfarm-builder rebuild" hist &&
	test $(grep -c "leased to" builder.log) -eq 9
'

test_expect_success 'nothing new: no pool file added; a package leaving the plan leaves testing' '
	farm_start &&
	test_when_finished "farm_stop" &&
	find state/repo/pool -name "*.gpkg.tar" >pool1 &&
	old=$(readlink state/repo/channels/testing/p) &&
	binfarm rebuild --profile p >out &&
	test_grep "5 packages, 0 to build, 5 already built" out &&
	farm_wait_rebuild complete 30 &&
	new=$(readlink state/repo/channels/testing/p) &&
	test "$old" != "$new" &&
	find state/repo/pool -name "*.gpkg.tar" >pool2 &&
	test_cmp pool1 pool2 &&
	binfarm -R state/repo snapshot --profile p diff "${old##*/}" "${new##*/}" >diff &&
	! grep -E "^ *(added|removed|upgraded|downgraded|rebuilt)" diff &&
	cp prof/p/world world.saved &&
	printf "%s\n" app-misc/solo >prof/p/world &&
	test_when_finished "cp world.saved prof/p/world" &&
	binfarm rebuild --profile p >out &&
	test_grep "1 packages, 0 to build, 1 already built" out &&
	farm_wait_rebuild complete 30 &&
	test_grep "^PACKAGES: 1$" state/repo/channels/testing/p/Packages &&
	test_grep "^CPV: app-misc/solo-1$" state/repo/channels/testing/p/Packages &&
	find state/repo/pool -name "*.gpkg.tar" >pool3 &&
	test_cmp pool1 pool3
'

test_expect_success 'a worker for another profile gets no work and status says why' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	printf "%s\n" app-misc/solo >prof/p/world &&
	sed -i "s/-O2 -pipe/-O3 -pipe/" prof/p/make.conf &&
	binfarm rebuild --profile p >out &&
	binfarm-worker -s state --name arm --tags arm64 --workdir warm \
		--idle-exit 2 2>warm.log &&
	binfarm status >st &&
	test_grep "arm alive, 0 running.*may build: nothing (tags: arm64)" st &&
	test_grep "queue: 1 ready" st &&
	! grep "leased to arm" builder.log &&
	binfarm cancel --profile p >out &&
	test_grep "cancelled rebuild" out
'

test_expect_success 'a tree ref that vanished: the rebuild is refused with the reason' '
	farm_start &&
	test_when_finished "farm_stop" &&
	test_must_fail binfarm rebuild --profile p --commit gentoo=no-such-branch 2>err &&
	test_grep "no-such-branch" err &&
	test_expect_code 1 binfarm status >st 2>err &&
	test_grep "error: rebuild [0-9]* of p was refused" err &&
	test_grep "refused rebuild of p: .*no-such-branch" st &&
	test_grep "rebuild of p by .* refused" builder.log
'

test_done
