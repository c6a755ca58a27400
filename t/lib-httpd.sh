# Helpers for tests that run binfarm-binhost.  Source after test-lib.sh.
#
#   start_binhost ARGS...   starts `binfarm-binhost -d` on 127.0.0.1 with
#                           an ephemeral port (--listen 127.0.0.1:0
#                           --port-file), waits for /healthz; the URL is
#                           then in binhost.url.  Pair it with
#                           test_when_finished stop_binhost.
#   stop_binhost            SIGTERM, and waits for it to exit
#   bh_url                  prints the base URL
#   http_code PATH [curl args]   prints the status code of a GET
#   make_repo ROOT          an empty repository layout
#   make_snapshot ROOT PROFILE ID TIMESTAMP CPV...
#                           a snapshot with real packages (binfarm pack)
#                           and a hand-written Packages
#   set_channel ROOT CHANNEL PROFILE ID   the atomic channel move
#   wait_grep PATTERN FILE  waits (10 s at most) until FILE has a line
#                           matching PATTERN: the access log is written
#                           when a response is complete, after the client
#                           may already have it
#   wait_size FILE          waits (10 s at most) until FILE is not empty
#
# Server state lives in files (binhost.pid, binhost.port) because each
# test runs in a subshell.  Servers left running when the script exits
# are stopped by an EXIT trap.

command -v curl >/dev/null 2>&1 && test_set_prereq CURL
command -v openssl >/dev/null 2>&1 && test_set_prereq OPENSSL

BINHOST_PIDS="$BF_BUILD_DIR/t/.binhost-pids.$TEST_NAME"
: >"$BINHOST_PIDS"
binhost_cleanup_() {
	while read -r p; do
		kill "$p" 2>/dev/null
	done <"$BINHOST_PIDS"
	rm -f "$BINHOST_PIDS"
}
trap binhost_cleanup_ EXIT

# As root, binfarm-binhost wants a user to switch to; tests that name
# none (no -u, no config file with a user line) keep root on purpose.
bh_as_root_() {
	test "$(id -u)" = 0 || return 1
	_prev=
	for _a in "$@"; do
		case $_a in
		-u|--user|--user=*) return 1 ;;
		esac
		case $_prev in
		-f|--config) grep -q "^[[:space:]]*user[[:space:]]*=" "$_a" && return 1 ;;
		esac
		_prev=$_a
	done
	return 0
}

start_binhost() {
	rm -f binhost.port binhost.pid
	_root=
	bh_as_root_ "$@" && _root="-u root"
	binfarm-binhost -d --listen 127.0.0.1:0 --port-file "$PWD/binhost.port" \
		$_root "$@" 2>>binhost.err &
	echo $! >binhost.pid
	echo $! >>"$BINHOST_PIDS"
	n=0
	while ! test -s binhost.port; do
		if ! kill -0 "$(cat binhost.pid)" 2>/dev/null; then
			echo >&4 "binfarm-binhost exited:"
			cat >&4 binhost.err
			return 1
		fi
		n=$((n + 1))
		if test $n -gt 200; then
			echo >&4 "binfarm-binhost did not start"
			return 1
		fi
		sleep 0.05
	done
	echo "${BINHOST_SCHEME:-http}://127.0.0.1:$(cat binhost.port)" >binhost.url
	n=0
	until curl -ksf -o /dev/null "$(bh_url)/healthz"; do
		n=$((n + 1))
		test $n -gt 100 && return 1
		sleep 0.05
	done
	return 0
}

stop_binhost() {
	test -f binhost.pid || return 0
	pid=$(cat binhost.pid)
	kill "$pid" 2>/dev/null
	n=0
	while kill -0 "$pid" 2>/dev/null; do
		n=$((n + 1))
		if test $n -gt 300; then
			kill -9 "$pid" 2>/dev/null
			break
		fi
		sleep 0.05
	done
	rm -f binhost.pid binhost.port binhost.url
	return 0
}

bh_url() {
	cat binhost.url
}

# http_code PATH [curl args...]: the status code only.
http_code() {
	p=$1
	shift
	curl -ks -o /dev/null -w '%{http_code}' "$@" "$(bh_url)$p"
}

# hdr NAME FILE: the value of header NAME in a curl -D dump.
hdr() {
	tr -d '\r' <"$2" | sed -n "s/^$1: //Ip" | tail -n 1
}

make_repo() {
	mkdir -p "$1/pool" "$1/snapshots" "$1/channels" "$1/keys"
}

# make_snapshot ROOT PROFILE ID TIMESTAMP CAT/PF...
make_snapshot() {
	root=$1 prof=$2 id=$3 ts=$4
	shift 4
	dir=$root/snapshots/$prof/$id
	mkdir -p "$dir" &&
	{
		printf 'ARCH: amd64\nCHOST: x86_64-pc-linux-gnu\nPACKAGES: %s\nTIMESTAMP: %s\nVERSION: 0\n\n' "$#" "$ts"
		for cpf in "$@"; do
			cat=${cpf%%/*} pf=${cpf#*/}
			pn=$(echo "$pf" | sed 's/-[0-9].*//')
			path=$cat/$pn/$pf-1.gpkg.tar
			pool=$root/pool/$prof/$path
			if ! test -f "$pool"; then
				mkdir -p "$(dirname "$pool")" &&
				make_pkg "$pool" "$cat" "$pf" 1 >/dev/null || return 1
			fi
			mkdir -p "$dir/$cat/$pn" &&
			ln -f "$pool" "$dir/$path" || return 1
			printf 'BUILD_ID: 1\nBUILD_TIME: 1700000000\nCPV: %s\nMD5: %s\nPATH: %s\nSHA1: %s\nSIZE: %s\nMTIME: 1700000000\n\n' \
				"$cpf" "$(md5sum <"$pool" | cut -d" " -f1)" "$path" \
				"$(sha1sum <"$pool" | cut -d" " -f1)" "$(wc -c <"$pool")"
		done
	} >"$dir/Packages" &&
	touch -d "@$ts" "$dir/Packages"
}

# set_channel ROOT CHANNEL PROFILE ID: symlink + rename, then the
# channel generation incremented, as promote does.
set_channel() {
	mkdir -p "$1/channels/$2" &&
	ln -sfn "../../snapshots/$3/$4" "$1/channels/$2/.$3.new" &&
	mv -T "$1/channels/$2/.$3.new" "$1/channels/$2/$3" &&
	bf-test-tool chgen-bump "$1"
}

# raw_http REQUEST: sends a raw request (with \r\n, \x00 escapes) to the
# running server and prints the response.
raw_http() {
	python3 "$TEST_DIRECTORY/helper/raw-http.py" "$(cat binhost.port)" "$1"
}

# http_date EPOCH: IMF-fixdate, as Portage's If-Modified-Since.
http_date() {
	LC_ALL=C date -u -d "@$1" "+%a, %d %b %Y %H:%M:%S GMT"
}

wait_grep() {
	_n=0
	until grep -q -e "$1" "$2" 2>/dev/null; do
		_n=$((_n + 1))
		test $_n -gt 200 && { echo >&4 "wait_grep: no '$1' in $2"; return 1; }
		sleep 0.05
	done
}

wait_size() {
	_n=0
	until test -s "$1"; do
		_n=$((_n + 1))
		test $_n -gt 200 && { echo >&4 "wait_size: $1 stays empty"; return 1; }
		sleep 0.05
	done
}
