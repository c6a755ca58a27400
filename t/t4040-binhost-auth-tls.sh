#!/bin/sh
test_description='binfarm-binhost: HTTP Basic auth (401 challenge) and TLS'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

command -v curl >/dev/null 2>&1 || skip_all 'curl is not installed'

test_expect_success 'setup' '
	make_repo repo &&
	mkdir -p repo/snapshots/amd64/s1/app-misc/foo &&
	printf "VERSION: 0\nTIMESTAMP: 1700000000\n\n" >repo/snapshots/amd64/s1/Packages &&
	head -c 5000 /dev/urandom >repo/snapshots/amd64/s1/app-misc/foo/foo-1.0-1.gpkg.tar &&
	set_channel repo testing amd64 s1 &&
	echo "s3cret pass" | binfarm-binhost --hash-password fleet >users &&
	echo "other" | binfarm-binhost --hash-password admin >>users &&
	grep "^fleet:\$sha256\$[0-9a-f]*\$[0-9a-f]\{64\}$" users &&
	cat >auth.conf <<-EOF
	root = repo
	auth-file = users
	auth-realm = binfarm fleet
	EOF
	start_binhost -f auth.conf
'

test_expect_success 'anonymous: 401 with WWW-Authenticate: Basic realm, for files and 404s alike' '
	curl -sS -D h -o /dev/null "$(bh_url)/testing/amd64/Packages" &&
	head -n 1 h | grep " 401 " &&
	hdr WWW-Authenticate h | grep "^Basic realm=\"binfarm fleet\"" &&
	test "$(http_code /testing/amd64/Packages.gz)" = 401 &&
	test "$(http_code /nope/x/Packages)" = 401 &&
	test "$(http_code /metrics)" = 401
'

test_expect_success 'good credentials: 200; /healthz needs none' '
	curl -fsS -u "fleet:s3cret pass" -o got "$(bh_url)/testing/amd64/Packages" &&
	test_cmp repo/snapshots/amd64/s1/Packages got &&
	test "$(http_code /testing/amd64/Packages -u admin:other)" = 200 &&
	test "$(http_code /testing/amd64/Packages.gz -u admin:other)" = 404 &&
	test "$(http_code /healthz)" = 200
'

test_expect_success 'wrong password, unknown user, garbage header: 401' '
	test "$(http_code /testing/amd64/Packages -u "fleet:wrong")" = 401 &&
	test "$(http_code /testing/amd64/Packages -u "fleet:s3cret pas")" = 401 &&
	test "$(http_code /testing/amd64/Packages -u "nobody:s3cret pass")" = 401 &&
	test "$(http_code /testing/amd64/Packages -u "admin:s3cret pass")" = 401 &&
	test "$(http_code /testing/amd64/Packages -H "Authorization: Basic !!!")" = 401 &&
	test "$(http_code /testing/amd64/Packages -H "Authorization: Digest x")" = 401
'

test_expect_success 'a client that waits for the challenge (like urllib and wget) gets in' '
	curl -fsS --anyauth -u "fleet:s3cret pass" -o got "$(bh_url)/testing/amd64/Packages" &&
	test_cmp repo/snapshots/amd64/s1/Packages got
'

test_expect_success 'a bad auth file is refused at start, naming file:line' '
	stop_binhost &&
	printf "fleet:plaintext\n" >bad-users &&
	printf "root = repo\nauth-file = bad-users\n" >bad.conf &&
	test_must_fail binfarm-binhost -t -f bad.conf 2>err &&
	test_grep "bad-users:1: user .fleet.: unsupported password hash" err
'

test_expect_success OPENSSL 'TLS: a self-signed certificate, served over https' '
	openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem \
		-days 2 -subj "/CN=127.0.0.1" >/dev/null 2>&1 &&
	printf "root = repo\ntls-cert = cert.pem\ntls-key = key.pem\n" >tls.conf &&
	BINHOST_SCHEME=https start_binhost -f tls.conf &&
	test_when_finished stop_binhost &&
	curl -fsS --cacert cert.pem -o got "$(bh_url)/testing/amd64/Packages" &&
	test_cmp repo/snapshots/amd64/s1/Packages got &&
	curl -fsS --cacert cert.pem -o pkg "$(bh_url)/testing/amd64/app-misc/foo/foo-1.0-1.gpkg.tar" &&
	cmp pkg repo/snapshots/amd64/s1/app-misc/foo/foo-1.0-1.gpkg.tar &&
	curl -sS --cacert cert.pem -D h -o part -H "Range: bytes=100-199" "$(bh_url)/testing/amd64/app-misc/foo/foo-1.0-1.gpkg.tar" &&
	head -n 1 h | grep " 206 " &&
	test "$(wc -c <part)" = 100 &&
	http=$(echo "$(bh_url)" | sed s/^https/http/) &&
	! curl -fsS -m 5 -o /dev/null "$http/healthz" 2>/dev/null
'

test_expect_success OPENSSL 'TLS with auth: 401 then 200' '
	printf "root = repo\ntls-cert = cert.pem\ntls-key = key.pem\nauth-file = users\n" >tls-auth.conf &&
	BINHOST_SCHEME=https start_binhost -f tls-auth.conf &&
	test_when_finished stop_binhost &&
	test "$(http_code /testing/amd64/Packages --cacert cert.pem)" = 401 &&
	test "$(http_code /testing/amd64/Packages --cacert cert.pem -u "fleet:s3cret pass")" = 200
'

test_expect_success OPENSSL 'TLS: a key that does not parse is an error at start' '
	echo garbage >bad.pem &&
	printf "root = repo\ntls-cert = cert.pem\ntls-key = bad.pem\n" >badtls.conf &&
	test_must_fail binfarm-binhost -d -u root -f badtls.conf -l 127.0.0.1:0 2>err &&
	test_grep "TLS certificate" err
'

test_done
