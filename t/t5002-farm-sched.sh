#!/bin/sh
test_description='binfarm-builder scheduling: runtime closures and cycles, blocking, retry, lease deps, an older database'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

# An md5-cache-only tree:
#   t/a DEPEND t/b;  t/b RDEPEND t/c;  t/c and t/d RDEPEND each other
#   (a runtime cycle);  t/e alone;  t/f DEPEND t/a.
# So t/a is built after t/b, t/c and t/d (t/b and its runtime closure),
# and t/f after t/a only.
ent() {
	printf 'DEPEND=%s\nRDEPEND=%s\nEAPI=8\nKEYWORDS=amd64\nSLOT=0\n_md5_=%032x\n' \
		"$2" "$3" "$4" >"gentoo/metadata/md5-cache/t/$1"
}

sched_tree() {
	mkdir -p gentoo/profiles gentoo/metadata/md5-cache/t &&
	echo gentoo >gentoo/profiles/repo_name &&
	ent a-1 t/b "" 1 &&
	ent b-1 "" t/c 2 &&
	ent c-1 "" t/d 3 &&
	ent d-1 "" t/c 4 &&
	ent e-1 "" "" 5 &&
	ent f-1 t/a "" 6 &&
	git -C gentoo init -q -b main &&
	git -C gentoo add -A &&
	git -C gentoo -c user.name=t -c user.email=t@x commit -q -m t
}

# Each test runs in a subshell: the builder's address and tokens.
sched_env() {
	url=$(cat state/builder.url) &&
	et=$(sed -n "s/^engineer-token = //p" state/builder.conf) &&
	wt=$(farm_worker_token fake) &&
	BINFARM_BUILDER_STATE=$PWD/state &&
	CURL_CA_BUNDLE=$PWD/state/tls/ca.pem &&
	export BINFARM_BUILDER_STATE CURL_CA_BUNDLE
}

# The state of the job building CPV.
jstate() {
	curl -sf -H "Authorization: Bearer $et" "$url/v1/jobs?cpv=$1" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["state"])'
}

jid() {
	curl -sf -H "Authorization: Bearer $et" "$url/v1/jobs?cpv=$1" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["job"])'
}

states() {
	for _p in a b c d e f
	do
		printf '%s %s\n' $_p "$(jstate t/$_p-1)"
	done
}

# One job built by a noop worker, which then exits.
one_job() {
	binfarm-worker -s state --name w1 --tags farm-test --driver noop \
		--workdir work -j 1 --max-jobs 1 --idle-exit 5 >>worker.log 2>&1
}

wapi() {
	curl -sf -X POST -H "Authorization: Bearer $wt" -d "$2" "$url$1"
}

test_expect_success 'setup' '
	sched_tree &&
	farm_profile prof/p t/a t/e t/f &&
	binfarm-builder --init state -l 127.0.0.1:0 -P prof/p >/dev/null &&
	printf "[builder]\nlease-timeout = 60\nmax-attempts = 1\nbackoff = 0\n" \
		>>state/builder.conf &&
	farm_add_workers &&
	farm_add_worker fake
'

test_expect_success 'what waits and what is ready follows the runtime closure' '
	farm_start &&
	sched_env &&
	binfarm rebuild --profile p >out &&
	test_grep "6 packages, 6 to build" out &&
	states >actual &&
	printf "a waiting\nb ready\nc ready\nd ready\ne ready\nf waiting\n" >expect &&
	test_cmp expect actual &&
	sqlite3 state/builder.db "SELECT count(*) FROM groups" >n &&
	echo 5 >expect && test_cmp expect n
'

test_expect_success 'cancelling a runtime dependency blocks what is built after it, transitively; retry queues them again' '
	sched_env &&
	binfarm cancel t/d-1 >out 2>&1 &&
	states >actual &&
	printf "a blocked\nb ready\nc ready\nd cancelled\ne ready\nf blocked\n" >expect &&
	test_cmp expect actual &&
	binfarm retry t/d-1 >out 2>&1 &&
	states >actual &&
	printf "a waiting\nb ready\nc ready\nd ready\ne ready\nf waiting\n" >expect &&
	test_cmp expect actual &&
	binfarm cancel t/e-1 >out 2>&1 &&
	test "$(jstate t/a-1)" = waiting &&
	test "$(jstate t/f-1)" = waiting
'

test_expect_success 't/a is ready exactly when t/b, t/c and t/d are all done' '
	sched_env &&
	i=0 &&
	while test "$(jstate t/a-1)" != ready
	do
		i=$((i + 1)) &&
		test $i -le 3 &&
		one_job &&
		b=$(jstate t/b-1) && c=$(jstate t/c-1) && d=$(jstate t/d-1) &&
		a=$(jstate t/a-1) &&
		if test "$b$c$d" = donedonedone
		then
			test "$a" = ready
		else
			test "$a" = waiting
		fi &&
		test "$(jstate t/f-1)" = waiting || return 1
	done &&
	test $i = 3
'

test_expect_success 'a lease lists the closure unless the worker says "deps": false' '
	sched_env &&
	wapi /v1/workers/register "{\"name\":\"fake\",\"tags\":[\"farm-test\"],\"slots\":1}" >/dev/null &&
	wapi /v1/jobs/lease "{\"name\":\"fake\",\"deps\":false}" >lease &&
	python3 -c "import json, sys; j = json.load(open(\"lease\")); assert j[\"cpv\"] == \"t/a-1\"; assert \"deps\" not in j" &&
	job=$(python3 -c "import json; print(json.load(open(\"lease\"))[\"job\"])") &&
	lease=$(python3 -c "import json; print(json.load(open(\"lease\"))[\"lease\"])") &&
	wapi /v1/jobs/$job/fail "{\"name\":\"fake\",\"lease\":\"$lease\",\"error\":\"x\"}" >/dev/null &&
	test "$(jstate t/a-1)" = failed &&
	test "$(jstate t/f-1)" = blocked &&
	binfarm retry t/a-1 >out 2>&1 &&
	test "$(jstate t/f-1)" = waiting &&
	wapi /v1/jobs/lease "{\"name\":\"fake\"}" >lease &&
	python3 -c "import json; j = json.load(open(\"lease\")); print(j[\"cpv\"], *[d[\"cpv\"] for d in j[\"deps\"]])" >actual &&
	echo "t/a-1 t/b-1 t/c-1 t/d-1" >expect &&
	test_cmp expect actual &&
	lease=$(python3 -c "import json; print(json.load(open(\"lease\"))[\"lease\"])") &&
	wapi /v1/jobs/$job/fail "{\"name\":\"fake\",\"lease\":\"$lease\",\"error\":\"x\"}" >/dev/null &&
	binfarm retry t/a-1 t/e-1 >out 2>&1 &&
	states >actual &&
	printf "a ready\nb done\nc done\nd done\ne ready\nf waiting\n" >expect &&
	test_cmp expect actual
'

test_expect_success 'the rest builds in order and the rebuild completes' '
	test_when_finished "farm_stop" &&
	sched_env &&
	one_job && one_job &&
	test "$(jstate t/f-1)" = ready &&
	one_job &&
	farm_wait_rebuild complete 60 &&
	grep " done: " builder.log | sed "s/.*(\(t\/[a-f]-1\)) done.*/\1/" >order &&
	test "$(tail -1 order)" = t/f-1
'

# The database of an older builder: no groups, and deps listing every
# job of each build-time closure.
test_expect_success 'a database of schema version 0 is brought up to date and its rebuild finishes' '
	ent b-1 "" t/c 7 &&
	git -C gentoo -c user.name=t -c user.email=t@x commit -q -a -m b2 &&
	farm_start &&
	sched_env &&
	binfarm rebuild --profile p >out &&
	test_grep "6 packages, 3 to build, 3 already built" out &&
	farm_stop &&
	sqlite3 state/builder.db >/dev/null <<-\EOF &&
	BEGIN;
	CREATE TABLE d0 AS WITH RECURSIVE r(job, g) AS (SELECT job, dep FROM deps
	  UNION SELECT r.job, gd.dep FROM r JOIN gdeps gd ON gd.grp = r.g)
	  SELECT DISTINCT r.job AS job, j.id AS dep FROM r JOIN jobs j ON j.grp = r.g;
	DELETE FROM deps;
	INSERT INTO deps SELECT job, dep FROM d0;
	DROP TABLE d0;
	DROP TABLE groups;
	DROP TABLE gdeps;
	DROP INDEX jobs_grp;
	ALTER TABLE jobs DROP COLUMN grp;
	PRAGMA user_version = 0;
	COMMIT;
	EOF
	sqlite3 state/builder.db "SELECT count(*) FROM deps d JOIN jobs j ON j.id = d.job WHERE j.cpv = \"t/a-1\" AND j.rebuild = 2" >n &&
	echo 3 >expect && test_cmp expect n &&
	farm_start &&
	test_when_finished "farm_stop" &&
	sched_env &&
	test_grep "schema version 1" builder.log &&
	test "$(sqlite3 state/builder.db "PRAGMA user_version")" = 3 &&
	test "$(jstate t/a-1)" = waiting &&
	test "$(jstate t/b-1)" = ready &&
	one_job &&
	test "$(jstate t/a-1)" = ready &&
	one_job &&
	test "$(jstate t/f-1)" = ready &&
	one_job &&
	farm_wait_rebuild complete 60
'

test_done
