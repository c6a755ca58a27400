#!/bin/sh
test_description='binfarm-binhost: never a byte outside the repository'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

command -v curl >/dev/null 2>&1 || skip_all 'curl is not installed'

test_expect_success 'setup: a repository next to a secret, with hostile links' '
	echo "TOP SECRET" >secret &&
	mkdir -p outside/dir && echo "TOP SECRET" >outside/dir/Packages &&
	make_repo repo &&
	S=repo/snapshots/amd64/s1 &&
	mkdir -p $S/app-misc/foo &&
	printf "VERSION: 0\nTIMESTAMP: 1700000000\n\n" >$S/Packages &&
	echo pkg >$S/app-misc/foo/foo-1.0-1.gpkg.tar &&
	echo tmp >$S/.Packages.tmp-abc123 &&
	ln -s "$PWD/secret" $S/app-misc/foo/abs.gpkg.tar &&
	ln -s ../../../../../../secret $S/app-misc/foo/rel.gpkg.tar &&
	ln -s foo-1.0-1.gpkg.tar $S/app-misc/foo/inside.gpkg.tar &&
	ln -s "$PWD/outside/dir" $S/app-misc/escape &&
	mkfifo $S/app-misc/foo/fifo.gpkg.tar &&
	set_channel repo testing amd64 s1 &&
	mkdir -p repo/channels/evil &&
	ln -s "$PWD/outside" repo/channels/evil/abs &&
	ln -s ../../../outside/dir repo/channels/evil/rel &&
	ln -s ../../snapshots/arm64/s1 repo/channels/evil/amd64 &&
	ln -s ../../snapshots/amd64/../../../outside/dir repo/channels/evil/dotdot &&
	mkdir -p repo/snapshots/arm64/s1 && cp $S/Packages repo/snapshots/arm64/s1/ &&
	ln -s "$PWD/outside" repo/channels/linked &&
	mkdir repo/channels/real && mkdir repo/channels/real/amd64 &&
	cp $S/Packages repo/channels/real/amd64/ &&
	ln -s "$PWD/outside" repo/snapshots/evilprof &&
	ln -s "$PWD/secret" repo/keys/secret.asc &&
	mkdir -p repo/channels/absolute &&
	ln -s "$(cd repo && pwd -P)/snapshots/amd64/s1" repo/channels/absolute/amd64 &&
	start_binhost --root repo
'

# code_in PATH CODES...: the status is one of CODES and the body has no secret.
code_in() {
	p=$1
	shift
	code=$(curl -ks --path-as-is -o body -w "%{http_code}" "$(bh_url)$p") &&
	if grep -q "TOP SECRET" body; then
		echo >&4 "secret leaked by $p"
		return 1
	fi &&
	for c in "$@"; do
		test "$code" = "$c" && return 0
	done
	echo >&4 "$p: got $code, wanted $*"
	return 1
}

test_expect_success 'the good paths work (the fixture is sound)' '
	code_in /testing/amd64/Packages 200 &&
	code_in /testing/amd64/app-misc/foo/foo-1.0-1.gpkg.tar 200 &&
	code_in /absolute/amd64/Packages 200
'

test_expect_success 'dot-dot, plain and percent-encoded in any case' '
	code_in /testing/amd64/../../../secret 404 400 &&
	code_in /testing/amd64/../../../../../../../../etc/passwd 404 400 &&
	code_in /testing/amd64/%2e%2e/%2e%2e/%2e%2e/secret 404 400 &&
	code_in /testing/amd64/%2E%2E/%2E%2E/%2E%2E/secret 404 400 &&
	code_in /testing/amd64/.%2e/.%2e/.%2e/secret 404 400 &&
	code_in /snapshots/amd64/../../../secret 404 400 &&
	code_in /snapshots/amd64/s1/../../../../secret 404 400 &&
	code_in /keys/../../secret 404 400 &&
	code_in /.. 404 400 &&
	code_in /./testing/amd64/Packages 404 400
'

test_expect_success 'encoded slashes are never separators' '
	code_in /testing/amd64/..%2f..%2f..%2fsecret 404 400 &&
	code_in /testing/amd64/..%2F..%2F..%2Fsecret 404 400 &&
	code_in /testing%2famd64%2fPackages 404 400 &&
	code_in /testing/amd64/app-misc%2ffoo%2ffoo-1.0-1.gpkg.tar 404 400
'

test_expect_success 'doubled and trailing slashes' '
	code_in //testing/amd64/Packages 404 400 &&
	code_in /testing//amd64/Packages 404 400 &&
	code_in /testing/amd64//Packages 404 400 &&
	code_in /testing/amd64/Packages/ 404 400 &&
	code_in //secret 404 400 &&
	code_in ///etc/passwd 404 400
'

test_expect_success 'NUL, encoded or raw, and control bytes: 400' '
	code_in /testing/amd64/Packages%00 400 &&
	code_in /testing/amd64/Packages%00.gz 400 &&
	code_in /testing/amd64/%00/../../secret 400 &&
	code_in /testing/amd64/Packages%0a 400 &&
	code_in /testing/amd64/Packages%7f 400 &&
	raw_http "GET /testing/amd64/Packages\\x00/../../../secret HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" >raw &&
	head -n 1 raw | grep " 400 " &&
	! grep "TOP SECRET" raw &&
	raw_http "GET /testing/amd64/Packages\\x00 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" >raw &&
	head -n 1 raw | grep " 400 "
'

test_expect_success 'backslashes name nothing served (404); bad escapes: 400' '
	code_in "/testing/amd64/..\\..\\..\\secret" 404 &&
	code_in /testing/amd64/..%5c..%5c..%5csecret 404 &&
	code_in /testing/amd64/%zz 400 &&
	code_in /testing/amd64/%2 400 &&
	code_in /testing/amd64/Packages% 400
'

test_expect_success 'symlinks inside a snapshot are not followed, even harmless ones' '
	code_in /testing/amd64/app-misc/foo/abs.gpkg.tar 404 &&
	code_in /testing/amd64/app-misc/foo/rel.gpkg.tar 404 &&
	code_in /testing/amd64/app-misc/foo/inside.gpkg.tar 404 &&
	code_in /testing/amd64/app-misc/escape/Packages 404 &&
	code_in /snapshots/amd64/s1/app-misc/foo/abs.gpkg.tar 404 &&
	code_in /snapshots/evilprof/dir/Packages 404 &&
	code_in /keys/secret.asc 404
'

test_expect_success 'channel links must point at snapshots/<the same profile>/<id> in the root' '
	code_in /evil/abs/Packages 404 &&
	code_in /evil/abs/dir/Packages 404 &&
	code_in /evil/rel/Packages 404 &&
	code_in /evil/amd64/Packages 404 &&
	code_in /evil/dotdot/Packages 404 &&
	code_in /linked/dir/Packages 404 &&
	code_in /real/amd64/Packages 404
'

test_expect_success 'hidden and temporary files, pool/ and channels/ are not served' '
	code_in /testing/amd64/.Packages.tmp-abc123 404 &&
	code_in /snapshots/amd64/s1/.Packages.tmp-abc123 404 &&
	code_in /pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar 404 &&
	code_in /channels/testing/amd64/Packages 404
'

test_expect_success 'a FIFO is a 404 and does not hang a thread' '
	code_in /testing/amd64/app-misc/foo/fifo.gpkg.tar 404 &&
	code_in /healthz 200
'

test_expect_success 'overlong paths and names: 400 or 404, never 500' '
	long=$(head -c 300 /dev/zero | tr "\\0" a) &&
	code_in /testing/amd64/$long 404 &&
	longer=$(head -c 2000 /dev/zero | tr "\\0" a) &&
	code_in /testing/amd64/$longer 400 404 &&
	deep=$(for i in $(seq 40); do printf /a; done) &&
	code_in /testing/amd64$deep 404 &&
	huge=$(head -c 60000 /dev/zero | tr "\\0" a) &&
	code_in /testing/amd64/$huge 400 404 414 431 &&
	code_in /healthz 200
'

test_expect_success 'request heads up to 7 KB are served; larger ones are 431' '
	h6=$(head -c 6000 /dev/zero | tr "\0" a) &&
	test "$(http_code /testing/amd64/Packages -H "X-Long: $h6")" = 200 &&
	h20=$(head -c 20000 /dev/zero | tr "\0" a) &&
	code=$(http_code /testing/amd64/Packages -H "X-Long: $h20") &&
	case $code in 400|431) ;; *) echo >&4 "20 KB head: $code"; false ;; esac &&
	code_in /healthz 200
'

test_expect_success 'a storm of hostile URLs: no 5xx, the server stays up' '
	for p in /%2e%2e /%2F /%00 /%ff%fe /..%c0%af.. /%u002e /%252e%252e/secret \
		"/testing/amd64/%2e%2e%2f%2e%2e%2fsecret" /snapshots /snapshots/amd64 \
		/keys /keys/ /metrics/x /healthz/x "/testing/amd64/Packages;x" ; do
		code=$(curl -ks --path-as-is -o body -w "%{http_code}" "$(bh_url)$p") &&
		case $code in 5*) echo >&4 "$p: $code"; return 1 ;; esac &&
		! grep -q "TOP SECRET" body || return 1
	done &&
	code_in /healthz 200
'

test_expect_success 'the same with the O_NOFOLLOW walk instead of openat2' '
	stop_binhost &&
	BINFARM_BINHOST_NO_OPENAT2=1 start_binhost --root repo &&
	code_in /testing/amd64/Packages 200 &&
	code_in /testing/amd64/app-misc/foo/foo-1.0-1.gpkg.tar 200 &&
	code_in /testing/amd64/app-misc/foo/abs.gpkg.tar 404 &&
	code_in /testing/amd64/app-misc/foo/rel.gpkg.tar 404 &&
	code_in /testing/amd64/app-misc/foo/inside.gpkg.tar 404 &&
	code_in /testing/amd64/app-misc/escape/Packages 404 &&
	code_in /snapshots/evilprof/dir/Packages 404 &&
	code_in /linked/dir/Packages 404 &&
	code_in /keys/secret.asc 404 &&
	code_in /testing/amd64/app-misc/foo/fifo.gpkg.tar 404 &&
	code_in /testing/amd64/%2e%2e/%2e%2e/%2e%2e/secret 404 400
'

test_expect_success 'stop' '
	stop_binhost
'

test_done
