#!/bin/sh
test_description='ingest fidelity: CFLAGS, CXXFLAGS, LDFLAGS and REPO_REVISIONS of an upload against the plan'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

# The worker builds with the plan's flags; tamper.sh then rewrites the
# build-info of the package it packed, as a worker with another
# make.conf, or building from another tree, would have written it.
# tamper.conf holds the gpkg-tamper.py action of the current case.
cat >tamper.sh <<EOS
#!/bin/sh
set -e
pkg=\$1
. "$PWD/tamper.conf"
"$TEST_DIRECTORY/helper/gpkg-tamper.py" "\$pkg" "\$pkg.t" "\$@"
mv "\$pkg.t" "\$pkg"
EOS
chmod +x tamper.sh

# tamper KEY VALUE | tamper -d KEY: what the next uploads carry.
tamper() {
	if test "$1" = -d
	then
		printf 'set -- meta-drop %s\n' "$2" >tamper.conf
	else
		printf "set -- meta %s '%s'\n" "$1" "$2" >tamper.conf
	fi
}

# The builder, and a worker whose uploads tamper.sh rewrites.
farm_up() {
	farm_start &&
	(BINFARM_WORKER_TAMPER=$PWD/tamper.sh && export BINFARM_WORKER_TAMPER &&
	 farm_worker w1)
}

echo "int main(void) { return 0; }" >v3.c
cc -O2 -march=x86-64-v3 -c -o v3.o v3.c 2>/dev/null && test_set_prereq X86_64_V3

test_expect_success X86_64_V3 'setup: a profile for x86-64-v3' '
	farm_tree gentoo &&
	farm_profile prof/p app-misc/solo &&
	sed -i -e "s/^CFLAGS=.*/CFLAGS=\"-O2 -pipe -march=x86-64-v3\"/" \
		-e "s/^LDFLAGS=.*/LDFLAGS=\"-Wl,-O1 -Wl,--as-needed\"/" \
		prof/p/make.conf &&
	farm_init &&
	git -C gentoo rev-parse HEAD >pin
'

# refused PATTERN: a rebuild whose uploads all carry the tampered value;
# each attempt is refused with a message matching PATTERN (in the
# builder's log, the job's log and the status), the job fails after its
# two attempts, and nothing is stored: no package in the working set or
# the pool, nothing left in incoming/.
refused() {
	farm_up &&
	n=$(wc -l <builder.log) &&
	binfarm rebuild --profile p >/dev/null &&
	farm_wait_rebuild failed 60 &&
	tail -n +$((n + 1)) builder.log >log &&
	test $(grep -c "upload from w1 rejected: " log) -eq 2 &&
	test_expect_code 1 binfarm status >st &&
	test_grep "FAILED after 2 attempts: upload rejected: $1" st &&
	test_grep "upload from w1 rejected: $1" log &&
	test_expect_code 1 binfarm log --no-follow app-misc/solo >jlog &&
	test_grep "upload rejected: $1" jlog &&
	{ find state/pkgdir state/repo/pool -type f >stored 2>/dev/null || :; } &&
	test_must_be_empty stored &&
	ls state/incoming >inc && test_must_be_empty inc
}

test_expect_success X86_64_V3 'CFLAGS with another -march: refused, naming the key and both values' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	tamper CFLAGS "-O2 -pipe -march=x86-64" &&
	refused "CFLAGS is .-O2 -pipe -march=x86-64., the plan.s is .-O2 -pipe -march=x86-64-v3.: the machine flags are .-march=x86-64. where the plan has .-march=x86-64-v3."
'

test_expect_success X86_64_V3 'CFLAGS with -march replaced after the plan (a later -march wins): refused' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	tamper CFLAGS "-O2 -pipe -march=x86-64-v3 -march=native" &&
	refused "CFLAGS is .-O2 -pipe -march=x86-64-v3 -march=native.*where the plan has .-march=x86-64-v3."
'

test_expect_success X86_64_V3 'CFLAGS without the machine flags (no -march in the make.conf): refused' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	tamper CFLAGS "-O2 -pipe" &&
	refused "CFLAGS is .-O2 -pipe., the plan.s is .-O2 -pipe -march=x86-64-v3.: the machine flags are none where"
'

test_expect_success X86_64_V3 'CFLAGS missing (Portage writes none when empty): refused' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	tamper -d CFLAGS &&
	refused "CFLAGS is not set, the plan.s is .-O2 -pipe -march=x86-64-v3.: the machine flags are none"
'

test_expect_success X86_64_V3 'CXXFLAGS with an -mtune the plan has not: refused' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	tamper CXXFLAGS "-O2 -pipe -march=x86-64-v3 -mtune=znver4" &&
	refused "CXXFLAGS is .-O2 -pipe -march=x86-64-v3 -mtune=znver4., the plan.s is .-O2 -pipe -march=x86-64-v3.: the machine flags are .-march=x86-64-v3 -mtune=znver4."
'

test_expect_success X86_64_V3 'LDFLAGS of an LTO make.conf with another -march: refused' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	tamper LDFLAGS "-Wl,-O1 -Wl,--as-needed -flto -march=x86-64" &&
	refused "LDFLAGS is .-Wl,-O1 -Wl,--as-needed -flto -march=x86-64., the plan.s is .-Wl,-O1 -Wl,--as-needed.: the machine flags are .-march=x86-64. where the plan has none"
'

test_expect_success X86_64_V3 'REPO_REVISIONS with another commit: refused' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	tamper REPO_REVISIONS "{\"gentoo\": \"0123456789012345678901234567890123456789\"}" &&
	refused "REPO_REVISIONS is .{\"gentoo\": \"0123456789012345678901234567890123456789\"}., the rebuild pins gentoo=$(cat pin): gentoo is not at the pinned commit $(cat pin)"
'

test_expect_success X86_64_V3 'REPO_REVISIONS naming a repository the rebuild does not pin: refused' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	tamper REPO_REVISIONS "{\"gentoo\": \"$(cat pin)\", \"local\": \"0123456789012345678901234567890123456789\"}" &&
	refused "REPO_REVISIONS is .*, the rebuild pins gentoo=$(cat pin): repository .local. is not a tree of the rebuild"
'

test_expect_success X86_64_V3 'REPO_REVISIONS without the package.s repository ({}: no sync-type): refused' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	tamper REPO_REVISIONS "{}" &&
	refused "REPO_REVISIONS is .{}., the rebuild pins gentoo=$(cat pin): the package.s repository .gentoo. is not named"
'

test_expect_success X86_64_V3 'REPO_REVISIONS missing: refused' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	tamper -d REPO_REVISIONS &&
	refused "REPO_REVISIONS is missing: the package does not say which trees it was built from (the rebuild pins gentoo=$(cat pin))"
'

test_expect_success X86_64_V3 'REPO_REVISIONS not JSON: refused' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	tamper REPO_REVISIONS "gentoo=$(cat pin)" &&
	refused "REPO_REVISIONS is .gentoo=$(cat pin)., not a JSON object"
'

test_expect_success X86_64_V3 'repository other than the plan.s: refused' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	tamper repository local &&
	refused "repository is .local., the plan builds app-misc/solo-1 from .gentoo."
'

test_expect_success X86_64_V3 'flag-o-matic changes (-O2 filtered to -O1, flags appended) keep the machine flags: published' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	tamper CFLAGS "-O1 -pipe -march=x86-64-v3 -fno-strict-aliasing" &&
	farm_up &&
	binfarm rebuild --profile p >/dev/null &&
	farm_wait_rebuild complete 60 &&
	test_grep "^PACKAGES: 1" state/repo/channels/testing/p/Packages &&
	f=$(find state/repo/pool -name "solo-1*.gpkg.tar") &&
	binfarm inspect --key CFLAGS "$f" >out &&
	echo "-O1 -pipe -march=x86-64-v3 -fno-strict-aliasing" >expect &&
	test_cmp expect out &&
	binfarm inspect --key REPO_REVISIONS "$f" >out &&
	echo "{\"gentoo\": \"$(cat pin)\"}" >expect &&
	test_cmp expect out
'

test_expect_success X86_64_V3 'LDFLAGS changed by the ebuild (--as-needed filtered, -Wl,-z,lazy appended): published' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	sed -i "s/-O2 -pipe/-O2 -g -pipe/" prof/p/make.conf &&
	tamper LDFLAGS "-Wl,-O1 -Wl,-z,lazy" &&
	farm_up &&
	binfarm rebuild --profile p >/dev/null &&
	farm_wait_rebuild complete 60 &&
	f=$(ls -t state/pkgdir/p/app-misc/solo/*.gpkg.tar | head -n 1) &&
	binfarm inspect --key LDFLAGS "$f" >out &&
	echo "-Wl,-O1 -Wl,-z,lazy" >expect &&
	test_cmp expect out
'

test_expect_success X86_64_V3 'the noop driver writes what ingest checks: accepted' '
	test_when_finished "farm_stop_workers; farm_stop" &&
	sed -i "s/-O2 -g -pipe/-O3 -pipe/" prof/p/make.conf &&
	farm_start &&
	farm_worker w1 --driver noop &&
	binfarm rebuild --profile p >/dev/null &&
	farm_wait_rebuild complete 60 &&
	f=$(ls -t state/pkgdir/p/app-misc/solo/*.gpkg.tar | head -n 1) &&
	binfarm inspect --key REPO_REVISIONS "$f" >out &&
	echo "{\"gentoo\": \"$(cat pin)\"}" >expect &&
	test_cmp expect out &&
	binfarm inspect --key CXXFLAGS "$f" >out &&
	echo "-O3 -pipe -march=x86-64-v3" >expect &&
	test_cmp expect out &&
	binfarm inspect --key LDFLAGS "$f" >out &&
	echo "-Wl,-O1 -Wl,--as-needed" >expect &&
	test_cmp expect out
'

test_done
