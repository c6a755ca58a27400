#!/bin/sh
test_description='the test library and the binfarm command itself'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'binfarm runs and prints its version' '
	binfarm --version >out &&
	test_grep "^binfarm [0-9]" out
'

test_expect_success 'binfarm --help lists the commands' '
	binfarm --help >out &&
	test_grep "^   pack " out &&
	test_grep "^   verify " out &&
	test_grep "^   plan " out
'

test_expect_success 'every command has --help and a manual page' '
	binfarm --help | awk "/^   [a-z]/ { print \$1 }" >cmds &&
	test $(wc -l <cmds) -ge 20 &&
	while read -r c; do
		binfarm $c --help >out 2>err || { echo >&4 "$c --help failed"; return 1; }
		head -n 1 out | grep -q "^usage: binfarm $c" ||
			{ echo >&4 "$c --help: no usage line first"; return 1; }
		test_must_be_empty err &&
		{ test -f "$TEST_DIRECTORY/../man/binfarm-$c.1" ||
		  grep -q ":binfarm-$c.1" "$TEST_DIRECTORY/../man/local.mk"; } ||
			{ echo >&4 "no manual page binfarm-$c.1"; return 1; }
	done <cmds
'

test_expect_success 'an unknown command is a usage error' '
	test_expect_code 2 binfarm no-such-command 2>err &&
	test_grep "not a binfarm command" err
'

test_expect_success 'test_must_fail catches failures, not success' '
	test_must_fail false &&
	! test_must_fail true
'

# run_sub_test NAME OPTION...: runs a small test script of four tests
# (the third fails) with the options, its own trash under sub/, its
# TAP in NAME.out, its stderr in NAME.err, its exit code in NAME.rc.
run_sub_test() {
	name=$1 &&
	shift &&
	mkdir -p sub/t &&
	# a deep build tree keeps trashes in /tmp, behind links (test-lib.sh)
	test_when_finished "
		for l in sub/t/trash.*; do
			if test -L \"\$l\"; then rm -rf \"\$(readlink \"\$l\")\"; fi
		done" &&
	cat >"sub/$name.sh" <<-\EOF &&
	test_description="a test of the test library"
	. "$BF_SRC_DIR/t/test-lib.sh"
	test_expect_success "first" "true"
	test_expect_success "second passes" "echo out-two"
	test_expect_success "third fails" "echo out-three; false"
	test_expect_success "fourth" "true"
	test_done
	EOF
	(
		unset BF_TEST_VERBOSE BF_TEST_OPTS &&
		BF_SRC_DIR=$BF_SRC_DIR BF_BUILD_DIR=$PWD/sub &&
		export BF_SRC_DIR BF_BUILD_DIR &&
		sh "sub/$name.sh" "$@" >"$name.out" 2>"$name.err"
		echo $? >"$name.rc"
	)
}

test_expect_success 'without options every test runs' '
	run_sub_test all &&
	test_grep "^ok 2 - second passes" all.out &&
	test_grep "^not ok 3 - third fails" all.out &&
	test_grep "^ok 4 - fourth" all.out &&
	echo 1 >expect &&
	test_cmp expect all.rc
'

test_expect_success '--run=1,3-4 skips the others, in TAP' '
	run_sub_test run --run=1,3-4 &&
	test_grep "^ok 1 - first" run.out &&
	test_grep "^ok 2 # skip second passes (--run)" run.out &&
	test_grep "^not ok 3 - third fails" run.out &&
	test_grep "^ok 4 - fourth" run.out &&
	test_grep "^1\.\.4" run.out
'

test_expect_success '--run with "!", open ranges, -r and words of a title' '
	run_sub_test neg "--run=!3" &&
	test_grep "^ok 3 # skip third fails (--run)" neg.out &&
	test_grep "^ok 4 - fourth" neg.out &&
	echo 0 >expect &&
	test_cmp expect neg.rc &&
	run_sub_test open --run=-2,4- &&
	test_grep "^ok 2 - second passes" open.out &&
	test_grep "^ok 3 # skip" open.out &&
	test_grep "^ok 4 - fourth" open.out &&
	run_sub_test word -r fourth &&
	test_grep "^ok 1 # skip first (--run)" word.out &&
	test_grep "^ok 4 - fourth" word.out &&
	test_cmp expect word.rc
'

test_expect_success '--immediate stops at the first failure and keeps its trash' '
	run_sub_test imm --immediate &&
	test_grep "^not ok 3 - third fails" imm.out &&
	! grep "^ok 4" imm.out &&
	test_grep "^1\.\.3$" imm.out &&
	test_grep "stopped at the first failure" imm.out &&
	echo 1 >expect &&
	test_cmp expect imm.rc &&
	test -d sub/t/trash.imm &&
	run_sub_test imm2 -i &&
	! grep "^ok 4" imm2.out
'

test_expect_success '--verbose shows the commands and their output' '
	run_sub_test verb --verbose --run=2 &&
	test_grep "expecting success of 2 .second passes.: echo out-two" verb.err &&
	test_grep "^out-two" verb.err &&
	run_sub_test quiet --run=2 &&
	! grep out-two quiet.err &&
	run_sub_test v -v --run=2 &&
	test_grep "^out-two" v.err
'

test_expect_success 'BF_TEST_OPTS and BF_TEST_VERBOSE work too' '
	BF_TEST_OPTS=--run=2 BF_TEST_VERBOSE=1 &&
	export BF_TEST_OPTS BF_TEST_VERBOSE &&
	mkdir -p sub/t &&
	cp sub/all.sh sub/env.sh &&
	(
		BF_SRC_DIR=$BF_SRC_DIR BF_BUILD_DIR=$PWD/sub &&
		export BF_SRC_DIR BF_BUILD_DIR &&
		sh sub/env.sh >env.out 2>env.err
	) &&
	test_grep "^ok 1 # skip first (--run)" env.out &&
	test_grep "^out-two" env.err
'

test_expect_success 'a bad --run list or an unknown option is an error' '
	run_sub_test bad --run=1-x &&
	test_grep "error: --run: .1-x. is not a range of test numbers" bad.err &&
	test_must_be_empty bad.out &&
	echo 1 >expect &&
	test_cmp expect bad.rc &&
	run_sub_test unknown --frobnicate &&
	test_grep "error: unknown test option .--frobnicate." unknown.err &&
	test_must_be_empty unknown.out &&
	test_cmp expect unknown.rc &&
	run_sub_test noarg -r &&
	test_grep "error: -r needs a list of tests" noarg.err
'

test_expect_success 'bf-test-tool digest matches sha1sum' '
	printf hello >f &&
	bf-test-tool digest SHA1 f >actual &&
	sha1sum f | cut -d" " -f1 >expect &&
	test_cmp expect actual
'

test_expect_success 'binfarm -R DIR names the repository for the command' '
	binfarm repo init --unsigned r 2>err &&
	binfarm -R r fsck >out &&
	test_must_fail binfarm -R nowhere fsck 2>err &&
	test_grep "nowhere" err &&
	BINFARM_REPO=nowhere binfarm -R r fsck >out
'

test_done
