#!/bin/sh
test_description='binfarm-worker: a base root or layer reached through a symbolic link is refused, at start and for each job'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

test_expect_success 'setup: tree, profile, builder; a base root and a link to it' '
	farm_tree gentoo &&
	farm_profile prof/p app-misc/solo &&
	farm_init &&
	mkdir -p roots/base other/base &&
	ln -s roots linked
'

test_expect_success 'at start: a link, "..", "//" or a file on the path is refused, naming the resolved path' '
	test_expect_code 2 binfarm-worker -s state --driver ebuild \
		--base-root "$PWD/linked/base" --workdir w 2>err &&
	test_grep "^binfarm-worker: --base-root $PWD/linked/base: build root layer .$PWD/linked/base.: a symbolic link (or .\.., .\.\.., .//.) on its path; it resolves to .$PWD/roots/base. now: give that$" err &&
	test_expect_code 2 binfarm-worker -s state --driver ebuild \
		--layer "p=$PWD/other/../roots/base" --workdir w 2>err &&
	test_grep "^binfarm-worker: --layer p=$PWD/other/../roots/base: .* it resolves to .$PWD/roots/base. now" err &&
	test_expect_code 2 binfarm-worker -s state --driver ebuild \
		--base-root "$PWD//roots/base" --workdir w 2>err &&
	test_grep "resolves to .$PWD/roots/base. now" err &&
	: >afile &&
	test_expect_code 2 binfarm-worker -s state --driver ebuild \
		--base-root "$PWD/afile" --workdir w 2>err &&
	test_grep "build root layer .$PWD/afile.: not a directory" err &&
	test_expect_code 2 binfarm-worker -s state --driver ebuild \
		--base-root "$PWD/nowhere" --workdir w 2>err &&
	test_grep "build root layer .$PWD/nowhere.: No such file" err &&
	! test -e w/roots
'

test_expect_success 'for each job: a link that appears on the path later fails the job, nothing is mounted' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	mkdir -p top/roots/base &&
	farm_worker w1 --driver ebuild --profiles "$PWD/prof" \
		--base-root "$PWD/top/roots/base" &&
	i=0 && until grep -qs "registered as w1" worker-w1.log
	do
		i=$((i + 1)) && test $i -lt 100 && sleep 0.1 || break
	done &&
	test_grep "registered as w1" worker-w1.log &&
	# the worker took the path at start; now top/roots is a link
	mv top/roots top/real &&
	ln -s real top/roots &&
	binfarm rebuild --profile p >out &&
	farm_wait_rebuild failed 120 &&
	test_expect_code 1 binfarm log --no-follow app-misc/solo-1 >log 2>&1 &&
	test_grep "build root layer .$PWD/top/roots/base.: a symbolic link .* it resolves to .$PWD/top/real/base. now: give that" log &&
	! grep "$PWD/w" /proc/self/mountinfo &&
	! test -e work-w1/roots/1/merged/proc/self
'

test_done
