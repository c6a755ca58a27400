#!/bin/sh
test_description='binfarm-binhost serves channels, snapshots and the key as emerge expects'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-gpkg.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

test_have_prereq_curl() { case " $test_prereqs " in *" CURL "*) ;; *) return 1 ;; esac; }
test_have_prereq_curl || skip_all 'curl is not installed'

TS=1700000000

test_expect_success 'setup: repository, snapshot, channel, key' '
	make_repo repo &&
	make_snapshot repo amd64 s1 $TS app-misc/foo-1.0 dev-libs/bar-2.1 &&
	set_channel repo testing amd64 s1 &&
	echo "-----BEGIN PGP PUBLIC KEY BLOCK-----" >repo/keys/binfarm.asc &&
	start_binhost --root repo --access-log "$PWD/access.log"
'

test_expect_success '/healthz answers 200 ok' '
	curl -fsS "$(bh_url)/healthz" >out &&
	echo ok >expect &&
	test_cmp expect out
'

test_expect_success 'Packages: 200, body, Content-Length, Last-Modified = TIMESTAMP, short cache' '
	curl -fsS -D h -o got "$(bh_url)/testing/amd64/Packages" &&
	test_cmp repo/snapshots/amd64/s1/Packages got &&
	test "$(hdr Content-Length h)" = "$(wc -c <got)" &&
	hdr Last-Modified h | grep "^[A-Z][a-z][a-z], [0-9][0-9] [A-Z][a-z][a-z] 20[0-9][0-9] [0-9:]* GMT$" &&
	test "$(date -u -d "$(hdr Last-Modified h)" +%s)" -ge $TS &&
	test "$(hdr Cache-Control h)" = "public, max-age=60" &&
	test -n "$(hdr ETag h)" &&
	hdr Content-Type h | grep "^text/plain"
'

test_expect_success 'Last-Modified is never before TIMESTAMP, and is the later of it and the promotion' '
	curl -fsS -D h -o /dev/null "$(bh_url)/testing/amd64/Packages" &&
	lm=$(date -u -d "$(hdr Last-Modified h)" +%s) &&
	link=$(stat -c %Y repo/channels/testing/amd64) &&
	test $lm -ge $TS &&
	test $lm = $link
'

test_expect_success 'a missing Packages.gz is exactly 404' '
	test "$(http_code /testing/amd64/Packages.gz)" = 404
'

test_expect_success 'Packages.gz is served as a file when it exists' '
	gzip -9n -c repo/snapshots/amd64/s1/Packages >repo/snapshots/amd64/s1/Packages.gz &&
	touch -d @$TS repo/snapshots/amd64/s1/Packages.gz &&
	curl -fsS -D h -o got.gz "$(bh_url)/testing/amd64/Packages.gz" &&
	test_cmp repo/snapshots/amd64/s1/Packages.gz got.gz &&
	test "$(hdr Content-Type h)" = application/gzip &&
	test -z "$(hdr Content-Encoding h)"
'

test_expect_success 'every PATH of the index downloads with Content-Length = SIZE and the right digests' '
	sed -n "s/^PATH: //p" repo/snapshots/amd64/s1/Packages >paths &&
	test "$(wc -l <paths)" = 2 &&
	while read -r p; do
		curl -fsS -D h -o pkg "$(bh_url)/testing/amd64/$p" &&
		size=$(awk -v p="$p" "/^PATH: /{x=(\$2==p)} x&&/^SIZE: /{print \$2; exit}" repo/snapshots/amd64/s1/Packages) &&
		md5=$(awk -v p="$p" "/^MD5: /{m=\$2} /^PATH: /{x=(\$2==p)} x&&/^SIZE: /{print m; exit}" repo/snapshots/amd64/s1/Packages) &&
		test "$(hdr Content-Length h)" = "$size" &&
		test "$(wc -c <pkg)" = "$size" &&
		test "$(md5sum <pkg | cut -d" " -f1)" = "$md5" &&
		binfarm verify -q pkg &&
		test "$(hdr Cache-Control h)" = "public, max-age=31536000, immutable" &&
		test "$(hdr Accept-Ranges h)" = bytes &&
		test "$(hdr Content-Type h)" = application/x-tar || return 1
	done <paths
'

test_expect_success PYTHON 'HEAD: headers with the right Content-Length and no body' '
	p=app-misc/foo/foo-1.0-1.gpkg.tar &&
	curl -fsS -I -o h "$(bh_url)/testing/amd64/$p" &&
	test "$(hdr Content-Length h)" = "$(wc -c <repo/pool/amd64/$p)" &&
	curl -fsS -I "$(bh_url)/testing/amd64/Packages" >h2 &&
	test "$(hdr Content-Length h2)" = "$(wc -c <repo/snapshots/amd64/s1/Packages)" &&
	raw_http "HEAD /testing/amd64/$p HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n" >raw &&
	head -n 1 raw | grep "200 OK" &&
	tail -c 4 raw | od -An -c >end &&
	test_grep "\\\\r  *\\\\n  *\\\\r  *\\\\n" end
'

test_expect_success 'snapshot URLs are immutable views of one snapshot' '
	curl -fsS -D h -o got "$(bh_url)/snapshots/amd64/s1/Packages" &&
	test_cmp repo/snapshots/amd64/s1/Packages got &&
	test "$(hdr Cache-Control h)" = "public, max-age=31536000, immutable" &&
	curl -fsS -o pkg "$(bh_url)/snapshots/amd64/s1/dev-libs/bar/bar-2.1-1.gpkg.tar" &&
	cmp pkg repo/pool/amd64/dev-libs/bar/bar-2.1-1.gpkg.tar &&
	test "$(http_code /snapshots/amd64/nope/Packages)" = 404 &&
	test "$(http_code /snapshots/amd64/s1)" = 404
'

test_expect_success 'the public key is at /keys/binfarm.asc' '
	curl -fsS -D h -o got "$(bh_url)/keys/binfarm.asc" &&
	test_cmp repo/keys/binfarm.asc got &&
	test "$(hdr Content-Type h)" = application/pgp-keys
'

test_expect_success 'unknown channel, profile or file: 404; directories: 404' '
	test "$(http_code /production/amd64/Packages)" = 404 &&
	test "$(http_code /testing/arm64/Packages)" = 404 &&
	test "$(http_code /testing/amd64/app-misc/foo/nope.gpkg.tar)" = 404 &&
	test "$(http_code /testing/amd64/app-misc)" = 404 &&
	test "$(http_code /testing/amd64)" = 404 &&
	test "$(http_code /)" = 404
'

test_expect_success 'methods other than GET and HEAD: 405 with Allow' '
	curl -s -D h -o /dev/null -X POST -d x "$(bh_url)/testing/amd64/Packages" &&
	head -n 1 h | grep " 405 " &&
	test "$(hdr Allow h)" = "GET, HEAD" &&
	test "$(http_code /testing/amd64/Packages -X DELETE)" = 405
'

test_expect_success 'keep-alive: several requests on one connection' '
	curl -sv -o /dev/null -o /dev/null "$(bh_url)/healthz" "$(bh_url)/testing/amd64/Packages" 2>err &&
	test_grep "Re-using existing connection" err &&
	! grep -i "< Connection: close" err
'

test_expect_success '/metrics: requests per channel, profile and code; bytes; latency histogram' '
	curl -fsS -o m "$(bh_url)/metrics" &&
	test_grep "^binhost_requests_total{channel=\"testing\",profile=\"amd64\",code=\"200\"} [1-9]" m &&
	test_grep "^binhost_requests_total{channel=\"testing\",profile=\"amd64\",code=\"404\"} [1-9]" m &&
	test_grep "^binhost_requests_total{channel=\"snapshots\",profile=\"amd64\",code=\"200\"} [1-9]" m &&
	test_grep "^binhost_requests_total{channel=\"\",profile=\"\",code=\"405\"} [1-9]" m &&
	test_grep "^binhost_response_bytes_total{channel=\"testing\",profile=\"amd64\"} [1-9]" m &&
	test_grep "^binhost_request_duration_seconds_bucket{channel=\"testing\",profile=\"amd64\",le=\"+Inf\"} [1-9]" m &&
	test_grep "^binhost_request_duration_seconds_count{channel=\"testing\",profile=\"amd64\"} [1-9]" m &&
	test_grep "^# TYPE binhost_request_duration_seconds histogram" m &&
	! grep "channel=\"production\"" m
'

test_expect_success 'unknown channels do not create metric series' '
	for i in 1 2 3 4 5; do http_code /junk$i/x/Packages >/dev/null; done &&
	curl -fsS -o m "$(bh_url)/metrics" &&
	! grep junk m
'

test_expect_success 'access log: one combined-format line per request' '
	curl -fsS -A "Gentoo Portage" -e "http://ref/" -o /dev/null "$(bh_url)/testing/amd64/Packages?x=1" &&
	wait_grep "Packages?x=1" access.log &&
	tail -n 1 access.log >line &&
	test_grep "^127\.0\.0\.1 - - \[[0-9][0-9]/[A-Z][a-z][a-z]/20[0-9][0-9]:[0-9:]* [-+][0-9]*\] \"GET /testing/amd64/Packages?x=1 HTTP/1\.1\" 200 [0-9][0-9]* \"http://ref/\" \"Gentoo Portage\"$" line &&
	size=$(wc -c <repo/snapshots/amd64/s1/Packages) &&
	test_grep "\" 200 $size \"" line
'

test_expect_success 'access log escapes quotes and control bytes' '
	curl -fsS -A "evil\" \"agent" -o /dev/null "$(bh_url)/healthz" &&
	wait_grep "evil" access.log &&
	tail -n 1 access.log >line &&
	test_grep "evil\\\\x22 \\\\x22agent" line
'

test_expect_success 'stop' '
	stop_binhost
'

test_done
