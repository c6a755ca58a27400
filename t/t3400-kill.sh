#!/bin/sh
test_description='kill -9 in the middle of add, snapshot create, promote and gc'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-repo.sh"

# rand N: a pseudo-random number below N.
rand() {
	echo $(( $(od -An -N2 -tu2 /dev/urandom) % $1 ))
}

# killer DELAY_MS CMD...: start CMD, kill -9 it after DELAY_MS.
killer() {
	d=$1
	shift
	"$@" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf "0.%03d" "$d")"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	:
}

test_expect_success 'setup' '
	binfarm repo init --unsigned repo &&
	for v in 1 2 3 4 5 6 7 8; do
		mkpkg in/foo-$v.gpkg.tar app-misc foo-$v &&
		mkpkg in/bar-$v.gpkg.tar dev-libs bar-$v || return 1
	done &&
	binfarm add -q -R repo -p amd64 in/foo-1.gpkg.tar in/bar-1.gpkg.tar &&
	binfarm snapshot -R repo -p amd64 create >/dev/null 2>&1 &&
	binfarm promote -R repo -p amd64 -c production $(snap_ids amd64 | tail -1) >/dev/null 2>&1 &&
	binfarm promote -R repo -p amd64 -c testing $(snap_ids amd64 | tail -1) >/dev/null 2>&1
'

test_expect_success '30 rounds of kill -9 at random instants' '
	i=0 &&
	while test $i -lt 30; do
		v=$(( i % 8 + 1 )) &&
		killer "$(rand 40)" binfarm add -R repo -p amd64 in/foo-$v.gpkg.tar in/bar-$v.gpkg.tar &&
		killer "$(rand 40)" binfarm snapshot -R repo -p amd64 create &&
		id=$(snap_ids amd64 | tail -1) &&
		killer "$(rand 30)" binfarm promote -R repo -p amd64 -c testing --allow-downgrade $id &&
		old=$(snap_ids amd64 | head -1) &&
		killer "$(rand 30)" binfarm promote -R repo -p amd64 -c production --allow-downgrade $old &&
		killer "$(rand 40)" binfarm gc -R repo --keep 2 --grace 0 &&
		check_channel repo testing amd64 &&
		check_channel repo production amd64 || return 1
		i=$((i + 1))
	done
'

test_expect_success 'after the kills: fsck is clean, channels complete, log consistent' '
	binfarm fsck -R repo >out 2>err &&
	test_grep "^clean$" out &&
	binfarm fsck -R repo >out 2>err &&
	test_grep "^clean$" out && ! test_grep recovery err &&
	check_channel repo testing amd64 &&
	check_channel repo production amd64 &&
	for c in testing production; do
		last=$(awk -F"\t" "\$4==\"amd64\" && \$5==\"$c\" {t=\$7} END{print t}" repo/history.log) &&
		test "$last" = "$(channel_id repo $c amd64)" || return 1
	done &&
	test -z "$(ls -A repo/tmp)"
'

test_expect_success 'and the repository still works' '
	binfarm add -q -R repo -p amd64 in/foo-8.gpkg.tar &&
	binfarm snapshot -R repo -p amd64 create >id &&
	binfarm promote -R repo -p amd64 -c testing --allow-downgrade $(cat id) >/dev/null 2>&1 &&
	check_channel repo testing amd64 &&
	binfarm fsck -R repo >out && test_grep "^clean$" out
'

test_done
