#!/bin/sh
test_description='the ebuild driver: real Portage builds the sample world in a disposable root per job'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-portage.sh"
command -v curl >/dev/null 2>&1 || skip_all 'skipped: curl is not installed'

. "$TEST_DIRECTORY/lib-farm.sh"
PROF=web-x86-64-v3

# What a build could change on the host, if it escaped its root.
host_state() {
	for d in /var/db/pkg /usr /etc
	do
		test -e "$d" || continue
		find "$d" -xdev -printf '%p %y %m %s %T@\n' 2>/dev/null
	done | sort | md5sum
}

ebuild_worker() {
	_n=$1
	shift
	binfarm-worker -s state --name "$_n" --tags x86-64-v3,web \
		--driver ebuild --profiles "$BF_SRC_DIR/profiles" \
		--layer "$(pwd -P)/layer" --workdir "$PWD/work-$_n" "$@" \
		>>"worker-$_n.log" 2>&1 &
	echo $! >"worker-$_n.pid"
}

# metadata of a gpkg: KEY: value lines (binary keys by checksum)
gpkg_meta() {
	rm -rf gm && mkdir gm &&
	tar -xf "$1" -C gm &&
	tar -xf gm/*/metadata.tar.zst -C gm &&
	for f in gm/metadata/*
	do
		case $f in
		*.bz2|*.ebuild) printf '%s: %s\n' "${f##*/}" "$(bzcat -f "$f" | md5sum)" ;;
		*) printf '%s: %s\n' "${f##*/}" "$(tr '\n' ' ' <"$f")" ;;
		esac
	done
}

# the image of a gpkg: every entry with its mode, owner, size, link, digest
gpkg_image() {
	rm -rf gi && mkdir gi &&
	tar -xf "$1" -C gi &&
	tar -x --numeric-owner -p -f gi/*/image.tar.zst -C gi &&
	(cd gi/image && find . -printf '%p %y %m %U %G %s %l\n' | sort &&
	 find . -type f -exec sha256sum {} + | sort -k2)
}

test_expect_success 'setup: a Portage layer, the sample trees, profiles, a builder' '
	"$BF_SRC_DIR/scripts/portage-layer.sh" "$PORTAGE_TARBALL" layer >out &&
	test_grep "Portage from" out &&
	test -x layer/usr/lib/portage-src/bin/emerge &&
	! test -e layer/etc/portage &&
	"$BF_SRC_DIR/scripts/sample-tree.sh" trees >/dev/null &&
	# the whole hw-profile reaches Portage: its bashrc and PKG_INSTALL_MASK
	mkdir profiles &&
	cp -R "$BF_SRC_DIR/profiles/$PROF" profiles/ &&
	echo "PKG_INSTALL_MASK=\"/usr/share/doc\"" >>profiles/$PROF/make.conf &&
	cat >profiles/$PROF/bashrc <<-\EOF &&
	FARM_PROFILE_BASHRC=seen
	if [[ ${EBUILD_PHASE} == compile && -e /etc/portage/slow ]]; then
		echo "sleeping in the compile phase"
		sleep 120
	fi
	EOF
	# the worker first has a profile that wants sys-libs/tinyreadline for
	# dev-db/tinysql (the builder planned it without): not from the farm
	cp -R profiles wprofiles &&
	echo "dev-db/tinysql readline" >>wprofiles/$PROF/package.use &&
	touch wprofiles/$PROF/slow &&
	binfarm-builder --init state -l 127.0.0.1:0 \
		-P "$PWD/profiles/$PROF" \
		-r gentoo="$PWD/trees/gentoo@main" \
		-r company="$PWD/trees/company@main" >/dev/null &&
	printf "[builder]\nmax-attempts = 2\nbackoff = 0\nlease-timeout = 5\n" \
		>>state/builder.conf &&
	binfarm-builder -t -s state >out &&
	test_grep "publishing to .*state/repo" out &&
	# the worker this test starts: its own token, what it may build
	farm_add_worker a "profiles = $PROF" "tags = x86-64-v3,web" &&
	farm_worker_token a >token &&
	test -s token
'

roots_in_use() {
	for _p in /proc/[0-9]*
	do
		_r=$(readlink "$_p/root" 2>/dev/null) || continue
		case $_r in "$PWD"/work-a/roots/*) echo "${_p#/proc/}" ;; esac
	done
}

test_expect_success 'a killed worker leaves no process, no mount and no root behind' '
	host_state >host.before &&
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	binfarm rebuild --profile $PROF >out &&
	test_grep "11 packages, 11 to build" out &&
	git -C trees/gentoo rev-parse HEAD >pinned-gentoo &&
	git -C trees/company rev-parse HEAD >pinned-company &&
	# a commit to the live tree beside the pin changes nothing
	echo "src_compile() { die \"built from the live tree\"; }" \
		>>trees/gentoo/sys-libs/tinyz/tinyz-1.3.1.ebuild &&
	git -C trees/gentoo commit -qam "live: break tinyz" &&
	BF_CANARY=worker BINFARM_CANARY=worker BINFARM_WORKER_TOKEN=$(cat token) \
		ebuild_worker a --keep --profiles "$PWD/wprofiles" &&
	i=0 && until grep -qs "sleeping in the compile phase" work-a/jobs/*/build.log
	do
		i=$((i + 1)) && test $i -lt 300 && sleep 0.2 || break
	done &&
	grep -qs "sleeping in the compile phase" work-a/jobs/*/build.log &&
	roots_in_use >pids &&
	test -s pids &&
	kill -9 $(cat worker-a.pid) &&
	rm worker-a.pid &&
	# every process of the job is gone (or a zombie, where the machine'"'"'s
	# init does not reap orphans: it holds no mount, file or memory)
	alive() {
		for p in $(cat pids)
		do
			if grep -qs "^State:[[:space:]]*[A-Y]" /proc/$p/status
			then
				echo $p
			fi
		done
	} &&
	i=0 && while test -n "$(alive)"
	do
		i=$((i + 1)) && test $i -lt 100 && sleep 0.1 || break
	done &&
	alive >left &&
	test_must_be_empty left &&
	roots_in_use >left &&
	test_must_be_empty left &&
	! grep "$PWD/work-a" /proc/self/mountinfo &&
	ls work-a/roots >leftover &&
	test $(wc -l <leftover) = 1
'

test_expect_success 'a dependency missing from the farm fails the job, naming it; nothing is compiled' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	rm wprofiles/$PROF/slow &&
	BF_CANARY=worker BINFARM_CANARY=worker BINFARM_WORKER_TOKEN=$(cat token) \
		ebuild_worker a --keep --profiles "$PWD/wprofiles" &&
	farm_wait_rebuild failed 600 &&
	test_grep "removing the leftover build root .*/work-a/roots/$(cat leftover)$" \
		worker-a.log &&
	test_expect_code 1 binfarm log --no-follow dev-db/tinysql >log &&
	test_grep "not built by the farm (would be compiled here): sys-libs/tinyreadline-8.2_p10" log &&
	! grep ">>> Compiling source" log &&
	test_grep "binfarm-builder: failed after 2 attempts: .*dependencies not built by the farm (emerge would compile them; nothing was built): sys-libs/tinyreadline-8.2_p10" log &&
	test_expect_code 1 binfarm status >st &&
	test_grep "1 failed, 2 blocked" st
'

test_expect_success 'with the profile fixed, the rebuild completes; the host is untouched' '
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	sed -i "/tinysql readline/d" wprofiles/$PROF/package.use &&
	binfarm retry dev-db/tinysql >out 2>&1 &&
	BF_CANARY=worker BINFARM_CANARY=worker BINFARM_WORKER_TOKEN=$(cat token) \
		ebuild_worker a --keep --profiles "$PWD/wprofiles" &&
	farm_wait_rebuild complete 600 &&
	binfarm status >st &&
	test_grep "11/11 done" st &&
	test_grep "^PACKAGES: 11$" state/repo/channels/testing/$PROF/Packages &&
	binfarm verify --keyring state/repo/keys/binfarm.asc \
		state/repo/channels/testing/$PROF/*/*/*.gpkg.tar >/dev/null &&
	host_state >host.after &&
	test_cmp host.before host.after &&
	ls work-a/roots >roots &&
	test $(wc -l <roots) -le 1
'

test_expect_success 'the packages: pinned REPO_REVISIONS, clean environment, the whole profile' '
	P=state/repo/channels/testing/$PROF &&
	g=$(cat pinned-gentoo) && c=$(cat pinned-company) &&
	test "$g" != "$(git -C trees/gentoo rev-parse HEAD)" &&
	binfarm inspect $P/sys-libs/tinyz/*.gpkg.tar >meta &&
	test_grep "^REPO_REVISIONS: {\"gentoo\": \"$g\"}$" meta &&
	binfarm inspect $P/www-apps/shopfront/*.gpkg.tar >smeta &&
	test_grep "^REPO_REVISIONS: {\"company\": \"$c\", \"gentoo\": \"$g\"}$" smeta &&
	test_grep "^PKG_INSTALL_MASK: /usr/share/doc$" smeta &&
	binfarm inspect $P/www-servers/tinyhttpd/*.gpkg.tar >hmeta &&
	test_grep "^NEEDED.ELF.2: X86_64;/usr/bin/tinyhttpd;" hmeta &&
	test_grep "^CFLAGS: .*-march=x86-64-v3" hmeta &&
	for pkg in $P/*/*/*.gpkg.tar
	do
		rm -rf m && mkdir m &&
		tar -xf "$pkg" -C m &&
		tar -xf m/*/metadata.tar.zst -C m &&
		bzcat m/metadata/environment.bz2 >env &&
		test_grep "^declare -- FARM_PROFILE_BASHRC=\"seen\"" env &&
		! grep -E "BF_|BINFARM|CANARY" env &&
		! grep -F "$(cat token)" env &&
		tar -tf m/*/image.tar.zst >files &&
		! grep "usr/share/doc" files || return 1
	done
'

test_expect_success 'each package equals what Portage'"'"'s package phase wrote, but BUILD_ID and BUILD_TIME' '
	P=state/repo/channels/testing/$PROF &&
	n=0 &&
	for j in work-a/jobs/*/job.json
	do
		d=${j%/job.json} &&
		cpv=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))[\"cpv\"])" "$j") &&
		cat=${cpv%%/*} && pf=${cpv#*/} &&
		ours=$(ls $d/pkgdir/$cat/*/$pf-*.gpkg.tar 2>/dev/null) &&
		test -n "$ours" || continue
		pub=$(ls $P/$cat/*/$pf-*.gpkg.tar) &&
		gpkg_meta "$ours" | grep -vE "^BUILD_(ID|TIME):" >meta.portage &&
		gpkg_meta "$pub" | grep -vE "^BUILD_(ID|TIME):" >meta.farm &&
		test_cmp meta.portage meta.farm &&
		gpkg_image "$ours" >img.portage &&
		gpkg_image "$pub" >img.farm &&
		test_cmp img.portage img.farm &&
		n=$((n + 1)) || return 1
	done &&
	test $n = 11
'

test_expect_success 'real emerge installs them from binfarm-binhost, signatures required' '
	mkdir psrc &&
	tar -xf "$PORTAGE_TARBALL" -C psrc --strip-components=1 &&
	WORK=$PWD/ec/run CHANNEL=testing BINFARM_SRC=$BF_SRC_DIR \
		"$BF_SRC_DIR/scripts/emerge-check.sh" psrc state/repo $PROF \
		www-servers/tinyhttpd www-apps/shopfront >ec.log 2>&1 &&
	test_grep "^emerge-check: OK" ec.log &&
	test_grep "^www-apps/shopfront -> www-apps/shopfront-2.4.0 " ec.log &&
	test_grep "tinyhttpd 1.26.2" ec.log &&
	test_grep "GnuPG verification failed" ec/run/negative.log &&
	! grep "WARNING: environment.bz2 carries" ec.log &&
	! grep "WARNING: no REPO_REVISIONS" ec.log &&
	! grep "WARNING: ELF files but no NEEDED" ec.log
'

test_done
