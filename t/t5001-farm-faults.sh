#!/bin/sh
test_description='build farm faults: killed worker, killed builder, bad uploads'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

test_expect_success 'setup' '
	farm_tree gentoo &&
	farm_profile prof/p app-misc/hello app-misc/solo &&
	farm_init
'

test_expect_success 'a worker killed mid-job: the lease expires, another worker builds it' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	printf "%s\n" app-misc/solo >prof/p/world &&
	binfarm rebuild --profile p >/dev/null &&
	mkdir -p work-w1 && echo 30 >work-w1/slow &&
	farm_worker w1 &&
	i=0 && until binfarm log --no-follow app-misc/solo | grep -q "sleeping 30"; do
		i=$((i + 1)); test $i -lt 100 || break; sleep 0.1; done && test $i -lt 100 &&
	kill -9 $(cat worker-w1.pid) && rm worker-w1.pid &&
	farm_worker w2 &&
	farm_wait_rebuild complete 60 &&
	test_grep "lease expired: worker w1 sent no heartbeat for 3 s" builder.log &&
	test_grep "app-misc/solo-1) leased to w2" builder.log &&
	binfarm log --no-follow app-misc/solo >log &&
	test_grep "attempt 1 failed: lease expired" log &&
	test_grep "sleeping 30" log &&
	test_grep "attempt 2 of app-misc/solo-1 on worker w2" log
'

test_expect_success 'an upload with a wrong checksum is refused and retried; nothing is stored' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	sed -i "s/-O2 -pipe/-O1 -pipe/" prof/p/make.conf &&
	binfarm rebuild --profile p >/dev/null &&
	(BINFARM_WORKER_BAD_CHECKSUM=1 && export BINFARM_WORKER_BAD_CHECKSUM && farm_worker bad) &&
	i=0 && until grep -q "checksum mismatch" builder.log; do
		i=$((i + 1)); test $i -lt 100 || break; sleep 0.1; done && test $i -lt 100 &&
	binfarm status >st &&
	test_grep "solo-1 \[p\] on bad" st &&
	test_grep "upload from bad rejected: checksum mismatch: the header says SHA256 0000" builder.log &&
	test_path_is_missing state/pkgdir/p/app-misc/solo/solo-1-2.gpkg.tar &&
	ls state/incoming >inc && test_must_fail test -s inc &&
	binfarm cancel --profile p
'

# The helper lives in the source tree (distcheck builds elsewhere).
cat >hostile.sh <<EOS
#!/bin/sh
"$TEST_DIRECTORY/helper/gpkg-tamper.py" "\$1" "\$1.t" image-dotdot && mv "\$1.t" "\$1"
EOS
chmod +x hostile.sh

test_expect_success 'an upload with a hostile tar member is rejected; the job fails, status says why' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	sed -i "s/-O1 -pipe/-Os -pipe/" prof/p/make.conf &&
	binfarm rebuild --profile p >/dev/null &&
	(BINFARM_WORKER_TAMPER=$PWD/hostile.sh && export BINFARM_WORKER_TAMPER && farm_worker evil) &&
	farm_wait_rebuild failed 60 &&
	test_expect_code 1 binfarm status >st &&
	test_grep "FAILED after 2 attempts: upload rejected: verification failed" st &&
	test_grep "upload from evil rejected: verification failed.*\.\." builder.log &&
	! ls state/pkgdir/p/app-misc/solo/ | grep -v "solo-1-1.gpkg.tar"
'

cat >wrongcpv.sh <<\EOS
#!/bin/sh
set -e
d=$(mktemp -d)
mkdir -p "$d/img/usr/bin" "$d/bi"
echo x >"$d/img/usr/bin/x"
printf 'app-misc\n' >"$d/bi/CATEGORY"
printf 'impostor-1\n' >"$d/bi/PF"
printf '0\n' >"$d/bi/SLOT"
printf 'x86_64-pc-linux-gnu\n' >"$d/bi/CHOST"
binfarm pack -i "$d/img" -b "$d/bi" -o "$1" --build-id 99 -q
rm -rf "$d"
EOS
chmod +x wrongcpv.sh

test_expect_success 'an upload of the wrong package is rejected' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	sed -i "s/-Os -pipe/-O0 -pipe/" prof/p/make.conf &&
	binfarm rebuild --profile p >/dev/null &&
	(BINFARM_WORKER_TAMPER=$PWD/wrongcpv.sh && export BINFARM_WORKER_TAMPER && farm_worker liar) &&
	farm_wait_rebuild failed 60 &&
	test_grep "package is app-misc/impostor-1, but job [0-9]* builds app-misc/solo-1" builder.log &&
	test_expect_code 1 binfarm status >st &&
	test_grep "upload rejected: package is app-misc/impostor-1" st
'

test_expect_success 'builder killed (-9) and restarted mid-plan: nothing lost, nothing built twice' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	printf "%s\n" app-misc/hello app-misc/solo >prof/p/world &&
	sed -i "s/-O0 -pipe/-O2 -g -pipe/" prof/p/make.conf &&
	binfarm rebuild --profile p >out &&
	test_grep "3 to build" out &&
	farm_worker w1 &&
	i=0 && until grep -q "libhello-1.0) done" builder.log; do
		i=$((i + 1)); test $i -lt 200 || break; sleep 0.05; done && test $i -lt 200 &&
	farm_kill &&
	sleep 1 &&
	farm_start &&
	farm_wait_rebuild complete 60 &&
	binfarm status >st &&
	test_grep "3/3 done" st &&
	r=$(binfarm status --json | python3 -c "import json,sys; print(json.load(sys.stdin)[\"profiles\"][0][\"rebuild\"][\"id\"])") &&
	sqlite3 state/builder.db "SELECT count(*) FROM jobs WHERE rebuild=$r AND state=\"done\"" >n &&
	echo 3 >expect && test_cmp expect n &&
	test $(grep -c "dev-libs/libhello-1.0) leased" builder.log) -eq \
		$(grep -c "dev-libs/libhello-1.0) done" builder.log) &&
	test_grep "^PACKAGES: 3" state/repo/channels/testing/p/Packages
'

test_expect_success 'builder killed while publishing: the restart publishes, nothing lost' '
	farm_stop &&
	r=$(sqlite3 state/builder.db "SELECT max(id) FROM rebuilds") &&
	old=$(readlink state/repo/channels/testing/p) &&
	# As a kill -9 after the pool writes and before the records: the
	# rebuild is still publishing and the builder forgot what it added.
	sqlite3 state/builder.db "UPDATE rebuilds SET state=\"publishing\", snapshot=NULL WHERE id=$r; DELETE FROM published" &&
	farm_start &&
	test_when_finished "farm_stop" &&
	farm_wait_rebuild complete 60 &&
	new=$(readlink state/repo/channels/testing/p) &&
	test "$old" != "$new" &&
	test_grep "^PACKAGES: 3" state/repo/channels/testing/p/Packages &&
	binfarm -R state/repo fsck &&
	binfarm -R state/repo snapshot --profile p diff "${old##*/}" "${new##*/}" >diff &&
	test_grep "3 rebuilt" diff &&
	test_grep "rebuild $r complete: testing -> snapshot ${new##*/}" builder.log
'

test_done
