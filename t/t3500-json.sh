#!/bin/sh
test_description='--json of snapshot, history, waves, gc and fsck: one shape, stdout only, the same exit status'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-repo.sh"

command -v jq >/dev/null 2>&1 && test_set_prereq JQ

BINFARM_REPO=$PWD/repo
export BINFARM_REPO

# jcheck FILE FILTER: FILE is JSON and jq's FILTER is true of it.
jcheck() {
	jq -e "$2" "$1" >/dev/null || {
		echo >&4 "jq: $2 is not true of $1:"
		cat >&4 "$1"
		return 1
	}
}

# same_code ARGS...: binfarm ARGS exits as binfarm ARGS --json does; the
# JSON run's stdout is in json.out (valid JSON, or empty after an error)
# and its stderr in json.err.
same_code() {
	sc_a=0 sc_b=0
	binfarm "$@" >text.out 2>text.err || sc_a=$?
	binfarm "$@" --json >json.out 2>json.err || sc_b=$?
	test "$sc_a" = "$sc_b" || {
		echo >&4 "exit $sc_a without --json, $sc_b with it"
		return 1
	}
	echo "$sc_a" >code
}

# utc_ok FILE PATH: .PATH and .PATH_utc are one time, in unix seconds
# and as YYYY-MM-DDTHH:MM:SSZ.
utc_ok() {
	uo_t=$(jq -r "$2" "$1") &&
	uo_s=$(jq -r "${2}_utc" "$1") &&
	test "$(date -u -d "@$uo_t" +%Y-%m-%dT%H:%M:%SZ)" = "$uo_s"
}

test_expect_success JQ 'setup: three snapshots, waves, channels moved' '
	binfarm repo init --unsigned repo 2>/dev/null &&
	mkpkg in/foo-1.0.gpkg.tar app-misc foo-1.0 &&
	mkpkg in/foo-1.1.gpkg.tar app-misc foo-1.1 &&
	mkpkg in/bar-2.gpkg.tar app-misc bar-2 &&
	binfarm add -q -R repo -p amd64 in/foo-1.0.gpkg.tar &&
	binfarm snapshot -p amd64 create -m "first" >s1 2>/dev/null &&
	binfarm add -q -R repo -p amd64 in/foo-1.1.gpkg.tar in/bar-2.gpkg.tar &&
	binfarm snapshot -p amd64 create >s2 2>/dev/null &&
	binfarm snapshot -p amd64 create --json >s3.json 2>/dev/null &&
	jcheck s3.json ".profile == \"amd64\" and .packages == 2 and (.id | type) == \"string\"" &&
	jq -r .id s3.json >s3 &&
	echo "waves.production = canary" >>repo/binfarm-repo.conf &&
	binfarm promote -p amd64 -c testing $(cat s2) >/dev/null 2>&1 &&
	binfarm promote -p amd64 -c production --wave canary $(cat s1) >/dev/null 2>&1 &&
	binfarm promote -p amd64 -c production $(cat s1) >/dev/null 2>&1 &&
	binfarm promote -p amd64 -c production --wave canary $(cat s2) >/dev/null 2>&1
'

test_expect_success JQ 'snapshot list --json: the snapshots, oldest first, with their channels' '
	same_code snapshot -p amd64 list &&
	test "$(cat code)" = 0 &&
	test_must_be_empty json.err &&
	jcheck json.out ".profile == \"amd64\" and (.snapshots | length) == 3" &&
	jq -r ".snapshots[].id" json.out >ids &&
	awk "{print \$1}" text.out >expect &&
	test_cmp expect ids &&
	jcheck json.out ".snapshots[0].message == \"first\" and .snapshots[0].packages == 1 and .snapshots[0].parent == null" &&
	jcheck json.out ".snapshots[1].parent == \"$(cat s1)\" and .snapshots[1].packages == 2" &&
	jcheck json.out ".snapshots[0].channels == [\"production\"]" &&
	jcheck json.out ".snapshots[1].channels | sort == [\"production.canary\", \"testing\"]" &&
	jcheck json.out ".snapshots[2].channels == []" &&
	jcheck json.out "[.snapshots[] | .created, .timestamp | type] | unique == [\"number\"]" &&
	utc_ok json.out ".snapshots[0].created"
'

test_expect_success JQ 'snapshot show --json: metadata and entries; @channel resolves' '
	same_code snapshot -p amd64 show @testing &&
	test "$(cat code)" = 0 &&
	jcheck json.out ".id == \"$(cat s2)\" and .profile == \"amd64\" and (.entries | length) == 2" &&
	jcheck json.out "[.entries[].cpv] | sort == [\"app-misc/bar-2\", \"app-misc/foo-1.1\"]" &&
	jcheck json.out "[.entries[].build_id | type] | unique == [\"number\"]" &&
	jcheck json.out ".entries[0].path | startswith(\"app-misc/\")" &&
	jcheck json.out "has(\"tree_commit\") and .tree_commit == null" &&
	utc_ok json.out ".created"
'

test_expect_success JQ 'snapshot diff --json: every change and the counts' '
	same_code snapshot -p amd64 diff $(cat s1) @testing &&
	test "$(cat code)" = 0 &&
	jcheck json.out ".from == \"$(cat s1)\" and .to == \"$(cat s2)\" and .profile == \"amd64\"" &&
	jcheck json.out ".counts == {added: 1, removed: 0, upgraded: 1, downgraded: 0, rebuilt: 0}" &&
	jcheck json.out "[.changes[] | select(.change == \"added\")][0] | .new_cpv == \"app-misc/bar-2\" and .old_cpv == null and .old_build == null and .key == \"app-misc/bar:0\"" &&
	jcheck json.out "[.changes[] | select(.change == \"upgraded\")][0] | .old_cpv == \"app-misc/foo-1.0\" and .new_cpv == \"app-misc/foo-1.1\" and (.new_build | type) == \"number\""
'

test_expect_success JQ 'snapshot --json with a bad id or profile: nothing on stdout, the same exit status' '
	same_code snapshot -p amd64 show nosuch &&
	test "$(cat code)" = 1 &&
	test_must_be_empty json.out &&
	test_grep "no snapshot .nosuch. in profile .amd64." json.err &&
	same_code snapshot -p amd64 diff @nosuch @testing &&
	test "$(cat code)" = 1 &&
	test_must_be_empty json.out &&
	same_code snapshot -p arm64 list &&
	test "$(cat code)" = 1 &&
	test_must_be_empty json.out &&
	test_grep "no profile .arm64." json.err
'

test_expect_success JQ 'history --json: every move, oldest first, from null when new' '
	same_code history &&
	test "$(cat code)" = 0 &&
	test_must_be_empty json.err &&
	jcheck json.out "(.moves | length) == 4" &&
	test $(wc -l <text.out) = 4 &&
	jcheck json.out ".moves[0] | .action == \"promote\" and .channel == \"testing\" and .profile == \"amd64\" and .from == null and .to == \"$(cat s2)\" and (.by | length) > 0" &&
	jcheck json.out ".moves[3] | .channel == \"production.canary\" and .from == \"$(cat s1)\" and .to == \"$(cat s2)\"" &&
	utc_ok json.out ".moves[0].time" &&
	same_code history -c production.canary &&
	jcheck json.out "[.moves[].channel] | unique == [\"production.canary\"] and length == 2" &&
	same_code history -p arm64 &&
	jcheck json.out ".moves == []"
'

test_expect_success JQ 'waves --json: each channel, its waves, each profile stage by stage' '
	same_code waves &&
	test "$(cat code)" = 0 &&
	jcheck json.out "(.channels | length) == 1 and .channels[0].channel == \"production\" and .channels[0].waves == [\"canary\"]" &&
	jcheck json.out ".channels[0].profiles[0].profile == \"amd64\"" &&
	jcheck json.out ".channels[0].profiles[0].stages == [{wave: \"canary\", channel: \"production.canary\", snapshot: \"$(cat s2)\"}, {wave: null, channel: \"production\", snapshot: \"$(cat s1)\"}]" &&
	same_code waves -c testing &&
	test "$(cat code)" = 1 &&
	test_must_be_empty json.out &&
	test_grep "channel .testing. has no waves" json.err &&
	cp repo/binfarm-repo.conf conf.waves &&
	test_when_finished "cp conf.waves repo/binfarm-repo.conf" &&
	sed "/^waves\./d" conf.waves >repo/binfarm-repo.conf &&
	same_code waves &&
	test "$(cat code)" = 0 &&
	jcheck json.out ".channels == []"
'

test_expect_success JQ 'gc --json: what is (or would be) deleted, and the counts' '
	find repo -type f | sort >before &&
	binfarm gc -n --keep 0 --grace 0 --json >json.out 2>json.err &&
	test_must_be_empty json.err &&
	find repo -type f | sort >after &&
	test_cmp before after &&
	jcheck json.out ".dry_run == true and .snapshots_deleted == 1 and ([.deleted[] | select(.kind == \"snapshot\")] | length) == 1" &&
	jcheck json.out "[.deleted[] | select(.kind == \"snapshot\") | .path][0] | endswith(\"$(cat s3)\")" &&
	binfarm gc --keep 0 --grace 0 --json >json.out 2>json.err &&
	jcheck json.out ".dry_run == false and .snapshots_deleted == 1 and .snapshots_kept == 2 and (.bytes_deleted | type) == \"number\"" &&
	test_path_is_missing repo/snapshots/amd64/$(cat s3) &&
	binfarm gc --keep 0 --grace 0 --json >json.out &&
	jcheck json.out ".deleted == [] and .snapshots_deleted == 0 and .files_deleted == 0" &&
	test_expect_code 2 binfarm gc --keep x --json >json.out 2>json.err &&
	test_must_be_empty json.out
'

test_expect_success JQ 'fsck --json: clean, then problems with exit 1 as without --json' '
	same_code fsck &&
	test "$(cat code)" = 0 &&
	jcheck json.out ".clean == true and .signed == false and .count == 0 and .problems == []" &&
	test_grep "the repository is unsigned" json.err &&
	p=$(sed -n "s/^PATH: //p" repo/snapshots/amd64/$(cat s1)/Packages) &&
	mv repo/snapshots/amd64/$(cat s1)/$p saved.gpkg.tar &&
	test_when_finished "mv saved.gpkg.tar repo/snapshots/amd64/$(cat s1)/$p" &&
	same_code fsck &&
	test "$(cat code)" = 1 &&
	jcheck json.out ".clean == false and .count == 1 and (.problems | length) == 1" &&
	jcheck json.out ".problems[0].message | contains(\"missing\")" &&
	test_grep "^problem: snapshots/amd64/$(cat s1)/.*missing" text.out
'

test_done
