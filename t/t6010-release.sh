#!/bin/sh
test_description='binfarm release: waves from the inventory, node URLs, fleet'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-repo.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

# The inventory: site a, farms f1 and f2 of two members each (channel
# production), and one node on channel beta.  Tokens in tok/NAME.
node_add() {
	binfarm node -R repo add "$1" --site a --farm "$2" --profile web \
		--channel "${3:-production}" --token-file "tok/$1" >/dev/null
}

# nget NAME PATH [curl args]: GET /node/NAME/PATH with NAME's token;
# the body in out, the status printed.
nget() {
	ng_name=$1 ng_path=$2
	shift 2
	curl -s -o out -w '%{http_code}' -u "$ng_name:$(cat "tok/$ng_name")" \
		"$@" "$(bh_url)/node/$ng_name/$ng_path"
}

# snap_of NAME: the snapshot id NAME's Packages is from (its TIMESTAMP
# says which: ts.SNAP files map them).
snap_of() {
	test "$(nget "$1" Packages)" = 200 &&
	ts=$(sed -n "s/^TIMESTAMP: //p" out) &&
	cat "ts.$ts"
}

# Portage's own fetcher (portage.util._urlopen) from its source tarball.
: "${PORTAGE_TARBALL:=$(ls "$BF_SRC_DIR"/../shared/portage/portage-*.tar.xz 2>/dev/null | head -1)}"
test -n "$PORTAGE_TARBALL" && test -f "$PORTAGE_TARBALL" &&
	command -v python3 >/dev/null 2>&1 && test_set_prereq PORTAGE_SRC

# recorded NAME ID: the binhost wrote that NAME has snapshot ID.
recorded() {
	wait_grep "^$1	web	[a-z]*	$2	" repo/fleet/nodes.state
}

test_expect_success CURL 'setup: snapshots s1 (foo 1.0), s2 (foo 1.1), s3 (+glibc)' '
	binfarm repo init --unsigned repo 2>/dev/null &&
	mkpkg in/foo-1.0.gpkg.tar app-misc foo-1.0 &&
	mkpkg in/foo-1.1.gpkg.tar app-misc foo-1.1 &&
	mkpkg in/glibc-2.40.gpkg.tar sys-libs glibc-2.40 &&
	binfarm add -q -R repo -p web in/foo-1.0.gpkg.tar 2>/dev/null &&
	binfarm snapshot -R repo -p web create >s1 2>/dev/null &&
	binfarm add -q -R repo -p web in/foo-1.1.gpkg.tar 2>/dev/null &&
	binfarm snapshot -R repo -p web create >s2 2>/dev/null &&
	binfarm add -q -R repo -p web in/glibc-2.40.gpkg.tar 2>/dev/null &&
	binfarm snapshot -R repo -p web create >s3 2>/dev/null &&
	for s in s1 s2 s3; do
		ts=$(sed -n "s/^TIMESTAMP: //p" repo/snapshots/web/$(cat $s)/Packages) &&
		cat $s >ts.$ts || return 1
	done &&
	binfarm promote -R repo -p web -c production $(cat s1) >/dev/null 2>&1 &&
	binfarm promote -R repo -p web -c testing $(cat s2) >/dev/null 2>&1 &&
	binfarm promote -R repo -p web -c beta $(cat s3) >/dev/null 2>&1 &&
	mkdir tok && chmod 700 tok &&
	node_add w11 f1 && node_add w12 f1 && node_add w21 f2 && node_add w22 f2 &&
	node_add b1 fb beta &&
	start_binhost --root repo --access-log "$PWD/access.log"
'

test_expect_success CURL 'plan proposes all for a change to no listed package' '
	binfarm release -R repo plan -c production --from testing >out &&
	test_grep "upgraded .*app-misc/foo-1.0" out &&
	test_grep "proposed strategy: all (web: no change is on the" out &&
	test_grep "wave 1/1 .* 0/4 node" out &&
	test_path_is_missing repo/releases
'

test_expect_success CURL 'a package on the application list proposes by-farm' '
	cp repo/binfarm-repo.conf conf.orig &&
	echo "release.application = app-misc/foo" >>repo/binfarm-repo.conf &&
	binfarm release -R repo plan -c production --from testing >out &&
	test_grep "proposed strategy: by-farm (web: app-misc/foo upgraded: on the application list" out &&
	test_grep "wave 1/2 .* 0/2 node" out &&
	test_grep "wave 2/2 .* 0/2 node" out &&
	binfarm release -R repo plan -c production --from testing --json >plan.json &&
	python3 -c "
import json, sys
j = json.load(open(\"plan.json\"))
assert j[\"strategy\"] == \"by-farm\", j
assert [[n[\"name\"] for n in w[\"nodes\"]] for w in j[\"waves\"]] == [[\"w11\", \"w12\"], [\"w21\", \"w22\"]], j
" &&
	cp conf.orig repo/binfarm-repo.conf
'

test_expect_success CURL 'a package on the disruptive list proposes by-member, wave k = member k' '
	binfarm release -R repo plan -c production --snapshot web=$(cat s3) --json >plan.json &&
	python3 -c "
import json
j = json.load(open(\"plan.json\"))
assert j[\"strategy\"] == \"by-member\", j
assert [[n[\"name\"] for n in w[\"nodes\"]] for w in j[\"waves\"]] == [[\"w11\", \"w21\"], [\"w12\", \"w22\"]], j
"
'

test_expect_success CURL 'a strategy less careful than proposed needs --force' '
	test_expect_code 1 binfarm release -R repo start -c production \
		--snapshot web=$(cat s3) --strategy all >out 2>err &&
	test_grep "strategy all is less careful than the proposed by-member" err &&
	test_path_is_missing repo/releases/production
'

test_expect_success CURL 'node URLs: no identity, a wrong token, a forged name: 401' '
	test "$(http_code /node/w11/Packages)" = 401 &&
	curl -s -D h -o /dev/null "$(bh_url)/node/w11/Packages" &&
	test_grep -i "^WWW-Authenticate: Basic realm=\"binfarm node\"" h &&
	test "$(http_code /node/w11/Packages -u w11:0000)" = 401 &&
	test "$(http_code /node/w11/Packages -u "w12:$(cat tok/w12)")" = 401 &&
	test "$(http_code /node/nosuch/Packages -u "nosuch:$(cat tok/w12)")" = 401 &&
	test "$(http_code /node/w11/Packages -u "w11:$(cat tok/w11)")" = 200 &&
	test "$(http_code /node/w11/secret -u "w11:$(cat tok/w11)")" = 404 &&
	! grep "$(cat tok/w11)" access.log binhost.err
'

test_expect_success CURL 'without a release a node gets its channel: production s1, beta s3' '
	test "$(snap_of w11)" = "$(cat s1)" &&
	test "$(snap_of b1)" = "$(cat s3)" &&
	recorded w11 "$(cat s1)" &&
	wait_grep "w11 \[" access.log
'

test_expect_success CURL 'start by-member: wave 1 nodes get s3, wave 2 nodes s1' '
	binfarm release -R repo start -c production --snapshot web=$(cat s3) >out &&
	test_grep "release 1 of production started: by-member, 2 wave" out &&
	test_grep "	1	production	start	by-member	" repo/releases.log &&
	test "$(snap_of w11)" = "$(cat s3)" &&
	test "$(snap_of w12)" = "$(cat s1)" &&
	test "$(snap_of w22)" = "$(cat s1)"
'

test_expect_success CURL 'a second release of the channel is refused, nothing changes' '
	cp repo/releases/production rel.before &&
	test_expect_code 1 binfarm release -R repo start -c production --from testing >out 2>err &&
	test_grep "release 1 of .production. is running" err &&
	cmp rel.before repo/releases/production
'

test_expect_success CURL 'status names the nodes an open wave waits for' '
	recorded w11 "$(cat s3)" &&
	binfarm release -R repo status -c production >out &&
	test_grep "wave 1/2  open .* 1/2 node(s) fetched; waiting for: w21" out &&
	test_grep "wave 2/2  waiting" out
'

test_expect_success CURL 'package files come from the index the node has' '
	p=$(sed -n "s/^PATH: //p" repo/snapshots/web/$(cat s3)/Packages | grep glibc) &&
	fl() { curl -s "$(bh_url)/metrics" | sed -n "s/^binhost_file_loop_requests_total //p"; } &&
	before=$(fl) &&
	test "$(nget w11 "$p")" = 200 &&
	test "$(fl)" -gt "$before" &&
	cmp out "repo/snapshots/web/$(cat s3)/$p" &&
	test "$(nget w12 "$p")" = 404 &&
	wait_grep "	w11	snapshots/web/$(cat s3)/$p	" repo/fleet/downloads.log
'

test_expect_success CURL 'the wave opens when its last node has fetched' '
	test "$(snap_of w21)" = "$(cat s3)" &&
	recorded w21 "$(cat s3)" &&
	test "$(snap_of w12)" = "$(cat s3)" &&
	recorded w12 "$(cat s3)" &&
	binfarm release -R repo status -c production >out &&
	test_grep "wave 1/2  done" out &&
	test_grep "wave 2/2  open .* waiting for: w22" out
'

test_expect_success CURL 'fleet shows every node: snapshot, files, wave' '
	recorded w12 "$(cat s3)" &&
	binfarm fleet -R repo >out &&
	test_grep "^w11 .*$(cat s3) .* 1  1/1 done, fetched" out &&
	test_grep "^w22 .*$(cat s1) .*1/2 open$" out &&
	test_grep "^b1 .*beta .*$(cat s3) .*current" out &&
	binfarm fleet -R repo --json >fleet.json &&
	python3 -c "
import json
n = {x[\"name\"]: x for x in json.load(open(\"fleet.json\"))[\"nodes\"]}
assert n[\"w11\"][\"files\"] == 1 and n[\"w11\"][\"done\"], n[\"w11\"]
assert n[\"w22\"][\"wave_state\"] == \"open\" and not n[\"w22\"][\"done\"]
assert n[\"b1\"][\"release\"] == 0 and n[\"b1\"][\"snapshot\"] == n[\"b1\"][\"channel_snapshot\"]
"
'

test_expect_success CURL 'the binhost restarted mid-release carries on (kill -9)' '
	kill -9 $(cat binhost.pid) &&
	rm -f binhost.pid &&
	start_binhost --root repo --access-log "$PWD/access.log" &&
	test "$(snap_of w22)" = "$(cat s3)" &&
	test "$(snap_of w11)" = "$(cat s3)"
'

test_expect_success CURL 'wait finishes the release: the channel itself moves' '
	recorded w22 "$(cat s3)" &&
	binfarm release -R repo wait -c production --timeout 10 >out 2>err &&
	test_grep "release 1 of production is done" out &&
	test "$(channel_id repo production web)" = "$(cat s3)" &&
	test_grep "promote	web	production	$(cat s1)	$(cat s3)" repo/history.log &&
	test_grep "^state done" repo/releases/production
'

test_expect_success CURL 'pause holds the next wave; advance ends one by hand' '
	binfarm release -R repo start -c production --snapshot web=$(cat s2) \
		--allow-downgrade --strategy by-member >out 2>err &&
	binfarm release -R repo pause -c production >out &&
	test_grep "pause (paused)" out &&
	test "$(snap_of w11)" = "$(cat s2)" &&
	test "$(snap_of w21)" = "$(cat s2)" &&
	recorded w21 "$(cat s2)" && recorded w11 "$(cat s2)" &&
	test "$(snap_of w12)" = "$(cat s3)" &&
	binfarm release -R repo resume -c production >out &&
	test "$(snap_of w12)" = "$(cat s2)" &&
	binfarm release -R repo advance -c production >out &&
	binfarm release -R repo status -c production >out &&
	test_grep "wave 2/2  done .*(advanced by" out
'

test_expect_success CURL 'rollback of a running release: nodes back to the channel' '
	binfarm release -R repo rollback -c production >out &&
	test_grep "rolled-back" out &&
	test "$(snap_of w11)" = "$(cat s3)" &&
	test "$(channel_id repo production web)" = "$(cat s3)" &&
	test_expect_code 1 binfarm release -R repo wait -c production >out 2>err &&
	test_grep "rolled back by" err
'

test_expect_success CURL 'the downgrade guard holds per node' '
	# b1 has s3 (beta); moved to production, where a release gives s2
	binfarm node -R repo remove b1 >/dev/null &&
	rm tok/b1 &&
	node_add b1 f3 production &&
	binfarm promote -R repo -p web -c production --allow-downgrade $(cat s1) >/dev/null 2>&1 &&
	binfarm release -R repo start -c production --snapshot web=$(cat s2) --strategy all >out 2>err &&
	test "$(snap_of b1)" = "$(cat s3)" &&
	test "$(snap_of w11)" = "$(cat s3)" &&
	curl -s "$(bh_url)/metrics" >m &&
	test_grep "^binhost_fleet_downgrades_held_total [1-9]" m &&
	binfarm release -R repo rollback -c production >/dev/null &&
	binfarm release -R repo start -c production --snapshot web=$(cat s2) \
		--strategy all --allow-downgrade >out 2>err &&
	test "$(snap_of b1)" = "$(cat s2)"
'

test_expect_success CURL 'Last-Modified moves forward with the node snapshot' '
	curl -s -D h1 -o /dev/null -u "b1:$(cat tok/b1)" "$(bh_url)/node/b1/Packages" &&
	lm=$(hdr Last-Modified h1) &&
	test "$(nget b1 Packages -H "If-Modified-Since: $lm")" = 304 &&
	binfarm release -R repo rollback -c production >/dev/null &&
	test "$(nget b1 Packages -H "If-Modified-Since: $lm")" = 200
'

test_expect_success CURL 'a node moved to an older channel keeps its snapshot until the channel is moved back' '
	sleep 1 &&
	node_add c1 fc beta &&
	test "$(snap_of c1)" = "$(cat s3)" &&
	binfarm node -R repo remove c1 >/dev/null && rm tok/c1 &&
	node_add c1 fc production &&
	test "$(channel_id repo production web)" = "$(cat s1)" &&
	test "$(snap_of c1)" = "$(cat s3)" &&
	binfarm promote -R repo -p web -c production $(cat s2) >/dev/null 2>&1 &&
	test "$(snap_of c1)" = "$(cat s3)" &&
	binfarm promote -R repo -p web -c production --allow-downgrade $(cat s1) >/dev/null 2>&1 &&
	test "$(snap_of c1)" = "$(cat s1)"
'

test_expect_success CURL 'gc keeps the snapshot a node has, and those of a running release' '
	# s4: only node d1 has it (gamma moved on); s5: only a release names it
	mkpkg in/bar-1.gpkg.tar dev-libs bar-1 &&
	binfarm add -q -R repo -p web in/bar-1.gpkg.tar 2>/dev/null &&
	binfarm snapshot -R repo -p web create >s4 2>/dev/null &&
	binfarm promote -R repo -p web -c gamma $(cat s4) >/dev/null 2>&1 &&
	node_add d1 fd gamma &&
	test "$(nget d1 Packages)" = 200 &&
	recorded d1 "$(cat s4)" &&
	binfarm promote -R repo -p web -c gamma --allow-downgrade $(cat s3) >/dev/null 2>&1 &&
	binfarm snapshot -R repo -p web create >s5 2>/dev/null &&
	binfarm release -R repo start -c gamma --snapshot web=$(cat s5) --strategy by-member >/dev/null 2>&1 &&
	binfarm gc -R repo -n --keep 0 --grace 0 >gc.out 2>&1 &&
	! grep "snapshots/web/$(cat s4)" gc.out &&
	! grep "snapshots/web/$(cat s5)" gc.out &&
	binfarm node -R repo remove d1 >/dev/null &&
	binfarm release -R repo rollback -c gamma >/dev/null &&
	binfarm gc -R repo -n --keep 0 --grace 0 >gc.out 2>&1 &&
	grep "delete snapshot snapshots/web/$(cat s4)" gc.out &&
	grep "delete snapshot snapshots/web/$(cat s5)" gc.out
'

test_expect_success CURL,PORTAGE_SRC "Portage's fetcher gets a node's index with the URL's credentials" '
	mkdir psrc &&
	tar -xJf "$PORTAGE_TARBALL" -C psrc --strip-components=1 --wildcards "*/lib/portage/*" &&
	port=$(cat binhost.port) &&
	cat >fetch.py <<-EOF &&
	import sys
	sys.path.insert(0, "psrc/lib")
	from portage.util._urlopen import urlopen
	url = "http://w11:%s@127.0.0.1:$port/node/w11/Packages.gz" % open("tok/w11").read().strip()
	f = urlopen(url)
	sys.stdout.buffer.write(f.read())
	print(f.headers["timestamp"], file=sys.stderr)
	EOF
	python3 fetch.py >pk.gz 2>ts &&
	gzip -dc pk.gz | grep "^TIMESTAMP: " &&
	test -s ts &&
	curl -s -o /dev/null -w "%{http_code}" "$(bh_url)/node/w11/Packages.gz" >code &&
	test "$(cat code)" = 401
'

test_expect_success CURL 'bad input: no channel, unknown subcommand, no such snapshot' '
	test_expect_code 2 binfarm release -R repo start --from testing 2>err &&
	test_grep "start needs --channel" err &&
	test_expect_code 2 binfarm release -R repo frobnicate -c production 2>err &&
	test_grep "usage:" err &&
	test_expect_code 1 binfarm release -R repo start -c production --snapshot web=20990101T000000Z-0001 2>err &&
	test_grep "no snapshot" err &&
	test_expect_code 1 binfarm release -R repo finish -c nosuch 2>err &&
	test_grep "has had no release" err
'

test_expect_success CURL 'fsck checks the release files and the records' '
	binfarm fsck -R repo >out 2>&1 &&
	cp repo/releases/production rel.good &&
	echo "wave 9 x=web" >>repo/releases/production &&
	test_expect_code 1 binfarm fsck -R repo >out 2>&1 &&
	test_grep "releases/production:.*numbered 1, 2" out &&
	cp rel.good repo/releases/production &&
	cp repo/fleet/nodes.state state.good &&
	printf "bad line\n" >>repo/fleet/nodes.state &&
	test_expect_code 1 binfarm fsck -R repo >out 2>&1 &&
	test_grep "nodes.state:.*fields" out &&
	cp state.good repo/fleet/nodes.state
'

test_expect_success CURL 'the leftover of a killed writer in releases/ goes with the next save' '
	: >repo/releases/.production.tmp-AbC123 &&
	binfarm fsck -R repo >out 2>&1 &&
	binfarm release -R repo start -c production --snapshot web=$(cat s2) \
		--strategy all --allow-downgrade >out 2>&1 &&
	test_path_is_missing repo/releases/.production.tmp-AbC123
'

test_expect_success CURL,ROOT 'a binhost run as another user reads the inventory beneath its root' '
	# nobody cannot walk to priv/repo: only the root descriptor opened
	# before dropping root reaches nodes.conf, releases/ and fleet/
	mkdir priv && cp -a repo priv/ && chmod 700 priv &&
	stop_binhost &&
	start_binhost --root priv/repo -u nobody &&
	test "$(nget w11 Packages)" = 200 &&
	test "$(stat -c %U priv/repo/fleet)" = nobody &&
	wait_grep "^w11	" priv/repo/fleet/nodes.state
'

test_expect_success CURL 'a channel may not be called node' '
	test_expect_code 2 binfarm promote -R repo -p web -c node $(cat s1) >out 2>err &&
	test_grep "cannot be a channel" err &&
	test_path_is_missing repo/channels/node
'

test_done
