#!/bin/sh
test_description='binfarm-builder: GET /metrics (Prometheus), who may read it, and what it counts'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

# metrics_get TOKEN: GET /metrics into metrics.txt; prints the HTTP code.
metrics_get() {
	if test -n "$1"
	then
		curl -s -o metrics.txt -w "%{http_code}" \
			-H "Authorization: Bearer $1" "$(cat state/builder.url)/metrics"
	else
		curl -s -o metrics.txt -w "%{http_code}" "$(cat state/builder.url)/metrics"
	fi
}

# The tokens (each test runs in a subshell): the engineer's, the
# metrics-token the setup writes, a worker's.
et() { sed -n "s/^engineer-token = //p" state/builder.conf; }
mt() { sed -n "s/^metrics-token = //p" state/builder.conf; }

# metric 'NAME{LABELS}': the value of that exact series in metrics.txt.
metric() {
	awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print "missing" }' metrics.txt
}

# farm_wait_quiet SECONDS: until no job of any profile is queued or running.
farm_wait_quiet() {
	_i=0
	while test "$(metrics_get "$(mt)")" != 200 ||
		grep -q "^binfarm_builder_queue_depth{.*} [1-9]" metrics.txt ||
		grep -q "^binfarm_builder_jobs{.*state=\"running\"} [1-9]" metrics.txt ||
		grep -q "^binfarm_builder_rebuilds{state=\"\(running\|publishing\)\"} [1-9]" metrics.txt
	do
		_i=$((_i + 1))
		test $_i -gt $(($1 * 5)) && return 1
		sleep 0.2
	done
}

test_expect_success 'setup: two profiles, a metrics-token, a checker of the text format' '
	farm_tree gentoo &&
	farm_profile prof/p app-misc/hello app-misc/solo app-misc/needs-broken &&
	farm_profile prof/q app-misc/solo &&
	farm_init &&
	printf "\n[profile q]\ndir = %s\n" "$PWD/prof/q" >>state/builder.conf &&
	printf "\n[builder]\nmetrics-token = metrics-0123456789abcdef0123\n" \
		>>state/builder.conf &&
	binfarm-builder -t -s state >out &&
	test_grep "configuration OK" out &&
	cat >promcheck.py <<-\EOF
	# Prometheus text format 0.0.4: every sample is NAME{LABELS} VALUE
	# and its family has a # TYPE line; histograms end in +Inf = _count.
	import re, sys
	types, bad, n = {}, [], 0
	sample = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)"
	    r"(\{([a-zA-Z_][a-zA-Z0-9_]*=\"(\\\\.|[^\"\\\\])*\""
	    r"(,[a-zA-Z_][a-zA-Z0-9_]*=\"(\\\\.|[^\"\\\\])*\")*)?\})?"
	    r" (-?[0-9.e+]+|\+Inf|NaN)$")
	lines = open(sys.argv[1]).read().split("\n")
	if lines[-1] != "":
	    bad.append("no newline at the end")
	for l in lines[:-1]:
	    if l.startswith("# TYPE "):
	        f = l.split()
	        types[f[2]] = f[3]
	        continue
	    if l.startswith("# HELP "):
	        continue
	    m = sample.match(l)
	    if not m:
	        bad.append("not a sample: " + l)
	        continue
	    name, fam = m.group(1), m.group(1)
	    for suf in ("_bucket", "_sum", "_count"):
	        if name.endswith(suf) and name[:-len(suf)] in types:
	            fam = name[:-len(suf)]
	    if fam not in types:
	        bad.append("no # TYPE for " + name)
	    n += 1
	for l in bad:
	    print(l)
	print(n, "samples")
	sys.exit(1 if bad or n == 0 else 0)
	EOF
'

test_expect_success 'a bad metrics-token is refused with file and reason' '
	et=$(et) &&
	cp state/builder.conf state/short.conf &&
	printf "[builder]\nmetrics-token = short\n" >>state/short.conf &&
	test_must_fail binfarm-builder -t -f state/short.conf 2>err &&
	test_grep "short.conf:[0-9]*: metrics-token: too short" err &&
	cp state/builder.conf state/same.conf &&
	printf "[builder]\nmetrics-token = %s\n" "$et" >>state/same.conf &&
	test_must_fail binfarm-builder -t -f state/same.conf 2>err &&
	test_grep "metrics-token is the engineer-token; they must differ" err &&
	cp state/builder.conf state/wsame.conf &&
	printf "[builder]\nmetrics-token = %s\n" "$(farm_worker_token w2)" >>state/wsame.conf &&
	test_must_fail binfarm-builder -t -f state/wsame.conf 2>err &&
	test_grep "\[worker w2\]: its token is the metrics-token; they must differ" err
'

test_expect_success 'no token, a wrong one and a worker token get 401' '
	farm_start &&
	test_when_finished "farm_stop" &&
	test "$(metrics_get)" = 401 &&
	test_grep "missing or wrong bearer token" metrics.txt &&
	test "$(metrics_get wrong-token-00000000000)" = 401 &&
	test "$(metrics_get "$(farm_worker_token w1)")" = 401 &&
	test_grep "refused GET /metrics from 127.0.0.1: no token" builder.log &&
	test_grep "refused GET /metrics from 127.0.0.1: wrong token" builder.log
'

test_expect_success 'the engineer token and the metrics-token read it; the text parses' '
	farm_start &&
	test_when_finished "farm_stop" &&
	test "$(metrics_get "$(et)")" = 200 &&
	python3 promcheck.py metrics.txt &&
	test "$(metrics_get "$(mt)")" = 200 &&
	python3 promcheck.py metrics.txt &&
	curl -s -D headers -o /dev/null -H "Authorization: Bearer $(mt)" \
		"$(cat state/builder.url)/metrics" &&
	test_grep -i "content-type: text/plain; version=0.0.4" headers &&
	test "$(metric "binfarm_builder_jobs{profile=\"p\",state=\"done\"}")" = 0 &&
	test "$(metric "binfarm_builder_queue_depth{profile=\"q\"}")" = 0 &&
	test "$(metric "binfarm_builder_job_duration_seconds_count{profile=\"p\"}")" = 0 &&
	test "$(metric "binfarm_builder_workers{state=\"alive\"}")" = 0 &&
	test "$(metric "binfarm_builder_leases_total")" = 0 &&
	start=$(metric binfarm_builder_start_time_seconds) &&
	test "$start" -gt 1600000000 &&
	test "$start" -le "$(date +%s)" &&
	echo "$start" >start &&
	grep "^binfarm_builder_build_info{version=\"[^\"]*\"} 1$" metrics.txt
'

test_expect_success 'the metrics-token opens nothing else: no rebuild, no status' '
	farm_start &&
	test_when_finished "farm_stop" &&
	url=$(cat state/builder.url) &&
	curl -s -o body -w "%{http_code}" -X POST -H "Authorization: Bearer $(mt)" \
		-d "{\"profile\":\"p\"}" "$url/v1/rebuild" >code &&
	test "$(cat code)" = 403 &&
	test_grep "the metrics-token only reads /metrics" body &&
	curl -s -o body -w "%{http_code}" -H "Authorization: Bearer $(mt)" \
		"$url/v1/status" >code &&
	test "$(cat code)" = 403 &&
	test_must_fail binfarm rebuild --profile p --token "$(mt)" 2>err &&
	test_grep "metrics-token only reads /metrics" err &&
	test "$(farm_rebuild_state)" = none &&
	test_grep "refused POST /v1/rebuild: the metrics-token only reads" builder.log
'

test_expect_success 'no token reaches the log' '
	! grep -F "$(mt)" builder.log &&
	! grep -F "$(et)" builder.log &&
	! grep -F "$(farm_worker_token w1)" builder.log
'

test_expect_success 'after two rebuilds: jobs per profile, failures, durations, workers' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	binfarm rebuild --profile p >out &&
	test_grep "5 to build" out &&
	binfarm rebuild --profile q >out &&
	test_grep "1 to build" out &&
	test "$(metrics_get "$(mt)")" = 200 &&
	test "$(metric "binfarm_builder_queue_depth{profile=\"p\"}")" = 5 &&
	test "$(metric "binfarm_builder_rebuilds{state=\"running\"}")" = 2 &&
	farm_worker w1 &&
	farm_wait_quiet 180 &&
	python3 promcheck.py metrics.txt &&
	test "$(metric "binfarm_builder_jobs{profile=\"p\",state=\"done\"}")" = 3 &&
	test "$(metric "binfarm_builder_jobs{profile=\"p\",state=\"failed\"}")" = 1 &&
	test "$(metric "binfarm_builder_jobs{profile=\"p\",state=\"blocked\"}")" = 1 &&
	test "$(metric "binfarm_builder_jobs{profile=\"q\",state=\"done\"}")" = 1 &&
	test "$(metric "binfarm_builder_jobs{profile=\"q\",state=\"failed\"}")" = 0 &&
	test "$(metric "binfarm_builder_jobs_finished_total{profile=\"p\",result=\"done\"}")" = 3 &&
	test "$(metric "binfarm_builder_jobs_finished_total{profile=\"p\",result=\"failed\"}")" = 1 &&
	test "$(metric "binfarm_builder_jobs_finished_total{profile=\"q\",result=\"done\"}")" = 1 &&
	test "$(metric "binfarm_builder_job_duration_seconds_count{profile=\"p\"}")" = 3 &&
	test "$(metric "binfarm_builder_job_duration_seconds_bucket{profile=\"p\",le=\"+Inf\"}")" = 3 &&
	test "$(metric "binfarm_builder_job_duration_seconds_count{profile=\"q\"}")" = 1 &&
	test "$(metric "binfarm_builder_queue_depth{profile=\"p\"}")" = 0 &&
	test "$(metric "binfarm_builder_rebuilds{state=\"failed\"}")" = 1 &&
	test "$(metric "binfarm_builder_rebuilds{state=\"complete\"}")" = 1 &&
	test "$(metric "binfarm_builder_uploads_total{result=\"ok\"}")" = 4 &&
	test "$(metric "binfarm_builder_leases_total")" -ge 6 &&
	test "$(metric "binfarm_builder_workers{state=\"alive\"}")" = 1 &&
	test "$(metric "binfarm_builder_workers{state=\"stale\"}")" = 0 &&
	seen=$(metric "binfarm_builder_worker_last_seen_seconds{worker=\"w1\"}") &&
	test "$seen" -ge "$(cat start)" &&
	test "$seen" -le "$(date +%s)" &&
	grep "^binfarm_builder_job_duration_seconds_bucket{profile=\"p\"" metrics.txt |
		awk "{ if (\$2 < prev) exit 1; prev = \$2 }" &&
	cp metrics.txt before-restart.txt
'

test_expect_success 'a restart changes no count; the worker turns stale' '
	farm_start &&
	test_when_finished "farm_stop" &&
	test "$(metrics_get "$(et)")" = 200 &&
	grep -v "^binfarm_builder_\(start_time_seconds\|worker\)" before-restart.txt >expect &&
	grep -v "^binfarm_builder_\(start_time_seconds\|worker\)" metrics.txt >actual &&
	test_cmp expect actual &&
	test "$(metric binfarm_builder_start_time_seconds)" -ge "$(cat start)" &&
	i=0 &&
	while test "$(metric "binfarm_builder_workers{state=\"stale\"}")" != 1
	do
		i=$((i + 1)) &&
		test $i -lt 100 &&
		sleep 0.2 &&
		test "$(metrics_get "$(et)")" = 200 || return 1
	done &&
	test "$(metric "binfarm_builder_workers{state=\"alive\"}")" = 0
'

test_expect_success 'a database of schema 2 starts its finished counts from its jobs' '
	sqlite3 state/builder.db "DROP TABLE counters; PRAGMA user_version = 2" &&
	farm_start &&
	test_when_finished "farm_stop" &&
	test "$(sqlite3 state/builder.db "PRAGMA user_version")" = 3 &&
	test "$(metrics_get "$(mt)")" = 200 &&
	test "$(metric "binfarm_builder_jobs_finished_total{profile=\"p\",result=\"done\"}")" = 3 &&
	test "$(metric "binfarm_builder_jobs_finished_total{profile=\"p\",result=\"failed\"}")" = 1 &&
	test "$(metric "binfarm_builder_jobs_finished_total{profile=\"q\",result=\"done\"}")" = 1 &&
	test "$(metric "binfarm_builder_leases_total")" = 0 &&
	test "$(metric "binfarm_builder_job_duration_seconds_count{profile=\"p\"}")" = 3
'

test_expect_success 'an upload refused shows in uploads_total' '
	farm_start &&
	test_when_finished "farm_stop" &&
	curl -s -o /dev/null -X PUT -H "Authorization: Bearer $(farm_worker_token w1)" \
		-H "X-Binfarm-Lease: nolease" -H "X-Binfarm-Checksum: sha256:00" \
		--data-binary @metrics.txt "$(cat state/builder.url)/v1/jobs/1/package" &&
	test "$(metrics_get "$(mt)")" = 200 &&
	test "$(metric "binfarm_builder_uploads_total{result=\"refused\"}")" = 1
'

test_expect_success 'a running release of the repository: its waves and nodes' '
	farm_start &&
	test_when_finished "farm_stop" &&
	A=20260101T000000Z-0001 B=20260102T000000Z-0001 &&
	mkdir -p state/repo/releases state/repo/fleet &&
	printf "%s\n" "release 7" "channel production" "strategy by-member" \
		"state running" "allow-downgrade no" "started 1700000000 alice" \
		"target p $A $B" "wave 1 n1=p n2=p" "wave 2 n3=p" \
		>state/repo/releases/production &&
	printf "# binfarm fleet state 1\n" >state/repo/fleet/nodes.state &&
	printf "%s\t%s\t%s\t%s\t1\t1\t0\t0\t0\n" n1 p production $B \
		n2 p production $A >>state/repo/fleet/nodes.state &&
	test "$(metrics_get "$(mt)")" = 200 &&
	python3 promcheck.py metrics.txt &&
	test "$(metric "binfarm_builder_release_waves{channel=\"production\",release=\"7\"}")" = 2 &&
	test "$(metric "binfarm_builder_release_waves_done{channel=\"production\",release=\"7\"}")" = 0 &&
	test "$(metric "binfarm_builder_release_nodes{channel=\"production\",release=\"7\"}")" = 3 &&
	test "$(metric "binfarm_builder_release_nodes_fetched{channel=\"production\",release=\"7\"}")" = 1 &&
	printf "%s\t%s\t%s\t%s\t1\t1\t0\t0\t0\n" n2 p production $B >>state/repo/fleet/nodes.state &&
	sed -i "/^n2	p	production	$A/d" state/repo/fleet/nodes.state &&
	test "$(metrics_get "$(mt)")" = 200 &&
	test "$(metric "binfarm_builder_release_waves_done{channel=\"production\",release=\"7\"}")" = 1 &&
	sed -i "s/^state running/state done/" state/repo/releases/production &&
	test "$(metrics_get "$(mt)")" = 200 &&
	test "$(metric "binfarm_builder_release_waves{channel=\"production\",release=\"7\"}")" = missing
'

test_done
