#!/bin/sh
test_description='binfarm-builder: the release console without a browser (login, sessions, CSRF, escaping, promote)'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"
. "$TEST_DIRECTORY/lib-console.sh"

test_expect_success 'a builder with nothing built yet: every page answers' '
	mkdir empty &&
	test_when_finished "(cd empty && farm_stop)" &&
	(
		cd empty &&
		farm_tree gentoo &&
		farm_profile prof/p app-misc/solo &&
		farm_profile prof/q app-misc/solo &&
		farm_init &&
		printf "\n[profile q]\ndir = %s\n" "$PWD/prof/q" >>state/builder.conf &&
		farm_start &&
		console_login "Grace Hopper" &&
		test "$(console_get /console/)" = 200 &&
		test_grep "no rebuild yet" page &&
		test "$(console_get /console/rebuilds)" = 200 &&
		test "$(console_get /console/rebuilds/1)" = 404 &&
		test "$(console_get /console/jobs/1)" = 404 &&
		test "$(console_get /console/jobs/1/log)" = 404 &&
		test "$(console_get /console/snapshots)" = 200 &&
		test_grep "Snapshots of p" page &&
		test "$(console_get "/console/snapshots?profile=q")" = 200 &&
		test_grep "Snapshots of q" page &&
		test "$(console_get "/console/diff?profile=q&to=20261207T000000Z-0001")" = 404
	)
'

test_expect_success 'setup: two rebuilds of p, the second by an XSS payload; a snapshot with one as its message' '
	console_setup &&
	test_when_finished "farm_stop" &&
	binfarm -R state/repo snapshot --profile p create --message "$XSS" >out &&
	ls state/repo/snapshots/p >snaps &&
	test "$(wc -l <snaps)" -eq 3 &&
	cp state/repo/history.log history.before
'

snap() { sed -n "${1}p" snaps; }

test_expect_success 'no session: pages redirect to the login page; the log and POSTs get 401' '
	farm_start &&
	test_when_finished "farm_stop" &&
	rm -f jar && touch jar &&
	test "$(console_get /console/)" = 303 &&
	grep -i "^Location: /console/login" headers &&
	test "$(console_get /console)" = 303 &&
	grep -i "^Location: /console/$(printf "\r")" headers &&
	test "$(console_get /console/snapshots)" = 303 &&
	test "$(console_get /console/jobs/1/log)" = 401 &&
	test "$(console_post /console/promote "profile=p&id=$(snap 2)&channel=production&confirm=yes")" = 401 &&
	test_path_is_missing state/repo/channels/production &&
	test "$(console_get /console/login)" = 200 &&
	test_grep "name=\"token\"" page
'

test_expect_success 'a wrong token: the login page again with an error, no cookie; no token in the log' '
	farm_start &&
	test_when_finished "farm_stop" &&
	rm -f jar && touch jar &&
	wrong=wrong-token-$(od -An -N8 -tx1 /dev/urandom | tr -d " \n") &&
	test "$(console_post /console/login "token=$wrong&name=Mallory")" = 403 &&
	test_grep "wrong token" page &&
	test_grep "name=\"token\"" page &&
	! grep -i "^Set-Cookie" headers &&
	test "$(console_post /console/login "token=$(console_et)&name=a%09b")" = 403 &&
	test_grep "a name of letters" page &&
	console_login "Grace Hopper" &&
	test_grep "refused a login as .Mallory. from 127.0.0.1: wrong token" builder.log &&
	test_grep "console: Grace Hopper logged in" builder.log &&
	! grep -e "$wrong" -e "$(console_et)" builder.log
'

test_expect_success 'the session cookie: random, HttpOnly, SameSite=Strict, Secure; one the client makes up opens nothing' '
	farm_start &&
	test_when_finished "farm_stop" &&
	fixed=$(printf "%064d" 7) &&
	printf "127.0.0.1\tFALSE\t/console/\tTRUE\t0\tbf_console\t%s\n" "$fixed" >jar &&
	test "$(console_get /console/)" = 303 &&
	curl -s -D headers -o page -b jar --data-urlencode "token=$(console_et)" \
		--data-urlencode "name=Grace Hopper" "$(console_url)/console/login" &&
	grep -i "^Set-Cookie: bf_console=[0-9a-f]\{64\}; Path=/console/; HttpOnly; SameSite=Strict; Max-Age=[0-9]*; Secure" headers &&
	! grep "$fixed" headers &&
	test "$(console_get /console/)" = 303 &&
	console_login "Grace Hopper" &&
	test "$(console_get /console/)" = 200 &&
	grep -i "^Content-Security-Policy: default-src .none.; script-src .self.; style-src .self.;.*frame-ancestors .none." headers &&
	grep -i "^X-Frame-Options: DENY" headers &&
	grep -i "^Cache-Control: no-store" headers &&
	grep -i "^Content-Type: text/html; charset=utf-8" headers &&
	test_grep "<span class=\"who\" id=\"who\">Grace Hopper</span>" page &&
	test "$(console_get /console/static/console.js)" = 200 &&
	grep -i "^Content-Type: text/javascript" headers &&
	test "$(console_get /console/static/nope.js)" = 404
'

test_expect_success 'a POST without the session CSRF token (or from another origin) is refused with 403 and promotes nothing' '
	farm_start &&
	test_when_finished "farm_stop" &&
	console_login "Mallory" && cp jar jar.other &&
	test "$(console_get /console/)" = 200 && other=$(console_csrf) &&
	console_login "Grace Hopper" &&
	test "$(console_get /console/)" = 200 && csrf=$(console_csrf) &&
	test -n "$csrf" && test "$csrf" != "$other" &&
	form="profile=p&id=$(snap 2)&channel=production&confirm=yes" &&
	test "$(console_post /console/promote "$form")" = 403 &&
	test "$(console_post /console/promote "$form&csrf=")" = 403 &&
	test "$(console_post /console/promote "$form&csrf=$other")" = 403 &&
	case $csrf in *0) bad=${csrf%?}1 ;; *) bad=${csrf%?}0 ;; esac &&
	test "$(console_post /console/promote "$form&csrf=$bad")" = 403 &&
	test_grep "CSRF token" page &&
	code=$(curl -s -o page -w "%{http_code}" -b jar -H "Origin: https://evil.example" \
		-d "$form&csrf=$csrf" "$(console_url)/console/promote") &&
	test "$code" = 403 &&
	test "$(console_post /console/logout "csrf=$other")" = 403 &&
	test_path_is_missing state/repo/channels/production &&
	test_cmp history.before state/repo/history.log &&
	test_grep "refused POST /console/promote of Grace Hopper from 127.0.0.1: bad CSRF" builder.log
'

test_expect_success 'what the builder and the repository hold is escaped in every page' '
	farm_start &&
	test_when_finished "farm_stop" &&
	console_login "Grace Hopper" &&
	for p in /console/ /console/rebuilds /console/rebuilds/2 \
		"/console/snapshots?profile=p" \
		"/console/diff?profile=p&from=$(snap 1)&to=$(snap 3)"
	do
		test "$(console_get "$p")" = 200 &&
		test_grep "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" page &&
		! grep -e "<script>alert" -e "<img src=x" page || return 1
	done &&
	test "$(console_get "/console/snapshots?profile=p")" = 200 &&
	grep "<td class=\"message\">&lt;script&gt;alert" page &&
	test "$(console_get /console/jobs/4/log)" = 200 &&
	grep -i "^Content-Type: text/plain" headers &&
	grep -i "^X-Content-Type-Options: nosniff" headers &&
	test_grep "configure: <b>bold</b>" page
'

test_expect_success 'a snapshot id, profile or channel that is a path is refused' '
	farm_start &&
	test_when_finished "farm_stop" &&
	console_login "Grace Hopper" &&
	test "$(console_get /console/)" = 200 && csrf=$(console_csrf) &&
	test "$(console_get "/console/diff?profile=p&from=../../../../etc&to=$(snap 2)")" = 404 &&
	test "$(console_get "/console/diff?profile=p&to=..%2F$(snap 2)")" = 404 &&
	test "$(console_get "/console/diff?profile=../../etc&to=$(snap 2)")" = 404 &&
	test "$(console_get "/console/snapshots?profile=..")" = 404 &&
	test "$(console_get /console/jobs/x)" = 404 &&
	test "$(console_get /console/jobs/4x)" = 404 &&
	test "$(console_get /console/rebuilds/2x)" = 404 &&
	test "$(console_get /console/nope)" = 404 &&
	test "$(console_post /console/promote "csrf=$csrf&profile=p&id=../../../etc&channel=production&confirm=yes")" = 400 &&
	test "$(console_post /console/promote "csrf=$csrf&profile=p&id=$(snap 2)&channel=../x&confirm=yes")" = 400 &&
	test "$(console_post /console/promote "csrf=$csrf&profile=../p&id=$(snap 2)&channel=production&confirm=yes")" = 404 &&
	test "$(console_post /console/promote "csrf=$csrf&profile=p&id=20991231T000000Z-0001&channel=production&confirm=yes")" = 404 &&
	test_path_is_missing state/repo/channels/production &&
	test_cmp history.before state/repo/history.log
'

test_expect_success 'promote: the confirmation page moves nothing; confirming does, recorded with the name' '
	farm_start &&
	test_when_finished "farm_stop" &&
	console_login "Grace Hopper" &&
	test "$(console_get /console/)" = 200 && csrf=$(console_csrf) &&
	test "$(console_post /console/promote "csrf=$csrf&profile=p&id=$(snap 2)&channel=production")" = 200 &&
	test_grep "id=\"confirm\"" page &&
	test_grep "3 added, 0 removed" page &&
	test_grep "as done by <strong>Grace Hopper</strong>" page &&
	test_path_is_missing state/repo/channels/production &&
	test "$(console_post /console/promote "csrf=$csrf&profile=p&id=$(snap 2)&channel=production&confirm=yes")" = 200 &&
	test_grep "id=\"promoted\"" page &&
	test "$(readlink state/repo/channels/production/p)" = "../../snapshots/p/$(snap 2)" &&
	tail -n 1 state/repo/history.log >last &&
	printf "promote\tp\tproduction\t-\t%s\tGrace Hopper\n" "$(snap 2)" >expect &&
	cut -f3- last >actual &&
	test_cmp expect actual &&
	test_grep "console: Grace Hopper promoted $(snap 2) of p to production" builder.log
'

test_expect_success 'promote: a downgrade is refused unless allowed' '
	farm_start &&
	test_when_finished "farm_stop" &&
	console_login "Grace Hopper" &&
	test "$(console_get /console/)" = 200 && csrf=$(console_csrf) &&
	cp state/repo/history.log history.mid &&
	test "$(console_post /console/promote "csrf=$csrf&profile=p&id=$(snap 1)&channel=production")" = 200 &&
	test_grep "downgrade" page &&
	test "$(console_post /console/promote "csrf=$csrf&profile=p&id=$(snap 1)&channel=production&confirm=yes")" = 409 &&
	test "$(readlink state/repo/channels/production/p)" = "../../snapshots/p/$(snap 2)" &&
	test_cmp history.mid state/repo/history.log &&
	test "$(console_post /console/promote "csrf=$csrf&profile=p&id=$(snap 1)&channel=production&confirm=yes&allow_downgrade=yes")" = 200 &&
	test "$(readlink state/repo/channels/production/p)" = "../../snapshots/p/$(snap 1)"
'

test_expect_success 'logging out ends the session' '
	farm_start &&
	test_when_finished "farm_stop" &&
	console_login "Grace Hopper" &&
	test "$(console_get /console/)" = 200 && csrf=$(console_csrf) &&
	cp jar jar.kept &&
	test "$(console_post /console/logout "csrf=$csrf")" = 303 &&
	cp jar.kept jar &&
	test "$(console_get /console/)" = 303 &&
	test "$(console_post /console/promote "csrf=$csrf&profile=p&id=$(snap 3)&channel=production&confirm=yes")" = 401
'

test_expect_success 'a rebuild page says why each package was built: ebuild, dependency, eclass, USE, configuration' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	console_login "Grace Hopper" &&
	test "$(console_get /console/rebuilds/2)" = 200 &&
	test "$(console_reason dev-libs/libhello-1.0)" = "ebuild changed" &&
	test "$(console_reason app-misc/hello-2.1)" = "dependency built anew: dev-libs/libhello-1.0" &&
	test "$(console_reason app-misc/solo-1)" = "" &&
	test_grep "<td class=\"built\">reused</td>" page &&
	echo "# changed" >>gentoo/eclass/simplec.eclass &&
	farm_md5cache gentoo &&
	git -C gentoo add -A && git -C gentoo commit -q -m "simplec: changed" &&
	binfarm rebuild --profile p >out &&
	test_grep "rebuild 3 of p: 3 packages, 3 to build" out &&
	farm_worker w1 &&
	farm_wait_rebuild complete 120 &&
	test "$(console_get /console/rebuilds/3)" = 200 &&
	test "$(console_reason dev-libs/libhello-1.0)" = "eclass simplec changed" &&
	test "$(console_reason app-misc/solo-1)" = "eclass simplec changed" &&
	test "$(console_reason app-misc/hello-2.1)" = "dependency built anew: dev-libs/libhello-1.0; eclass simplec changed" &&
	echo "dev-libs/libhello debug" >prof/p/package.use &&
	sed -i "s/^CFLAGS=.*/CFLAGS=\"-O2 -pipe -g\"/" prof/p/make.conf &&
	binfarm rebuild --profile p >out &&
	test_grep "rebuild 4 of p" out &&
	farm_wait_rebuild complete 120 &&
	test "$(console_get /console/rebuilds/4)" = 200 &&
	test_grep "<li class=\"input-env\">configuration cflags: &quot;-O2 -pipe&quot; &rarr; &quot;-O2 -pipe -g&quot;</li>" page &&
	console_reason dev-libs/libhello-1.0 >reason &&
	test_grep "^USE: +debug; configuration: cflags" reason &&
	console_reason app-misc/solo-1 >reason &&
	test_grep "^configuration: cflags" reason &&
	! grep "USE" reason
'

test_done
