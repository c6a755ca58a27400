#!/bin/sh
test_description='builder: hostile requests cannot forge its log or race its rebuilds'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

# The builder's database, read and written as an intruder with file
# access would (python3's sqlite3: no sqlite3 command needed).
db_query() {
	python3 -c '
import sqlite3, sys
db = sqlite3.connect("state/builder.db")
for row in db.execute(sys.argv[1]):
	print("|".join(str(c) for c in row))
db.commit()' "$1"
}

test_expect_success 'setup' '
	farm_tree gentoo &&
	farm_profile prof/p app-misc/hello app-misc/solo &&
	farm_init
'

test_expect_success 'a URL with %0a and an escape sequence writes one escaped line' '
	farm_start &&
	test_when_finished "farm_stop" &&
	url=$(cat state/builder.url) &&
	code=$(curl -s -o /dev/null -w "%{http_code}" \
		"$url/v1/x%0a2026-01-01T00:00:00Z%20worker%20evil%20registered%1b%5b2J") &&
	test "$code" = 401 &&
	farm_stop &&
	test_grep "refused GET /v1/x\\\\x0A2026-01-01T00:00:00Z worker evil registered\\\\x1B\\[2J" builder.log &&
	test_must_fail grep "^2026-01-01T00:00:00Z worker evil" builder.log &&
	test_must_fail grep -q "$(printf "\033")" builder.log
'

test_expect_success 'rebuilds of one profile asked at once: one runs, the others are refused' '
	farm_start &&
	test_when_finished "farm_stop" &&
	pids= &&
	for i in 1 2 3 4 5 6
	do
		binfarm rebuild --profile p >out.$i 2>err.$i &
		pids="$pids $!"
	done &&
	for p in $pids
	do
		wait $p || :
	done &&
	cat err.* >errs &&
	test "$(grep -c "has a rebuild in progress" errs)" = 5 &&
	binfarm status --json >st.json &&
	python3 -c "
import json, sys
s = json.load(open(\"st.json\"))
r = s[\"profiles\"][0][\"rebuild\"]
assert r[\"state\"] == \"running\", r
" &&
	test "$(db_query "SELECT count(*) FROM rebuilds WHERE state = '"'running'"'")" = 1 &&
	binfarm cancel --profile p
'

test_expect_success 'the database refuses a second running rebuild of a profile' '
	farm_start &&
	test_when_finished "farm_stop" &&
	binfarm rebuild --profile p >/dev/null &&
	farm_stop &&
	test_must_fail db_query "INSERT INTO rebuilds(profile, state, env, trees) SELECT profile, state, env, trees FROM rebuilds WHERE state = '"'running'"'" 2>err &&
	test_grep "UNIQUE constraint failed" err
'

test_expect_success 'a database of schema 1 with two running rebuilds keeps the newest' '
	db_query "DROP INDEX rebuilds_one_running" &&
	db_query "PRAGMA user_version = 1" &&
	old=$(db_query "SELECT id FROM rebuilds WHERE state = '"'running'"'") &&
	db_query "INSERT INTO rebuilds(profile, state, env, trees, created) SELECT profile, state, env, trees, created FROM rebuilds WHERE id = $old" &&
	farm_start &&
	test_when_finished "farm_stop" &&
	test_grep "older of two running rebuilds of one profile cancelled" builder.log &&
	test "$(db_query "SELECT state FROM rebuilds WHERE id = $old")" = cancelled &&
	test "$(db_query "SELECT count(*) FROM jobs WHERE rebuild = $old AND state <> '"'cancelled'"' AND state <> '"'done'"'")" = 0 &&
	test "$(db_query "PRAGMA user_version")" = 3
'

test_done
