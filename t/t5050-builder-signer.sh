#!/bin/sh
test_description='binfarm-builder: the signing key stays with a signing process; -u USER drops the rest'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

command -v gpg >/dev/null 2>&1 || skip_all 'gpg is not installed'

# uid_of PID: the real, effective, saved and file-system uids
uid_of() {
	sed -n 's/^Uid:[[:space:]]*//p' "/proc/$1/status" | tr -s '\t ' ' '
}

# signer_of PID: the builder's child that signs
signer_of() {
	pgrep -P "$1" | head -n 1
}

start_builder() {
	rm -f state/builder.url
	binfarm-builder -d -s state "$@" >>builder.log 2>&1 &
	echo $! >builder.pid
	_i=0
	while ! test -s state/builder.url; do
		_i=$((_i + 1))
		kill -0 "$(cat builder.pid)" 2>/dev/null || { cat builder.log >&4; return 1; }
		test $_i -gt 100 && { cat builder.log >&4; return 1; }
		sleep 0.1
	done
	BINFARM_BUILDER_STATE=$PWD/state
	export BINFARM_BUILDER_STATE
}

test_expect_success 'setup: tree, profile, a signed repository' '
	farm_tree gentoo &&
	farm_profile prof/p app-misc/solo &&
	farm_init &&
	grep "^signing-key = " state/repo/binfarm-repo.conf &&
	test "$(stat -c %a "$BINFARM_GNUPG_HOME")" = 700
'

test_expect_success 'the signing process holds the key; the builder never opens the home' '
	start_builder &&
	test_when_finished "farm_stop" &&
	pid=$(cat builder.pid) &&
	test_grep "signing process [0-9]* holds key" builder.log &&
	s=$(signer_of "$pid") && test -n "$s" &&
	! ls -l "/proc/$pid/fd" | grep -F "$BINFARM_GNUPG_HOME"
'

test_expect_success ROOT 'as root without -u, the builder says the separation is a process boundary only' '
	test_grep "running as root without -u USER" builder.log
'

test_expect_success ROOT 'setup: the state belongs to nobody; the GnuPG home stays root'\''s' '
	chown -R nobody:nogroup state &&
	# the TLS key stays root'\''s too: read before the builder drops
	chown root:root state/tls/server.key &&
	chmod 600 state/tls/server.key &&
	# the fixture tree is root'\''s; the builder, as nobody, fetches it
	mkdir -p xdg/git &&
	printf "[safe]\n\tdirectory = %s\n" "$PWD/gentoo" >xdg/git/config &&
	test "$(stat -c %U "$BINFARM_GNUPG_HOME")" = root &&
	ls "$BINFARM_GNUPG_HOME"/private-keys-v1.d/*.key >keys &&
	test -s keys
'

test_expect_success ROOT 'started as root with -u nobody: publishes a signed snapshot that verifies' '
	: >builder.log &&
	XDG_CONFIG_HOME=$PWD/xdg start_builder -u nobody &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	pid=$(cat builder.pid) &&
	test_grep "serving as user nobody" builder.log &&
	test "$(uid_of "$pid")" = "65534 65534 65534 65534" &&
	s=$(signer_of "$pid") && test -n "$s" &&
	test "$(uid_of "$s")" = "0 0 0 0" &&
	binfarm rebuild --profile p >out &&
	farm_worker w1 &&
	farm_wait_rebuild complete 120 &&
	test -f state/repo/channels/testing/p/Packages &&
	test "$(stat -c %U state/repo/channels/testing/p/Packages)" = nobody &&
	binfarm verify --keyring state/repo/keys/binfarm.asc \
		state/repo/channels/testing/p/*/*/*.gpkg.tar >out &&
	test_grep "signatures good" out &&
	! ls -l "/proc/$pid/fd" | grep -F "$BINFARM_GNUPG_HOME" &&
	while read -r k; do
		test_must_fail setpriv --reuid=65534 --regid=65534 --clear-groups \
			cat "$k" >/dev/null 2>err &&
		test_grep "Permission denied" err || return 1
	done <keys
'

test_expect_success ROOT 'the signing process dies with the builder' '
	start_builder -u nobody &&
	pid=$(cat builder.pid) &&
	s=$(signer_of "$pid") && test -n "$s" &&
	farm_kill &&
	_i=0 &&
	while kill -0 "$s" 2>/dev/null; do
		_i=$((_i + 1)) &&
		test $_i -lt 50 || { echo >&4 "signer $s outlived the builder"; return 1; }
		sleep 0.1
	done
'

test_expect_success 'the builder stops, saying why, when the signing process dies' '
	: >builder.log &&
	start_builder &&
	pid=$(cat builder.pid) &&
	s=$(signer_of "$pid") && test -n "$s" &&
	kill -9 "$s" &&
	_i=0 &&
	while kill -0 "$pid" 2>/dev/null; do
		_i=$((_i + 1)) &&
		test $_i -lt 50 || { echo >&4 "builder $pid still runs"; return 1; }
		sleep 0.1
	done &&
	test_expect_code 1 wait "$pid" &&
	rm -f builder.pid &&
	test_grep "the signing process (pid $s) was killed by signal 9: nothing can be signed; stopping" builder.log
'

test_expect_success 'a GnuPG home inside the repository: the builder refuses to start, naming the fix' '
	mkdir -p state/repo/keys/gnupg &&
	test_when_finished "rm -rf state/repo/keys/gnupg" &&
	test_must_fail binfarm-builder -t -s state 2>err &&
	test_grep "refusing to sign: .*binfarm -R .*state/repo key migrate" err &&
	test_must_fail binfarm-builder -d -s state 2>err &&
	test_grep "key migrate" err
'

test_expect_success 'a bad -u USER is refused' '
	test_must_fail binfarm-builder -t -s state -u no-such-user-here 2>err &&
	test_grep "no user .no-such-user-here." err &&
	test_must_fail binfarm-builder -t -s state -u root 2>err &&
	test_grep "is root" err
'

test_done
