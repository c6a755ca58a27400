#!/bin/sh
test_description='binfarm gc and fsck'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-repo.sh"

test_expect_success 'setup: five snapshots, channels on two of them' '
	binfarm repo init --unsigned repo &&
	for v in 1 2 3 4 5; do
		mkpkg in/foo-$v.gpkg.tar app-misc foo-$v &&
		binfarm add -q -R repo -p amd64 in/foo-$v.gpkg.tar &&
		binfarm snapshot -R repo -p amd64 create >s$v || return 1
	done &&
	binfarm promote -R repo -p amd64 -c production $(cat s1) >/dev/null 2>&1 &&
	binfarm fsck -R repo >out &&
	test_grep "^clean$" out
'

test_expect_success 'gc --dry-run deletes nothing' '
	find repo -type f | sort >before &&
	binfarm gc -R repo -n --keep 1 --grace 0 >out &&
	test_grep "would be deleted" out &&
	find repo -type f | sort >after &&
	test_cmp before after
'

test_expect_success 'gc keeps channel targets, the newest N and the working set' '
	binfarm gc -R repo --keep 1 --grace 0 >out &&
	for v in 2 3 4; do
		test_path_is_missing repo/snapshots/amd64/$(cat s$v) || return 1
	done &&
	test -d repo/snapshots/amd64/$(cat s1) &&
	test -d repo/snapshots/amd64/$(cat s5) &&
	test_path_is_file repo/pool/amd64/app-misc/foo/foo-1-1.gpkg.tar &&
	test_path_is_file repo/pool/amd64/app-misc/foo/foo-5-1.gpkg.tar &&
	test_path_is_missing repo/pool/amd64/app-misc/foo/foo-3-1.gpkg.tar &&
	check_channel repo production amd64 &&
	binfarm fsck -R repo >out && test_grep "^clean$" out
'

test_expect_success 'gc never deletes a file a retained snapshot references' '
	for id in $(snap_ids amd64); do
		sed -n "s/^PATH: //p" repo/snapshots/amd64/$id/Packages || return 1
	done | sort -u >referenced &&
	binfarm gc -R repo --keep 0 --grace 0 >out &&
	while read -r p; do
		test_path_is_file repo/pool/amd64/$p || return 1
	done <referenced
'

test_expect_success 'gc keeps what a channel pointed at within the grace period' '
	binfarm add -q -R repo -p amd64 in/foo-4.gpkg.tar &&
	binfarm snapshot -R repo -p amd64 create >s6 &&
	binfarm add -q -R repo -p amd64 in/foo-5.gpkg.tar &&
	binfarm snapshot -R repo -p amd64 create >s7 &&
	binfarm promote -R repo -p amd64 -c testing $(cat s6) >/dev/null 2>&1 &&
	binfarm promote -R repo -p amd64 -c testing $(cat s7) >/dev/null 2>&1 &&
	binfarm gc -R repo --keep 0 --grace 1h >out &&
	test -d repo/snapshots/amd64/$(cat s6) &&
	binfarm gc -R repo --keep 0 --grace 0 >out &&
	test_path_is_missing repo/snapshots/amd64/$(cat s6) &&
	test -d repo/snapshots/amd64/$(cat s7) &&
	test_must_fail binfarm gc -R repo --grace 1y 2>err &&
	test_grep "not a duration" err
'

test_expect_success 'gc removes pool files nothing references (a killed add)' '
	mkdir -p repo/pool/amd64/app-misc/orphan &&
	cp in/foo-1.gpkg.tar repo/pool/amd64/app-misc/orphan/orphan-1-1.gpkg.tar &&
	binfarm gc -R repo >out &&
	test_grep "delete pool/amd64/app-misc/orphan/orphan-1-1.gpkg.tar" out &&
	test_path_is_missing repo/pool/amd64/app-misc/orphan/orphan-1-1.gpkg.tar
'

test_expect_success 'fsck reports a corrupted pool file' '
	id=$(channel_id repo production amd64) &&
	p=$(sed -n "s/^PATH: //p" repo/snapshots/amd64/$id/Packages | head -1) &&
	cp repo/pool/amd64/$p saved &&
	printf "X" | dd of=repo/pool/amd64/$p bs=1 seek=2000 conv=notrunc 2>/dev/null &&
	test_expect_code 1 binfarm fsck -R repo >out &&
	test_grep "MD5 .* index says" out &&
	cat saved >repo/pool/amd64/$p &&
	binfarm fsck -R repo >out
'

test_expect_success 'fsck reports a missing file and a broken channel' '
	id=$(channel_id repo production amd64) &&
	p=$(sed -n "s/^PATH: //p" repo/snapshots/amd64/$id/Packages | head -1) &&
	mv repo/snapshots/amd64/$id/$p moved &&
	test_expect_code 1 binfarm fsck -R repo >out &&
	test_grep "problem: snapshots/amd64/$id/$p: missing" out &&
	mv moved repo/snapshots/amd64/$id/$p &&
	ln -s ../../nowhere repo/channels/production/arm64 &&
	test_expect_code 1 binfarm fsck -R repo >out &&
	test_grep "channels/production/arm64: not a link to a snapshot" out &&
	rm repo/channels/production/arm64 &&
	binfarm fsck -R repo >out && test_grep "^clean$" out
'

test_expect_success 'leftover temporary files are cleaned by the next writer' '
	mkdir repo/tmp/snap-123-0 && : >repo/tmp/add-123-1 &&
	: >repo/work/amd64/.Packages.tmp-abcdef &&
	binfarm fsck -R repo >out 2>err &&
	test_grep "recovery: removed leftover .tmp/add-123-1." err &&
	test_grep "recovery: removed leftover temporary file .work/amd64/.Packages.tmp-abcdef." err &&
	test_grep "^clean$" out &&
	test -z "$(ls -A repo/tmp)"
'

test_expect_success 'fsck checks nodes.conf: its error, FILE:LINE, is a problem found' '
	sha=$(printf x | sha256sum | cut -d" " -f1) &&
	cat >repo/nodes.conf <<-EOF &&
	[node a1]
	site = par
	farm = a
	member = 1
	profile = amd64
	channel = production
	token-sha256 = $sha

	[node a2]
	site = par
	farm = a
	member = 3
	profile = amd64
	channel = production
	token-sha256 = $sha
	EOF
	test_expect_code 1 binfarm fsck -R repo >out 2>err &&
	test_grep "^problem: .*nodes.conf:9: .*member" out &&
	test_grep "^1 problem(s)$" out &&
	test_expect_code 1 binfarm fsck -R repo --json >out.json &&
	python3 -c "import json; d = json.load(open(\"out.json\")); assert d[\"count\"] == 1 and \"nodes.conf:9: \" in d[\"problems\"][0][\"message\"], d" &&
	sed "s/^member = 3/member = 2/" repo/nodes.conf >nodes.fixed &&
	mv nodes.fixed repo/nodes.conf &&
	binfarm fsck -R repo >out && test_grep "^clean$" out &&
	printf "[node a1]\nsite = par\n[bogus\n" >repo/nodes.conf &&
	test_expect_code 1 binfarm fsck -R repo >out &&
	test_grep "^problem: .*nodes.conf:3: " out &&
	rm repo/nodes.conf &&
	mkdir repo/nodes.conf &&
	test_expect_code 1 binfarm fsck -R repo >out &&
	test_grep "^problem: .*nodes.conf" out &&
	rmdir repo/nodes.conf &&
	binfarm fsck -R repo >out && test_grep "^clean$" out
'

test_done
