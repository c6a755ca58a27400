#!/bin/sh
test_description='service files: OpenRC scripts and systemd units start the daemons as they should'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

I=$BF_BUILD_DIR/init
command -v systemd-analyze >/dev/null 2>&1 && test_set_prereq SYSTEMD_ANALYZE
command -v systemd-analyze >/dev/null 2>&1 ||
	echo "# systemd-analyze not found (Debian: apt-get install systemd): the units are not verified by it"
# openrc-run has no checking mode: the scripts are checked with sh -n and
# by running the command line they give supervise-daemon.

# unit NAME: the built unit, its programs taken from the build directory.
unit() {
	sed -E "/^Exec/s#=([-@:+!]*)[^ =]*/(binfarm-[a-z]+) #=\\1$BF_BUILD_DIR/\\2 #" \
		"$I/systemd/$1.service" >"$1.service"
}

# openrc NAME CONFD: the command line the OpenRC script runs, one word a
# line, with CONFD as its conf.d file (OpenRC sources conf.d, then the
# script, and evaluates command_args).
openrc() {
	(
		RC_SVCNAME=$1
		case $2 in /*) c=$2 ;; *) c=./$2 ;; esac
		. "$c" && . "$I/init.d/$1" &&
		case $command in */"$1") ;; *) echo "command: $command" >&2; exit 1 ;; esac &&
		eval "set -- $command_args" &&
		printf "%s\n" "$BF_BUILD_DIR/$RC_SVCNAME" "$@"
	)
}

test_expect_success 'the built service files are there, with the install paths in' '
	for n in binfarm-binhost binfarm-builder binfarm-worker; do
		test -s "$I/init.d/$n" && test -s "$I/conf.d/$n" &&
		test -s "$I/systemd/$n.service" &&
		! grep "@[a-z]*@" "$I/init.d/$n" "$I/conf.d/$n" "$I/systemd/$n.service" ||
		return 1
	done
'

test_expect_success 'the OpenRC scripts and conf.d files are valid sh' '
	for n in binfarm-binhost binfarm-builder binfarm-worker; do
		head -n 1 "$I/init.d/$n" >shebang &&
		test_grep "^#!/sbin/openrc-run$" shebang &&
		sh -n "$I/init.d/$n" && sh -n "$I/conf.d/$n" || return 1
	done
'

test_expect_success SYSTEMD_ANALYZE 'systemd-analyze verify accepts the units' '
	unit binfarm-binhost && unit binfarm-builder && unit binfarm-worker &&
	systemd-analyze verify --man=no binfarm-binhost.service \
		binfarm-builder.service binfarm-worker.service >out 2>&1 &&
	cat out &&
	test_must_be_empty out
'

test_expect_success 'the builder runs as binfarm (-u), the worker as root, with their conf.d' '
	test_grep "^BUILDER_USER=\"binfarm\"$" "$I/conf.d/binfarm-builder" &&
	unit binfarm-builder &&
	python3 "$TEST_DIRECTORY/helper/unit-exec.py" binfarm-builder.service ExecStart \
		"$I/conf.d/binfarm-builder" --print >words &&
	test_grep "^-u$" words && test_grep "^binfarm$" words &&
	openrc binfarm-builder "$I/conf.d/binfarm-builder" >words &&
	test_grep "^-u$" words && test_grep "^binfarm$" words &&
	! grep "^User=" binfarm-builder.service &&
	unit binfarm-worker &&
	! grep "^User=" binfarm-worker.service &&
	! grep -- " -u " binfarm-worker.service "$I/init.d/binfarm-worker" &&
	test_grep "runs as root" "$I/conf.d/binfarm-worker"
'

test_expect_success 'the worker unit will not start without WORKER_OPTS, and says what to set' '
	unit binfarm-worker &&
	test_expect_code 1 python3 "$TEST_DIRECTORY/helper/unit-exec.py" binfarm-worker.service \
		ExecStartPre "$I/conf.d/binfarm-worker" 2>err &&
	test_grep "set WORKER_OPTS (--builder URL, credentials, --name, --tags)" err &&
	echo "WORKER_OPTS=\"--builder https://127.0.0.1:1 --name w1\"" >wenv &&
	test_expect_code 1 python3 "$TEST_DIRECTORY/helper/unit-exec.py" binfarm-worker.service \
		ExecStartPre wenv 2>err &&
	test_grep "set BINFARM_WORKER_TOKEN in" err &&
	echo "BINFARM_WORKER_TOKEN=\"0123456789abcdef0123\"" >>wenv &&
	python3 "$TEST_DIRECTORY/helper/unit-exec.py" binfarm-worker.service ExecStartPre wenv &&
	! grep -e "--token" binfarm-worker.service "$I/init.d/binfarm-worker"
'

test_expect_success 'setup: a repository and the settings a site would write' '
	make_repo repo &&
	mkdir -p repo/snapshots/amd64/s1 &&
	printf "VERSION: 0\nTIMESTAMP: 1700000000\n\n" >repo/snapshots/amd64/s1/Packages &&
	set_channel repo testing amd64 s1 &&
	chmod -R a+rX repo &&
	printf "root = %s\nlisten = 127.0.0.1:0\nport-file = %s\n" "$PWD/repo" "$PWD/port" >binhost.conf &&
	# the installed conf.d file with the site paths, and nobody for binfarm
	sed -e "s|^BINHOST_CONFIG=.*|BINHOST_CONFIG=\"$PWD/binhost.conf\"|" \
		-e "s|^BINHOST_USER=.*|BINHOST_USER=\"nobody\"|" \
		-e "s|^BINHOST_OPTS=.*|BINHOST_OPTS=\"--access-log $PWD/access.log\"|" \
		"$I/conf.d/binfarm-binhost" >confd &&
	unit binfarm-binhost
'

# serves_as PID USER: the daemon PID runs as USER and serves.
serves_as() {
	n=0 && while ! test -s port && test $n -lt 100; do sleep 0.05; n=$((n + 1)); done &&
	uid=$(id -u "$2") &&
	grep "^Uid:" /proc/$1/status >uid &&
	test_grep "^Uid:	$uid	$uid	$uid	$uid" uid &&
	curl -fsS -o got "http://127.0.0.1:$(cat port)/testing/amd64/Packages" &&
	cmp got repo/snapshots/amd64/s1/Packages
}

test_expect_success ROOT 'systemd: ExecStartPre and ExecStart as the unit runs them, as root: serves as the user' '
	python3 "$TEST_DIRECTORY/helper/unit-exec.py" binfarm-binhost.service ExecStartPre confd 2>err &&
	test_grep "configuration OK" err &&
	rm -f port &&
	python3 "$TEST_DIRECTORY/helper/unit-exec.py" binfarm-binhost.service ExecStart confd 2>err &
	pid=$! &&
	echo $pid >>"$BINHOST_PIDS" &&
	test_when_finished "kill $pid; wait $pid" &&
	serves_as $pid nobody
'

test_expect_success ROOT 'systemd: the same without -u is refused, clearly, and serves nothing' '
	rm -f port &&
	# bounded: a binhost that did start would be stopped after 10 s
	test_expect_code 1 timeout 10 python3 "$TEST_DIRECTORY/helper/unit-exec.py" \
		binfarm-binhost.service ExecStart confd --without-user 2>err &&
	test_grep "refusing to serve as root: name an unprivileged user" err &&
	test_path_is_missing port &&
	test_expect_code 1 python3 "$TEST_DIRECTORY/helper/unit-exec.py" binfarm-binhost.service \
		ExecStartPre confd --without-user 2>err &&
	test_grep "refusing to serve as root" err
'

test_expect_success ROOT 'OpenRC: the command line of the script, as root: serves as the user' '
	openrc binfarm-binhost confd >words &&
	test_grep "^-u$" words &&
	rm -f port &&
	ifs=$IFS && IFS="
" && set -- $(cat words) && IFS=$ifs &&
	"$@" 2>err &
	pid=$! &&
	echo $pid >>"$BINHOST_PIDS" &&
	test_when_finished "kill $pid; wait $pid" &&
	serves_as $pid nobody
'

test_done
