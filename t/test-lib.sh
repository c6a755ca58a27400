# binfarm test library, after git's t/test-lib.sh.  Source it from a
# tNNNN-*.sh script after setting test_description.  Output is TAP.
#
#   test_expect_success 'title' 'commands'
#   test_expect_failure 'title' 'commands'   (a known bug: "not ok # TODO")
#   test_when_finished 'cleanup'             (inside a test)
#   test_must_fail cmd...                    (exit 1..125, not a crash)
#   test_cmp expected actual
#   test_done
#
# Each script runs in its own empty "trash" directory, with the built
# programs first in PATH.  Options (see t/README), also taken from
# $BF_TEST_OPTS:
#
#   -v, --verbose        show each test's commands and their output
#                        (as BF_TEST_VERBOSE=1 does)
#   -i, --immediate      stop at the first failing test; its trash stays
#   -r LIST, --run=LIST  run only the tests LIST selects, e.g. 1-3,7,
#                        4-, -2, !5, or a word of a test's title

: "${BF_SRC_DIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${BF_BUILD_DIR:=$BF_SRC_DIR}"
TEST_DIRECTORY=$BF_SRC_DIR/t
TEST_NAME=$(basename "$0" .sh)
TRASH_DIRECTORY=$BF_BUILD_DIR/t/trash.$TEST_NAME
# gpg-agent listens on sockets in a GnuPG home, and a socket path holds
# at most 107 bytes.  Tests, binfarm-node and Portage make homes a few
# levels below the trash (node/etc/portage/gnupg), so a build deep in
# the file system (a CI checkout, make distcheck's _build/sub) keeps its
# trashes in a short directory of its own, each reached by a symbolic link
# of the usual name, t/trash.NAME.
TRASH_LINK=
if test ${#TRASH_DIRECTORY} -gt 50; then
	TRASH_LINK=$TRASH_DIRECTORY
	test_tmp_=${TMPDIR:-/tmp}
	test ${#test_tmp_} -le 16 || test_tmp_=/tmp
	TRASH_DIRECTORY=$test_tmp_/bf-$(printf %s "$BF_BUILD_DIR" | cksum | cut -d' ' -f1)/trash.$TEST_NAME
fi
REFERENCE_DIR=${BF_REFERENCE_DIR:-$BF_SRC_DIR/../shared/reference/portage}
PATH=$BF_BUILD_DIR:$BF_BUILD_DIR/t/helper:$PATH
LC_ALL=C
TZ=UTC
export PATH LC_ALL TZ TEST_DIRECTORY TRASH_DIRECTORY REFERENCE_DIR
unset BINFARM_REPO SOURCE_DATE_EPOCH
# Signing keys go to a GnuPG home of the test's own, never /var/lib or ~.
BINFARM_GNUPG_HOME=$TRASH_DIRECTORY/gnupg
export BINFARM_GNUPG_HOME

# A --run list: comma-separated numbers (5), ranges (2-4, -3, 6-) and
# words of a title, each maybe negated with "!".  Checked up front.
test_check_run_() {
	test_ifs_=$IFS
	IFS=,
	for sel in $1; do
		sel=${sel#!}
		case $sel in
		*-*)
			case "${sel%%-*}${sel#*-}" in
			''|*[!0-9]*)
				IFS=$test_ifs_
				echo >&2 "error: --run: '$sel' is not a range of test numbers"
				exit 1 ;;
			esac ;;
		esac
	done
	IFS=$test_ifs_
}

test_parse_args_() {
	while test $# -gt 0; do
		case $1 in
		-v|--verbose)
			BF_TEST_VERBOSE=1 ;;
		-i|--immediate)
			test_immediate=t ;;
		-r)
			test $# -gt 1 || { echo >&2 "error: -r needs a list of tests"; exit 1; }
			shift
			test_run_list=$1 ;;
		--run=*)
			test_run_list=${1#--run=} ;;
		*)
			echo >&2 "error: unknown test option '$1' (known: -v, --verbose, -i, --immediate, -r LIST, --run=LIST)"
			exit 1 ;;
		esac
		shift
	done
	test_check_run_ "$test_run_list"
}

test_immediate=
test_run_list=
# shellcheck disable=SC2086
test_parse_args_ ${BF_TEST_OPTS-} "$@"

# test_selected_ N 'title': does --run take test N?  The list is read
# left to right, each item that matches including (or with "!",
# excluding) the test; a list that starts with "!" starts from all tests.
test_selected_() {
	test -z "$test_run_list" && return 0
	sel_in=
	case $test_run_list in '!'*) sel_in=t ;; esac
	test_ifs_=$IFS
	IFS=,
	for sel in $test_run_list; do
		sel_pos=t
		case $sel in '!'*) sel_pos='' sel=${sel#!} ;; esac
		case $sel in
		'')	;;
		-*)	test "$1" -le "${sel#-}" && sel_in=$sel_pos ;;
		*-)	test "$1" -ge "${sel%-}" && sel_in=$sel_pos ;;
		*-*)	test "${sel%%-*}" -le "$1" && test "$1" -le "${sel#*-}" &&
			sel_in=$sel_pos ;;
		*[!0-9]*)
			case $2 in *"$sel"*) sel_in=$sel_pos ;; esac ;;
		*)	test "$1" -eq "$sel" && sel_in=$sel_pos ;;
		esac
	done
	IFS=$test_ifs_
	test -n "$sel_in"
}

test_count=0
test_failed=0
test_fixed=0
test_broken=0
test_skipped=0
test_cleanup=

test_trash_remove_() {
	rm -rf "$TRASH_DIRECTORY" || return 1
	test -z "$TRASH_LINK" || rm -rf "$TRASH_LINK"
	return 0
}
test_trash_remove_ || exit 1
if test -n "$TRASH_LINK"; then
	test_tmp_=${TRASH_DIRECTORY%/*}
	mkdir -m 755 "$test_tmp_" 2>/dev/null
	test -d "$test_tmp_" && ! test -L "$test_tmp_" && test -O "$test_tmp_" || {
		echo "Bail out! '$test_tmp_' is not a directory of this user's" >&2
		exit 1
	}
	ln -s "$TRASH_DIRECTORY" "$TRASH_LINK" || exit 1
fi
mkdir -p "$TRASH_DIRECTORY" || exit 1
cd "$TRASH_DIRECTORY" || exit 1

if test -n "$BF_TEST_VERBOSE"; then
	exec 4>&2 3>&2
else
	exec 4>"$TRASH_DIRECTORY/.test-output" 3>&4
fi

say() {
	printf '%s\n' "$*"
}

test_when_finished() {
	test_cleanup="{ $*
		} && (exit \"\$eval_ret\"); eval_ret=\$?; $test_cleanup"
}

test_run_() {
	test_cleanup=:
	eval >&3 2>&4 "$1"
	eval_ret=$?
	eval >&3 2>&4 "$test_cleanup"
	return $eval_ret
}

test_skip_() {
	# test_skip_ 'title' prereq...: skips (and counts) a test that
	# --run leaves out or whose prerequisites are missing.
	title=$1
	shift
	skip_why=
	test_selected_ $((test_count + 1)) "$title" || skip_why=--run
	for p in "$@"; do
		test -z "$skip_why" || break
		case " $test_prereqs " in
		*" $p "*) ;;
		*) skip_why="missing $p" ;;
		esac
	done
	test -z "$skip_why" && return 1
	test_count=$((test_count + 1))
	test_skipped=$((test_skipped + 1))
	say "ok $test_count # skip $title ($skip_why)"
	return 0
}

test_prereqs=
test_set_prereq() {
	test_prereqs="$test_prereqs $1"
}

# test_expect_success [PREREQ,...] 'title' 'commands'
test_expect_success() {
	prereq=
	if test $# = 3; then prereq=$(echo "$1" | tr , ' '); shift; fi
	# shellcheck disable=SC2086
	test_skip_ "$1" $prereq && return 0
	test_count=$((test_count + 1))
	say >&3 "expecting success of $test_count '$1': $2"
	if (test_run_ "$2"); then
		say "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		say "not ok $test_count - $1"
		printf '%s\n' "$2" | sed 's/^/#	/'
		if test -z "$BF_TEST_VERBOSE" && test -f "$TRASH_DIRECTORY/.test-output"; then
			tail -n 20 "$TRASH_DIRECTORY/.test-output" | sed 's/^/# | /'
		fi
		test -z "$test_immediate" || test_stop_
	fi
}

# --immediate: the first failure ends the script; its trash stays.
test_stop_() {
	test_agent_stop_
	say "# stopped at the first failure (--immediate); trash: $TRASH_DIRECTORY"
	say "1..$test_count"
	exit 1
}

test_expect_failure() {
	prereq=
	if test $# = 3; then prereq=$(echo "$1" | tr , ' '); shift; fi
	# shellcheck disable=SC2086
	test_skip_ "$1" $prereq && return 0
	test_count=$((test_count + 1))
	if (test_run_ "$2"); then
		test_fixed=$((test_fixed + 1))
		say "ok $test_count - $1 # TODO known breakage vanished"
	else
		test_broken=$((test_broken + 1))
		say "not ok $test_count - $1 # TODO known breakage"
	fi
}

test_must_fail() {
	"$@" 2>&7
	exit_code=$?
	if test $exit_code = 0; then
		echo >&4 "test_must_fail: command succeeded: $*"
		return 1
	elif test $exit_code -gt 129 && test $exit_code -le 192; then
		echo >&4 "test_must_fail: died by signal $((exit_code - 128)): $*"
		return 1
	elif test $exit_code = 127; then
		echo >&4 "test_must_fail: command not found: $*"
		return 1
	fi
	return 0
} 7>&2 2>&4

# test_expect_code N cmd...
test_expect_code() {
	want=$1
	shift
	"$@" 2>&7
	got=$?
	if test "$got" = "$want"; then
		return 0
	fi
	echo >&4 "test_expect_code: command exited with $got, we wanted $want: $*"
	return 1
} 7>&2 2>&4

test_cmp() {
	diff -u "$@"
}

test_must_be_empty() {
	if test -s "$1"; then
		echo >&4 "'$1' is not empty:"
		sed 's/^/| /' "$1" >&4
		return 1
	fi
}

test_grep() {
	if grep "$@"; then
		return 0
	fi
	echo >&4 "test_grep: no match for: $*"
	eval "last=\${$#}"
	test -f "$last" && sed 's/^/| /' "$last" >&4
	return 1
}

test_path_is_file() {
	test -f "$1" || { echo >&4 "file $1 does not exist"; return 1; }
}

test_path_is_missing() {
	test ! -e "$1" || { echo >&4 "path $1 exists"; return 1; }
}

test_agent_stop_() {
	test -d "$BINFARM_GNUPG_HOME" &&
		gpgconf --homedir "$BINFARM_GNUPG_HOME" --kill gpg-agent >/dev/null 2>&1
}

test_done() {
	test_agent_stop_
	if test -n "$test_skip_all"; then
		say "1..0 # SKIP $test_skip_all"
		cd "$BF_BUILD_DIR" && test_trash_remove_
		exit 0
	fi
	say "# passed $((test_count - test_failed - test_broken - test_skipped)), failed $test_failed, known broken $test_broken, skipped $test_skipped"
	say "1..$test_count"
	if test "$test_failed" = 0; then
		cd "$BF_BUILD_DIR" && test_trash_remove_
		exit 0
	fi
	exit 1
}

skip_all() {
	test_skip_all=$1
	test_done
}

command -v zstd >/dev/null 2>&1 && test_set_prereq ZSTD
test -d "$REFERENCE_DIR" && test_set_prereq REFERENCE
test "$(id -u)" = 0 && test_set_prereq ROOT
command -v python3 >/dev/null 2>&1 && test_set_prereq PYTHON
# setfattr on a filesystem that takes security.* and user.* attributes
if command -v setfattr >/dev/null 2>&1 && : >"$TRASH_DIRECTORY/.xattr" &&
   setfattr -n user.pax.flags -v em "$TRASH_DIRECTORY/.xattr" 2>/dev/null &&
   setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= "$TRASH_DIRECTORY/.xattr" 2>/dev/null; then
	test_set_prereq SETFATTR
fi
rm -f "$TRASH_DIRECTORY/.xattr"
