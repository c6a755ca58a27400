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
