#!/bin/sh
test_description='binfarm-binhost.conf: a key given twice is refused, naming both lines'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

test_expect_success 'setup' '
	make_repo repo &&
	make_repo other
'

test_expect_success 'a second root is refused, naming both lines; nothing is served' '
	printf "root = repo\nlisten = 127.0.0.1:0\n\n[binhost]\nroot = other\n" >twice.conf &&
	test_expect_code 1 binfarm-binhost -t -f twice.conf 2>err &&
	test_grep "twice.conf:5: .root. is set twice: at twice.conf:1 and at twice.conf:5" err &&
	! grep -q "configuration OK" err &&
	test_expect_code 1 binfarm-binhost -d -u root -f twice.conf --port-file "$PWD/port" 2>err &&
	test_grep "twice.conf:5: .root. is set twice" err &&
	test_path_is_missing port
'

test_expect_success 'any key: listen, user, a number, in the same section' '
	for k in "listen = :1" "user = root" "threads = 2" "connection-timeout = 5" "access-log = stderr"; do
		printf "root = repo\n%s\n# comment\n%s\n" "$k" "$k" >k.conf &&
		test_expect_code 1 binfarm-binhost -t -f k.conf 2>err &&
		test_grep "k.conf:4: .${k%% =*}. is set twice: at k.conf:2 and at k.conf:4" err || return 1
	done
'

test_expect_success 'each key once is fine, and a flag still overrides the file' '
	printf "root = other\nlisten = 127.0.0.1:0\nthreads = 2\n" >once.conf &&
	binfarm-binhost -t -u root -f once.conf 2>err &&
	test_grep "configuration OK" err &&
	binfarm-binhost -t -u root -f once.conf --root repo --threads 1 2>err &&
	test_grep "configuration OK" err
'

test_done
