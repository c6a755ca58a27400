#!/bin/sh
test_description='binfarm-node: CPU level, key trust, binrepos.conf, and the signed pinned trees a snapshot serves'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-repo.sh"
. "$TEST_DIRECTORY/lib-tree.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

command -v gpg >/dev/null 2>&1 || skip_all 'skipped: gpg is not installed'
command -v curl >/dev/null 2>&1 || skip_all 'skipped: curl is not installed'

# fake_cpu FILE FLAGS...: a /proc/cpuinfo with these flags
fake_cpu() {
	_f=$1
	shift
	printf 'processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: %s\n\nprocessor\t: 1\nflags\t\t: %s\n' \
		"$*" "$*" >"$_f"
}
V1='fpu cx8 cmov mmx fxsr sse sse2 syscall lm'
V2="$V1 pni ssse3 cx16 sse4_1 sse4_2 popcnt lahf_lm"
V3="$V2 avx avx2 bmi1 bmi2 f16c fma abm movbe xsave"
V4="$V3 avx512f avx512dq avx512cd avx512bw avx512vl"

test_expect_success 'level: the x86-64 level of a CPU, as glibc defines the levels' '
	fake_cpu v1.cpu $V1 && fake_cpu v2.cpu $V2 &&
	fake_cpu v3.cpu $V3 && fake_cpu v4.cpu $V4 &&
	for l in v1 v2 v3 v4
	do
		BINFARM_NODE_CPUINFO=$l.cpu binfarm-node level >out &&
		echo $l >expect && test_cmp expect out || return 1
	done &&
	# AVX2 without FMA is not v3; SSE4.2 without pni (SSE3) is not v2
	fake_cpu nofma.cpu $(echo "$V3" | sed "s/ fma / /") &&
	BINFARM_NODE_CPUINFO=nofma.cpu binfarm-node level >out &&
	echo v2 >expect && test_cmp expect out &&
	fake_cpu nopni.cpu $(echo "$V2" | sed "s/ pni / /") &&
	BINFARM_NODE_CPUINFO=nopni.cpu binfarm-node level >out &&
	echo v1 >expect && test_cmp expect out &&
	fake_cpu arm.cpu fp asimd evtstrm aes crc32 &&
	test_expect_code 1 env BINFARM_NODE_CPUINFO=arm.cpu binfarm-node level 2>err &&
	test_grep "not x86-64" err &&
	test_expect_code 1 env BINFARM_NODE_CPUINFO=nothere binfarm-node level 2>err &&
	test_grep "cannot read" err
'

test_expect_success 'usage errors exit 2' '
	test_expect_code 2 binfarm-node 2>err && test_grep "no command" err &&
	test_expect_code 2 binfarm-node frob 2>err && test_grep "unknown command" err &&
	test_expect_code 2 binfarm-node --bogus level 2>err &&
	test_expect_code 2 binfarm-node setup 2>err && test_grep "needs --url" err &&
	test_expect_code 2 binfarm-node setup --url ftp://x/y 2>err &&
	test_grep "must be http" err &&
	binfarm-node --help >out && test_grep "^usage: binfarm-node" out
'

test_expect_success 'the hw-profile declares its level, or -march says it' '
	binfarm snapshot --help >out 2>&1 && test_grep "x86-64-level" out &&
	for p in v2 v3
	do
		bf-test-tool profile "$BF_SRC_DIR/profiles/web-x86-64-$p" >out &&
		test_grep "^x86-64-level $p$" out || return 1
	done &&
	cp -R "$BF_SRC_DIR/profiles/web-x86-64-v2" prof &&
	sed -i "s/-march=x86-64-v2/-march=x86-64/" prof/make.conf &&
	bf-test-tool profile prof >out && test_grep "^x86-64-level v1$" out &&
	sed -i "s/-march=x86-64\\\"/-march=znver3\\\"/" prof/make.conf &&
	bf-test-tool profile prof >out && test_grep "^x86-64-level (none)$" out &&
	sed -i "s/^\[profile\]$/[profile]\nx86-64-level = v3/" prof/profile.conf &&
	bf-test-tool profile prof >out && test_grep "^x86-64-level v3$" out &&
	sed -i "s/^x86-64-level = v3$/x86-64-level = v5/" prof/profile.conf &&
	test_must_fail bf-test-tool profile prof 2>err &&
	test_grep "profile.conf:[0-9]*: x86-64-level must be v1, v2, v3 or v4, not .v5." err
'

test_expect_success 'setup: pinned trees, a signed repository, a snapshot' '
	tree_init gentoo &&
	tree_ebuild gentoo app-misc/foo-1.0 &&
	mkdir -p gentoo/profiles/default && echo "amd64" >gentoo/profiles/arch.list &&
	printf "#!/bin/sh\necho hi\n" >gentoo/app-misc/foo/run.sh &&
	chmod +x gentoo/app-misc/foo/run.sh &&
	ln -s ../foo gentoo/app-misc/foo-link &&
	tree_commit gentoo &&
	tree_init company &&
	tree_ebuild company www-apps/shop-2.0 &&
	tree_commit company &&
	binfarm tree pin gentoo="$PWD/gentoo" company="$PWD/company" >pins 2>/dev/null &&
	G=$(git -C gentoo rev-parse HEAD) && C=$(git -C company rev-parse HEAD) &&
	echo "$G" >G && echo "$C" >C &&
	binfarm repo init repo 2>/dev/null &&
	mkpkg in/foo-1.0.gpkg.tar app-misc foo-1.0 &&
	binfarm add -R repo -p web in/foo-1.0.gpkg.tar >/dev/null &&
	binfarm snapshot -R repo -p web create --tree-commit gentoo=$G \
		--tree-commit company=$C --x86-64-level v3 >id &&
	test_grep "^x86-64-level: v3$" repo/snapshots/web/$(cat id)/SNAPSHOT &&
	binfarm snapshot -R repo -p web show $(cat id) >out &&
	test_grep "^x86-64-level: v3" out &&
	binfarm promote -R repo -p web --channel stable $(cat id) >/dev/null 2>&1 &&
	test_expect_code 2 binfarm snapshot -R repo -p web create --x86-64-level v5 2>err &&
	test_grep "must be v1, v2, v3 or v4" err
'

test_expect_success 'snapshot tree: a snapshot without a tree commit is refused, nothing written' '
	binfarm snapshot -R repo -p web create >bare &&
	test_expect_code 1 binfarm snapshot -R repo -p web tree $(cat bare) 2>err &&
	test_grep "records no tree commit" err &&
	test_path_is_missing repo/snapshots/web/$(cat bare)/trees &&
	test -z "$(ls -A repo/tmp)"
'

test_expect_success 'snapshot tree: a mirror without the commit is an error, nothing written' '
	test_must_fail binfarm snapshot -R repo -p web tree --mirrors "$PWD/nomirrors" \
		@stable 2>err &&
	test_grep "cannot\|not" err &&
	test_path_is_missing repo/snapshots/web/$(cat id)/trees &&
	test -z "$(ls -A repo/tmp)"
'

test_expect_success 'snapshot tree: a signed tarball per pinned repository' '
	binfarm snapshot -R repo -p web tree @stable >out 2>err &&
	test_cmp id out &&
	T=repo/snapshots/web/$(cat id)/trees &&
	printf "company %s company.tar.xz\ngentoo %s gentoo.tar.xz\n" $(cat C) $(cat G) >expect &&
	test_cmp expect $T/TREES &&
	for r in gentoo company
	do
		(cd $T && md5sum $r.tar.xz) >expect &&
		test_cmp expect $T/$r.tar.xz.md5sum &&
		test_grep "BEGIN PGP SIGNATURE" $T/$r.tar.xz.gpgsig || return 1
	done &&
	# every file of the commit, with its mode and link, under NAME-COMMIT/
	rm -rf x && mkdir x && tar -xJf $T/gentoo.tar.xz -C x &&
	ls x >top && echo "gentoo-$(cat G)" >expect && test_cmp expect top &&
	x=x/gentoo-$(cat G) &&
	git -C gentoo ls-files | sort >expect &&
	(cd $x && find . ! -type d | sed "s|^\./||" | grep -v "^metadata/timestamp.x$" | sort) >actual &&
	test_cmp expect actual &&
	test -x $x/app-misc/foo/run.sh && ! test -x $x/app-misc/foo/foo-1.0.ebuild &&
	test "$(readlink $x/app-misc/foo-link)" = ../foo &&
	cmp gentoo/app-misc/foo/foo-1.0.ebuild $x/app-misc/foo/foo-1.0.ebuild &&
	# emerge-webrsync reads the snapshot time from metadata/timestamp.x
	read -r ts _ <$x/metadata/timestamp.x &&
	test "$ts" = "$(git -C gentoo log -1 --format=%ct)" &&
	binfarm key -R repo export >pub.asc &&
	mkdir -m 700 vh && gpg --homedir vh --batch -q --import pub.asc 2>/dev/null &&
	gpg --homedir vh --batch --verify $T/gentoo.tar.xz.gpgsig $T/gentoo.tar.xz 2>err &&
	test_grep "Good signature" err &&
	gpg_stop vh &&
	binfarm fsck -R repo >out 2>&1
'

test_expect_success 'snapshot tree: a snapshot keeps its trees (refused the second time)' '
	T=repo/snapshots/web/$(cat id)/trees &&
	md5sum $T/* >before &&
	test_expect_code 1 binfarm snapshot -R repo -p web tree $(cat id) 2>err &&
	test_grep "has its trees already" err &&
	md5sum $T/* >after && test_cmp before after &&
	test -z "$(ls -A repo/tmp)"
'

test_expect_success 'the binhost serves SNAPSHOT and trees/ below channel and snapshot URLs' '
	start_binhost -r repo &&
	U=$(bh_url) &&
	curl -sf "$U/stable/web/trees/TREES" >out &&
	test_cmp repo/snapshots/web/$(cat id)/trees/TREES out &&
	curl -sf "$U/stable/web/SNAPSHOT" >out && test_grep "^x86-64-level: v3" out &&
	curl -sf "$U/snapshots/web/$(cat id)/trees/gentoo.tar.xz" | cmp - repo/snapshots/web/$(cat id)/trees/gentoo.tar.xz &&
	for f in gentoo.tar.xz gentoo.tar.xz.md5sum gentoo.tar.xz.gpgsig
	do
		test "$(http_code /stable/web/trees/$f)" = 200 || return 1
	done &&
	# below a channel these change when the channel moves: not immutable
	curl -sf -D h -o /dev/null "$U/stable/web/trees/gentoo.tar.xz" &&
	! hdr Cache-Control h | grep immutable &&
	curl -sf -D h -o /dev/null "$U/snapshots/web/$(cat id)/trees/gentoo.tar.xz" &&
	hdr Cache-Control h | grep immutable &&
	for p in trees/other.txt trees/ trees/TREES.bak SNAPSHOTS trees/x/gentoo.tar.xz \
		trees/.gentoo.tar.xz trees/..%2fPackages
	do
		test "$(http_code /stable/web/$p)" = 404 || { echo "$p served"; return 1; }
	done
'

test_expect_success 'setup refuses a v3 profile on a v2 CPU, with the reason, and writes nothing' '
	mkdir n2 &&
	test_expect_code 3 env BINFARM_NODE_CPUINFO=v2.cpu \
		binfarm-node --root n2 setup --url "$(bh_url)/stable/web" 2>err &&
	test_grep "needs x86-64-v3 but this CPU is x86-64-v2" err &&
	test_grep "missing: avx avx2 bmi1 bmi2 f16c fma abm movbe xsave" err &&
	find n2 >found && echo n2 >expect && test_cmp expect found
'

test_expect_success 'setup refuses a snapshot that records no level unless --level says' '
	binfarm promote -R repo -p web --channel bare $(cat bare) >/dev/null 2>&1 &&
	mkdir n0 &&
	test_expect_code 3 env BINFARM_NODE_CPUINFO=v4.cpu \
		binfarm-node --root n0 setup --url "$(bh_url)/bare/web" 2>err &&
	test_grep "records no x86-64 level" err &&
	test_expect_code 3 env BINFARM_NODE_CPUINFO=v2.cpu \
		binfarm-node --root n0 setup --level v4 --url "$(bh_url)/bare/web" 2>err &&
	test_grep "missing: avx " err &&
	find n0 >found && echo n0 >expect && test_cmp expect found
'

test_expect_success 'setup on a v3 CPU: key trusted, binrepos.conf 0600, trees synced' '
	mkdir n3 &&
	BINFARM_NODE_CPUINFO=v3.cpu binfarm-node --root n3 setup \
		--url "$(bh_url)/stable/web" 2>err &&
	f=n3/etc/portage/binrepos.conf &&
	test "$(stat -c %a $f)" = 600 &&
	cat >expect <<-EOF &&
	# written by binfarm-node; see binfarm-node(8)
	[binfarm]
	sync-uri = $(bh_url)/stable/web
	priority = 10
	verify-signature = true
	EOF
	test_cmp expect $f &&
	# as getuto: a local ultimately trusted key lsigns the binfarm key,
	# whose validity is then full, as Portage requires
	gh=n3/etc/portage/gnupg &&
	test "$(stat -c %a $gh)" = 755 && test "$(stat -c %a $gh/pass)" = 600 &&
	test_grep "no-permission-warning" $gh/gpg.conf &&
	fpr=$(sed -n "s/^signing-key = //p" repo/binfarm-repo.conf) &&
	gpg --homedir $gh --batch --with-colons --list-keys "$fpr" >keys &&
	grep "^pub:f:" keys &&
	gpg --homedir $gh --batch --with-colons --list-keys "$(cat $gh/mykeyid)" >keys &&
	grep "^pub:u:" keys && grep "^uid:.*Portage Local Trust Key" keys &&
	gpg --homedir $gh --batch --check-sigs "$fpr" >sigs 2>&1 &&
	test_grep "Portage Local Trust Key" sigs &&
	test "$(stat -c %a $gh/trustdb.gpg)" = 644 &&
	gpg_stop n3/etc/portage/gnupg &&
	binfarm verify --keyring n3/etc/portage/gnupg \
		repo/pool/web/app-misc/foo/foo-1.0-1.gpkg.tar &&
	# the trees, exactly the pinned commits
	git -C gentoo ls-files | sort >expect &&
	(cd n3/var/db/repos/gentoo && find . ! -type d | sed "s|^\./||" |
		grep -v "^metadata/timestamp.x$" | sort) >actual &&
	test_cmp expect actual &&
	cmp company/www-apps/shop/shop-2.0.ebuild n3/var/db/repos/company/www-apps/shop/shop-2.0.ebuild &&
	test "$(cat n3/var/lib/binfarm-node/trees/gentoo)" = "$(cat G)" &&
	test_grep "^location = $PWD/n3/var/db/repos/company$" n3/etc/portage/repos.conf/binfarm.conf &&
	test_grep "^main-repo = gentoo$" n3/etc/portage/repos.conf/binfarm.conf &&
	test_grep "auto-sync = no" n3/etc/portage/repos.conf/binfarm.conf &&
	! grep -r "BEGIN PGP PRIVATE" n3
'

test_expect_success 'sync again: nothing to do; binrepos.conf rewritten atomically by setup' '
	binfarm-node --root n3 sync 2>err &&
	test_grep "gentoo: at $(cat G) already" err &&
	BINFARM_NODE_CPUINFO=v4.cpu binfarm-node --root n3 setup --no-sync --priority 20 \
		--url "$(bh_url)/stable/web" 2>err &&
	test_grep "^priority = 20$" n3/etc/portage/binrepos.conf &&
	test "$(stat -c %a n3/etc/portage/binrepos.conf)" = 600 &&
	ls -a n3/etc/portage >ls && ! grep "^\.binrepos" ls
'

test_expect_success 'a binrepos.conf directory gets its own file; a foreign binrepos.conf is kept' '
	mkdir -p nd/etc/portage/binrepos.conf &&
	BINFARM_NODE_CPUINFO=v3.cpu binfarm-node --root nd setup --no-sync --name farm \
		--url "$(bh_url)/stable/web" 2>err &&
	test_grep "^\[farm\]$" nd/etc/portage/binrepos.conf/farm.conf &&
	test "$(stat -c %a nd/etc/portage/binrepos.conf/farm.conf)" = 600 &&
	mkdir -p nf/etc/portage && echo "[gentoobinhost]" >nf/etc/portage/binrepos.conf &&
	test_expect_code 1 env BINFARM_NODE_CPUINFO=v3.cpu binfarm-node --root nf setup \
		--no-sync --url "$(bh_url)/stable/web" 2>err &&
	test_grep "is not binfarm-node" err &&
	echo "[gentoobinhost]" >expect && test_cmp expect nf/etc/portage/binrepos.conf
'

# tamper FILE: flip one byte in the middle
tamper() {
	_n=$(($(stat -c %s "$1") / 2)) &&
	printf "\\377" | dd of="$1" bs=1 seek=$_n count=1 conv=notrunc 2>/dev/null
}

test_expect_success 'a tampered tarball is refused and the tree is left as it was' '
	T=repo/snapshots/web/$(cat id)/trees &&
	cp $T/gentoo.tar.xz good.tar.xz && cp $T/gentoo.tar.xz.md5sum good.md5sum &&
	test_when_finished "cp good.tar.xz $T/gentoo.tar.xz; cp good.md5sum $T/gentoo.tar.xz.md5sum" &&
	rm n3/var/lib/binfarm-node/trees/gentoo &&
	(cd n3/var/db/repos/gentoo && find . | sort) >before &&
	tamper $T/gentoo.tar.xz &&
	test_expect_code 1 binfarm-node --root n3 sync 2>err &&
	test_grep "refused gentoo.tar.xz: its MD5" err &&
	# a tarball whose .md5sum was made to match: the signature catches it
	(cd $T && md5sum gentoo.tar.xz >gentoo.tar.xz.md5sum) &&
	test_expect_code 1 binfarm-node --root n3 sync 2>err &&
	test_grep "refused gentoo.tar.xz: bad or untrusted signature" err &&
	(cd n3/var/db/repos/gentoo && find . | sort) >after &&
	test_cmp before after &&
	! ls n3/var/db/repos | grep binfarm
'

test_expect_success 'a signature by a key the node does not trust is refused' '
	T=repo/snapshots/web/$(cat id)/trees &&
	cp $T/gentoo.tar.xz.gpgsig good.sig &&
	test_when_finished "cp good.sig $T/gentoo.tar.xz.gpgsig" &&
	mkdir -m 700 other &&
	gpg --homedir other --batch --passphrase "" --quick-gen-key "other <o@example.com>" ed25519 sign never 2>/dev/null &&
	gpg --homedir other --batch --armor --detach-sign -o sig.asc $T/gentoo.tar.xz &&
	gpg_stop other &&
	cp sig.asc $T/gentoo.tar.xz.gpgsig &&
	test_expect_code 1 binfarm-node --root n3 sync 2>err &&
	test_grep "bad or untrusted signature" err
'

test_expect_success 'after the refusals, the good tarball syncs' '
	binfarm-node --root n3 sync 2>err &&
	test_grep "gentoo: synced to $(cat G)" err
'

test_expect_success 'a root deep in the file system: gpg-agent reaches its home by a short link' '
	deep=$PWD/deep/$(printf "%0120d" 0) &&
	mkdir -p "$deep" tmp &&
	TMPDIR=$PWD/tmp BINFARM_NODE_CPUINFO=v3.cpu binfarm-node --root "$deep" setup \
		--url "$(bh_url)/stable/web" 2>err &&
	test_grep "trusted key" err &&
	test_grep "gentoo: synced to $(cat G)" err &&
	binfarm verify --keyring "$deep/etc/portage/gnupg" \
		repo/pool/web/app-misc/foo/foo-1.0-1.gpkg.tar &&
	# the link was in binfarm-node'"'"'s temporary directory, gone with it
	test -z "$(ls tmp)"
'

test_expect_success 'one binfarm-node at a time on a root' '
	if command -v flock >/dev/null 2>&1
	then
		test_expect_code 1 flock n3/var/lib/binfarm-node/.lock \
			binfarm-node --root n3 sync 2>err &&
		test_grep "another binfarm-node is running" err
	fi
'

test_expect_success 'the trees of an unsigned repository are refused' '
	stop_binhost &&
	binfarm repo init --unsigned urepo 2>/dev/null &&
	binfarm add -R urepo -p web in/foo-1.0.gpkg.tar >/dev/null 2>&1 &&
	binfarm snapshot -R urepo -p web create --tree-commit gentoo=$(cat G) \
		--x86-64-level v2 >uid 2>/dev/null &&
	binfarm promote -R urepo -p web --channel stable $(cat uid) >/dev/null 2>&1 &&
	binfarm snapshot -R urepo -p web tree $(cat uid) 2>err &&
	test_grep UNSIGNED err &&
	test_path_is_missing urepo/snapshots/web/$(cat uid)/trees/gentoo.tar.xz.gpgsig &&
	cp repo/keys/binfarm.asc urepo/keys/ &&
	start_binhost -r urepo &&
	mkdir nu &&
	test_expect_code 1 env BINFARM_NODE_CPUINFO=v2.cpu binfarm-node --root nu setup \
		--url "$(bh_url)/stable/web" 2>err &&
	test_grep "refused gentoo.tar.xz: no signature" err &&
	test_path_is_missing nu/var/db/repos/gentoo
'

test_expect_success 'a token in the URL is never shown in messages' '
	U=$(bh_url) &&
	test_expect_code 1 binfarm-node --root n3 sync \
		--url "http://n1:s3cret@${U#http://}/nochannel/web" 2>err &&
	! test_grep s3cret err &&
	test_grep "n\?o\?channel" err
'

test_done
