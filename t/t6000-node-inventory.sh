#!/bin/sh
test_description='binfarm node: the inventory of nodes (nodes.conf)'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-repo.sh"

# node_add NAME SITE FARM [more options]: adds a node of profile web,
# channel production.
node_add() {
	na_name=$1 na_site=$2 na_farm=$3
	shift 3
	binfarm node -R repo add "$na_name" --site "$na_site" --farm "$na_farm" \
		--profile web --channel production "$@"
}

# refused CODE PATTERN cmd...: fails with exit CODE, says PATTERN on
# stderr, and nodes.conf is what it was (compared with nodes.before).
refused() {
	rf_code=$1 rf_pat=$2
	shift 2
	cp repo/nodes.conf nodes.before &&
	test_expect_code "$rf_code" "$@" >rf.out 2>rf.err &&
	test_grep -e "$rf_pat" rf.err &&
	cmp nodes.before repo/nodes.conf
}

# sha_of TOKEN: its SHA-256 in hex.
sha_of() {
	printf '%s' "$1" | sha256sum | cut -d" " -f1
}

test_expect_success 'set-up: a repository with profile web' '
	binfarm repo init --unsigned repo 2>/dev/null &&
	mkpkg in/foo-1.0.gpkg.tar app-misc foo-1.0 &&
	binfarm add -R repo --profile web in/foo-1.0.gpkg.tar >/dev/null 2>&1 &&
	test_path_is_missing repo/nodes.conf
'

test_expect_success 'binfarm --help lists node; every subcommand has --help' '
	binfarm --help >out &&
	test_grep "^   node " out &&
	binfarm node --help >out &&
	test_grep "Exit status: 0" out &&
	for s in add list show remove token; do
		binfarm node $s --help >out &&
		test_grep "^usage: binfarm node .*$s" out &&
		test_grep "Exit status" out || return 1
	done
'

test_expect_success 'no inventory yet: list says so and prints nothing' '
	binfarm node -R repo list >out 2>err &&
	test_must_be_empty out &&
	test_grep "no nodes in the inventory" err &&
	binfarm node -R repo list --json >out &&
	python3 -c "import json,sys; assert json.load(sys.stdin) == {\"nodes\": []}" <out
'

test_expect_success 'add prints the token once; only its SHA-256 is in the file' '
	node_add par-a-01 par a >add.out 2>add.err &&
	test_grep "^token: [0-9a-f]\{64\}$" add.out &&
	test_grep "will not be shown again" add.out &&
	test "$(wc -l <add.out)" = 2 &&
	token=$(sed -n "s/^token: //p" add.out) &&
	! grep "$token" repo/nodes.conf &&
	! grep "$token" add.err &&
	test_grep "added node .par-a-01.: site par, farm a, member 1" add.err &&
	test_grep "^token-sha256 = $(sha_of "$token")$" repo/nodes.conf &&
	test_grep "^\[node par-a-01\]$" repo/nodes.conf
'

test_expect_success 'add: the member number is the next one by default' '
	node_add par-a-02 par a >add.out 2>add.err &&
	test_grep "member 2," add.err &&
	node_add par-a-03 par a --member 3 >add.out 2>add.err &&
	test_grep "member 3," add.err &&
	node_add par-b-01 par b >add.out 2>add.err &&
	test_grep "member 1," add.err
'

test_expect_success 'add --token-file: a new 0600 file, nothing on stdout' '
	node_add lon-a-01 lon a --token-file lon.token >add.out 2>add.err &&
	test_must_be_empty add.out &&
	test "$(stat -c %a lon.token)" = 600 &&
	token=$(cat lon.token) &&
	echo "$token" | grep -q "^[0-9a-f]\{64\}$" &&
	! grep "$token" repo/nodes.conf add.err &&
	test_grep "^token-sha256 = $(sha_of "$token")$" repo/nodes.conf
'

test_expect_success 'add --token-file refuses an existing file, which stays' '
	echo keep >exists &&
	refused 1 "exists: --token-file writes a new file" \
		binfarm node -R repo add lon-a-02 --site lon --farm a \
		--profile web --channel production --token-file exists &&
	test "$(cat exists)" = keep &&
	test_must_be_empty rf.out
'

test_expect_success 'a token that cannot be printed: the node is not added' '
	cp repo/nodes.conf nodes.before &&
	test_expect_code 2 node_add par-z-01 par z >/dev/full 2>err &&
	test_grep "cannot print the token of node .par-z-01.: .*; the node is not added" err &&
	cmp nodes.before repo/nodes.conf
'

test_expect_success 'list: a table sorted by site, farm and member' '
	binfarm node -R repo list >out &&
	cat >expect <<-\EOF &&
	NAME      SITE  FARM  MEMBER  PROFILE  CHANNEL
	lon-a-01  lon   a          1  web      production
	par-a-01  par   a          1  web      production
	par-a-02  par   a          2  web      production
	par-a-03  par   a          3  web      production
	par-b-01  par   b          1  web      production
	EOF
	test_cmp expect out &&
	binfarm node -R repo list --site par --farm a >out &&
	test "$(wc -l <out)" = 4 &&
	! grep -e lon -e par-b out
'

test_expect_success 'list --json and show --json parse' '
	binfarm node -R repo list --json >out.json &&
	python3 - out.json <<-\EOF &&
	import json, sys
	nodes = json.load(open(sys.argv[1]))["nodes"]
	assert [n["name"] for n in nodes] == ["lon-a-01", "par-a-01",
	    "par-a-02", "par-a-03", "par-b-01"], nodes
	assert nodes[3] == {"name": "par-a-03", "site": "par", "farm": "a",
	    "member": 3, "profile": "web", "channel": "production"}, nodes[3]
	assert all("token" not in k for n in nodes for k in n)
	EOF
	binfarm -R repo node list --site par --farm b --json >out.json &&
	python3 -c "import json,sys; n = json.load(sys.stdin)[\"nodes\"]; assert [x[\"name\"] for x in n] == [\"par-b-01\"], n" <out.json &&
	binfarm node -R repo show par-a-02 --json >out.json &&
	python3 -c "import json,sys; n = json.load(sys.stdin); assert n[\"member\"] == 2 and n[\"farm_members\"] == 3, n" <out.json &&
	if command -v jq >/dev/null 2>&1; then
		binfarm node -R repo list --json >out.json &&
		jq -e ".nodes | length == 5" <out.json >/dev/null
	fi
'

test_expect_success 'show: one node' '
	binfarm node -R repo show par-a-02 >out &&
	cat >expect <<-\EOF &&
	node:     par-a-02
	site:     par
	farm:     a
	member:   2 of 3
	profile:  web
	channel:  production
	EOF
	test_cmp expect out
'

test_expect_success 'a node not in the inventory: show and remove say so' '
	refused 1 "no node .nope. in the inventory" binfarm node -R repo show nope &&
	test_must_be_empty rf.out &&
	refused 1 "no node .nope. in the inventory" binfarm node -R repo remove nope
'

test_expect_success 'add refuses a name twice, file unchanged' '
	refused 1 "node .par-a-01. is already in the inventory (site .par., farm .a., member 1)" \
		node_add par-a-01 lon b &&
	test_must_be_empty rf.out
'

test_expect_success 'add refuses a gap and a member the farm has' '
	refused 1 "farm .a. of site .par. has 3 member(s): the next is member 4, not 5" \
		node_add par-a-05 par a --member 5 &&
	refused 1 "farm .a. of site .par. already has member 2: node .par-a-02." \
		node_add par-a-2b par a --member 2 &&
	refused 1 "farm .b. of site .lon. has 0 member(s): the next is member 1, not 3" \
		node_add lon-b-03 lon b --member 3 &&
	test_must_be_empty rf.out
'

test_expect_success 'add refuses bad names and values, file unchanged' '
	refused 1 "invalid node name .a/b." node_add a/b par c &&
	refused 1 "invalid node name .\.x." node_add .x par c &&
	refused 1 "invalid node name .-x." binfarm node -R repo add --site par \
		--farm c --profile web --channel production -- -x &&
	long=$(printf "%065d" 0) &&
	refused 1 "invalid node name .$long. (letters, digits" node_add "$long" par c &&
	printf "%064d" 0 >name64 &&
	refused 1 "invalid site name .p q." node_add n1 "p q" c &&
	refused 1 "invalid farm name .a+b." node_add n1 par a+b &&
	refused 1 "invalid profile name .\.\./x." \
		binfarm node -R repo add n1 --site par --farm c --profile ../x --channel production &&
	refused 1 "invalid channel name .a/b." \
		binfarm node -R repo add n1 --site par --farm c --profile web --channel a/b &&
	refused 1 "no profile .other. in this repository" \
		binfarm node -R repo add n1 --site par --farm c --profile other --channel production &&
	refused 2 "not a number from 1 to" node_add n1 par c --member 0 &&
	refused 2 "not a number from 1 to" node_add n1 par c --member x &&
	refused 2 "add needs --site, --farm, --profile and --channel" \
		binfarm node -R repo add n1 --site par --profile web --channel production &&
	refused 2 "usage: binfarm node" binfarm node -R repo add &&
	refused 2 "does not apply to .add." node_add n1 par c --json &&
	refused 2 "unknown subcommand .frob." binfarm node -R repo frob &&
	test_must_be_empty rf.out &&
	binfarm node -R repo add "$(cat name64)" --site par --farm c \
		--profile web --channel production >/dev/null 2>&1 &&
	binfarm node -R repo remove "$(cat name64)" 2>/dev/null
'

test_expect_success 'remove refuses to leave a gap in a farm, file unchanged' '
	refused 1 "removing node .par-a-02. would leave a gap in farm .a. of site .par.: it is member 2 of 3" \
		binfarm node -R repo remove par-a-02 &&
	test_grep "remove member 3 first, or use --force" rf.err &&
	refused 1 "would leave a gap" binfarm node -R repo remove par-a-01
'

test_expect_success 'remove the highest member; --force renumbers the rest' '
	binfarm node -R repo remove par-a-03 2>err &&
	test_grep "removed node .par-a-03." err &&
	! grep "par-a-03" repo/nodes.conf &&
	node_add par-a-03 par a >/dev/null 2>&1 &&
	node_add par-a-04 par a >/dev/null 2>&1 &&
	binfarm node -R repo remove par-a-02 --force 2>err &&
	test_grep "node .par-a-03. is now member 2 of farm a of site par (was 3)" err &&
	test_grep "node .par-a-04. is now member 3 of farm a of site par (was 4)" err &&
	binfarm node -R repo list --site par --farm a >out &&
	cat >expect <<-\EOF &&
	NAME      SITE  FARM  MEMBER  PROFILE  CHANNEL
	par-a-01  par   a          1  web      production
	par-a-03  par   a          2  web      production
	par-a-04  par   a          3  web      production
	EOF
	test_cmp expect out
'

# bad_inventory NAME PATTERN: nodes.conf replaced by NAME.conf is
# refused by list (exit 1, PATTERN) and by add, which leaves it as is.
bad_inventory() {
	cp good.conf repo/nodes.conf &&
	cp "$1.conf" repo/nodes.conf &&
	test_expect_code 1 binfarm node -R repo list >out 2>err &&
	test_must_be_empty out &&
	test_grep -e "$2" err &&
	refused 1 "$2" node_add zz-new par z &&
	test_must_be_empty rf.out
}

test_expect_success 'hand-edited nodes.conf: each error names file:line, nothing written' '
	cp repo/nodes.conf good.conf &&
	sed "s/^\[node par-a-03\]$/[node par-a-01]/" good.conf >twice.conf &&
	bad_inventory twice "nodes.conf:[0-9]*: node .par-a-01. is named twice (also on line [0-9]*)" &&
	sed "/^\[node par-a-03\]/,/^$/s/^member = 2$/member = 4/" good.conf >gap.conf &&
	bad_inventory gap "nodes.conf:[0-9]*: farm .a. of site .par.: member 2 is missing" &&
	sed "/^\[node par-a-03\]/,/^$/s/^member = 2$/member = 1/" good.conf >dup.conf &&
	bad_inventory dup "farm .a. of site .par.: member 1 is given twice (nodes .par-a-01. and .par-a-03.)" &&
	sed "s/^channel = production$/&\ncolour = red/" good.conf >key.conf &&
	bad_inventory key "nodes.conf:[0-9]*: unknown key .colour. in node" &&
	sed "s/^farm = b$/farm = b\x00c/" good.conf >nul.conf &&
	bad_inventory nul "nodes.conf:[0-9]*: NUL byte" &&
	{ echo "site = par" && cat good.conf; } >outside.conf &&
	bad_inventory outside "nodes.conf:1: .site. outside a \[node NAME\] section" &&
	sed "s/^\[node par-b-01\]$/[group par-b-01]/" good.conf >section.conf &&
	bad_inventory section "unknown section .\[group par-b-01\]." &&
	sed "s/^\[node par-b-01\]$/[node par\/b]/" good.conf >name.conf &&
	bad_inventory name "invalid node name .par/b." &&
	sed "s/^member = 1$/member = one/" good.conf >member.conf &&
	bad_inventory member "member must be a whole number from 1 to 1000000, not .one." &&
	sed "s/^site = lon$/site = lon\nsite = par/" good.conf >keytwice.conf &&
	bad_inventory keytwice ".site. of node .lon-a-01. is set twice" &&
	sed "/^token-sha256/d" good.conf >notoken.conf &&
	bad_inventory notoken "node .lon-a-01. has no .token-sha256." &&
	sed "s/^profile = web$/profile = ..\/web/" good.conf >profile.conf &&
	bad_inventory profile "invalid profile .\.\./web." &&
	cp good.conf repo/nodes.conf &&
	binfarm node -R repo list >/dev/null
'

test_expect_success 'concurrent adds wait for the lock and both land' '
	rm -f locked &&
	flock repo/.lock sh -c "touch locked; sleep 2" &
	holder=$! &&
	while ! test -f locked; do sleep 0.1; done &&
	{ binfarm node -R repo add ber-a-1 --site ber --farm a --profile web \
		--channel production >c1.out 2>c1.err & } &&
	{ binfarm node -R repo add ber-a-2 --site ber --farm a --profile web \
		--channel production >c2.out 2>c2.err & } &&
	sleep 1 &&
	! grep ber- repo/nodes.conf &&
	wait &&
	test_grep "^token: " c1.out && test_grep "^token: " c2.out &&
	binfarm node -R repo list --site ber >out &&
	test_grep "^ber-a-1 .* 1 \|^ber-a-1 .* 2 " out &&
	test_grep "^ber-a-2 .* 1 \|^ber-a-2 .* 2 " out &&
	test "$(grep -c "^ber-" out)" = 2 &&
	sed -n "s/^ber-a-[12] *ber *a *\([0-9]*\) .*/\1/p" out | sort >members &&
	printf "1\n2\n" >expect && test_cmp expect members
'

test_expect_success 'no token ever reaches the file, list or show' '
	for f in c1.out c2.out; do
		t=$(sed -n "s/^token: //p" $f) &&
		! grep "$t" repo/nodes.conf &&
		binfarm node -R repo list >l && ! grep "$t" l &&
		binfarm node -R repo show ber-a-1 --json >s && ! grep "$t" s || return 1
	done &&
	! ls -a repo | grep "^\.nodes\.conf\.tmp-"
'

# section_of NAME FILE: node NAME's section of FILE.
section_of() {
	sed -n "/^\[node $1\]$/,/^$/p" "$2"
}

test_expect_success 'token: a new token, printed once; only its SHA-256 changes, in that node' '
	old=$(sed -n "s/^token: //p" c1.out) &&
	test_grep "^token-sha256 = $(sha_of "$old")$" repo/nodes.conf &&
	cp repo/nodes.conf nodes.before &&
	binfarm node -R repo token ber-a-1 >tok.out 2>tok.err &&
	test_grep "^token: [0-9a-f]\{64\}$" tok.out &&
	test_grep "this token will not be shown again" tok.out &&
	test_grep "node .ber-a-1. has a new token; its old one no longer works" tok.err &&
	new=$(sed -n "s/^token: //p" tok.out) &&
	test "$new" != "$old" &&
	! grep "$new" repo/nodes.conf tok.err &&
	section_of ber-a-1 repo/nodes.conf >sec &&
	test_grep "^token-sha256 = $(sha_of "$new")$" sec &&
	! grep "$(sha_of "$old")" repo/nodes.conf &&
	diff nodes.before repo/nodes.conf | grep "^[<>]" >changed;
	test $(wc -l <changed) = 2 &&
	test $(grep -c "^[<>] token-sha256 = " changed) = 2 &&
	! ls -a repo | grep "^\.nodes\.conf\.tmp-"
'

test_expect_success 'token --token-file: a new 0600 file, nothing on stdout' '
	binfarm node -R repo token ber-a-2 --token-file ber2.token >tok.out 2>tok.err &&
	test_must_be_empty tok.out &&
	test "$(stat -c %a ber2.token)" = 600 &&
	t=$(cat ber2.token) &&
	echo "$t" | grep -q "^[0-9a-f]\{64\}$" &&
	! grep "$t" repo/nodes.conf tok.err &&
	section_of ber-a-2 repo/nodes.conf >sec &&
	test_grep "^token-sha256 = $(sha_of "$t")$" sec &&
	test_grep "the new token is in .ber2.token. (mode 0600)" tok.err
'

test_expect_success 'token refuses: no such node, an existing file, a bad inventory, stray options' '
	refused 1 "no node .nosuch. in the inventory" binfarm node -R repo token nosuch &&
	test_must_be_empty rf.out &&
	echo keep >exists &&
	refused 1 "exists: --token-file writes a new file" \
		binfarm node -R repo token ber-a-1 --token-file exists &&
	test "$(cat exists)" = keep &&
	refused 2 "usage: binfarm node" binfarm node -R repo token &&
	refused 2 "usage: binfarm node" binfarm node -R repo token ber-a-1 ber-a-2 &&
	refused 2 "\-\-site does not apply to .token." \
		binfarm node -R repo token ber-a-1 --site par &&
	test_must_be_empty rf.out &&
	cp repo/nodes.conf good.conf &&
	test_when_finished "cp good.conf repo/nodes.conf" &&
	sed "/^\[node ber-a-2\]/,/^$/s/^member = [0-9]*$/member = 3/" good.conf >repo/nodes.conf &&
	refused 1 "nodes.conf:[0-9]*: farm .a. of site .ber.: member [12] is missing" \
		binfarm node -R repo token ber-a-1 &&
	test_must_be_empty rf.out
'

test_expect_success 'a token that cannot be printed: the old one stays' '
	cp repo/nodes.conf nodes.before &&
	test_expect_code 2 binfarm node -R repo token ber-a-1 >/dev/full 2>err &&
	test_grep "cannot print the token of node .ber-a-1.: .*; the old token stays" err &&
	cmp nodes.before repo/nodes.conf
'

test_expect_success 'token waits for the writer lock' '
	cp repo/nodes.conf nodes.before &&
	rm -f locked || return 1
	flock repo/.lock sh -c "touch locked; sleep 2" &
	while ! test -f locked; do sleep 0.1; done &&
	{ binfarm node -R repo token ber-a-1 >tl.out 2>tl.err & } &&
	sleep 1 &&
	cmp nodes.before repo/nodes.conf &&
	wait &&
	t=$(sed -n "s/^token: //p" tl.out) &&
	section_of ber-a-1 repo/nodes.conf >sec &&
	test_grep "^token-sha256 = $(sha_of "$t")$" sec
'

test_done
