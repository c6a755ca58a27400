#!/bin/sh
test_description='PMS version comparison through bf-test-tool vercmp'
. "$(dirname "$0")/test-lib.sh"

test_expect_success 'vercmp orders versions as PMS 3.3 says' '
	cat >pairs <<-\EOT &&
	1.0 1.0.1 -1
	1.0_alpha 1.0_beta -1
	1.0_beta 1.0_pre -1
	1.0_pre 1.0_rc -1
	1.0_rc 1.0 -1
	1.0 1.0_p1 -1
	1.0-r1 1.0 1
	1.0-r0 1.0 0
	1.01 1.1 -1
	1.010 1.01 0
	1.0a 1.0 1
	12.2.5 12.2b 1
	EOT
	while read a b want; do
		got=$(bf-test-tool vercmp "$a" "$b") &&
		if test "$got" != "$want"
		then
			echo "vercmp $a $b: got $got, want $want"
			return 1
		fi || return 1
	done <pairs
'

test_expect_success 'vercmp refuses an invalid version' '
	test_must_fail bf-test-tool vercmp 1.0 1.0-foo 2>err &&
	test_grep "invalid version .1.0-foo." err
'

test_done
