#!/bin/sh
test_description='binfarm-node with real Portage: a node of the inventory set up by binfarm-node on its node URL syncs its pinned trees and installs with emerge --getbinpkg, signatures required'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-portage.sh"
command -v curl >/dev/null 2>&1 || skip_all 'skipped: curl is not installed'
command -v gpg >/dev/null 2>&1 || skip_all 'skipped: gpg is not installed'
. "$TEST_DIRECTORY/lib-httpd.sh"
. "$TEST_DIRECTORY/lib-farm.sh"

PROF=web-x86-64-v3

test_expect_success 'setup: the farm builds the sample world; the builder publishes its trees and level' '
	"$BF_SRC_DIR/scripts/portage-layer.sh" "$PORTAGE_TARBALL" layer >/dev/null &&
	"$BF_SRC_DIR/scripts/sample-tree.sh" trees >/dev/null &&
	binfarm-builder --init state -l 127.0.0.1:0 \
		-P "$BF_SRC_DIR/profiles/$PROF" \
		-r gentoo="$PWD/trees/gentoo@main" \
		-r company="$PWD/trees/company@main" >/dev/null &&
	printf "[builder]\nmax-attempts = 1\nbackoff = 0\n" >>state/builder.conf &&
	farm_add_worker a "tags = x86-64-v3 web" &&
	binfarm-builder -t -s state >/dev/null &&
	farm_start &&
	test_when_finished "farm_stop_workers; farm_stop" &&
	binfarm rebuild --profile $PROF >out &&
	{
		binfarm-worker -s state --name a --tags x86-64-v3,web \
			--workdir work-a >>worker-a.log 2>&1 &
	} &&
	echo $! >worker-a.pid &&
	farm_wait_rebuild complete 300 &&
	readlink state/repo/channels/testing/$PROF | sed "s|.*/||" >id &&
	test_grep "^x86-64-level: v3$" state/repo/snapshots/$PROF/$(cat id)/SNAPSHOT &&
	test_expect_code 1 binfarm snapshot -R state/repo -p $PROF tree \
		--mirrors "$PWD/state/mirrors" @testing 2>err &&
	T=state/repo/snapshots/$PROF/$(cat id)/trees &&
	test_grep "^gentoo $(git -C trees/gentoo rev-parse main) gentoo.tar.xz$" $T/TREES &&
	test_grep "^company $(git -C trees/company rev-parse main) company.tar.xz$" $T/TREES
'

# The node: / of a throw-away root (the host with real Portage laid
# over it; lib-portage.sh), with no /etc/portage but the hw-profile's
# make.conf and package.* files that a node of this profile has;
# binfarm-node does the rest.
# Its results go to io/ (bound read-write at /var/lib/bf-test/io).
cat >node.sh <<\EOS
set -e
T=/var/lib/bf-test/io
exec >$T/node.log 2>&1
export BINFARM_NODE_CPUINFO=$T/v3.cpu
rm -rf /etc/portage /var/db/repos
mkdir -p /etc/portage
"$T/binfarm-node" setup --url "$(cat $T/url)"
ls -l /etc/portage/binrepos.conf >$T/binrepos.ls
cp /etc/portage/binrepos.conf $T/binrepos.conf
cp /etc/portage/repos.conf/binfarm.conf $T/repos.conf
ln -s /var/db/repos/gentoo/profiles/$(cat $T/portage-profile) /etc/portage/make.profile
cp $T/profile/make.conf /etc/portage/make.conf
for f in package.use package.accept_keywords package.license package.mask; do
	test ! -e $T/profile/$f || cp -R $T/profile/$f /etc/portage/$f
done
cat >>/etc/portage/make.conf <<EOF

# ---- the node ----
FEATURES="\${FEATURES} getbinpkg binpkg-request-signature"
# running Portage from its source tree (Debian host): as Portage's tests do
FEATURES="\${FEATURES} -sandbox -usersandbox -userpriv -usersync -userfetch"
FEATURES="\${FEATURES} -ipc-sandbox -network-sandbox -pid-sandbox -news"
CLEAN_DELAY="0"
EMERGE_WARNING_DELAY="0"
# getuto is not installed on this host; binfarm-node did its work
PORTAGE_TRUST_HELPER="true"
EOF
mkdir -p /var/db/pkg /var/lib/portage /var/cache/edb /var/cache/binpkgs /var/tmp
emerge --getbinpkg --usepkgonly -v --color=n www-servers/tinyhttpd www-apps/shopfront
emerge --info --color=n | grep -E '^FEATURES=' >$T/features
ls -d /var/db/pkg/*/* | sed 's|/var/db/pkg/||' >$T/installed
/usr/bin/tinyhttpd -V >$T/tinyhttpd-V

# The same with the key imported but not trusted: refused
mv /etc/portage/gnupg /etc/portage/gnupg.good
mkdir -m 755 /etc/portage/gnupg
gpg --homedir /etc/portage/gnupg --batch -q --import $T/binfarm.asc
gpgconf --homedir /etc/portage/gnupg --kill all
chmod -R a+rX /etc/portage/gnupg
rm -rf /var/cache/binhost /var/cache/binpkgs/*
if emerge --getbinpkg --usepkgonly --oneshot --nodeps --color=n www-servers/tinyhttpd >$T/untrusted.log 2>&1
then echo untrusted-accepted >$T/untrusted
else echo untrusted-refused >$T/untrusted
fi
EOS

test_expect_success 'a node set up by binfarm-node on its node URL syncs its trees and installs with signatures on' '
	binfarm node -R state/repo add web-1 --site s --farm f --profile $PROF \
		--channel testing --token-file token >/dev/null 2>&1 &&
	start_binhost -r state/repo --access-log "$PWD/access.log" &&
	test_when_finished stop_binhost &&
	mkdir io &&
	port=$(cat binhost.port) &&
	echo "http://web-1:$(cat token)@127.0.0.1:$port/node/web-1" >io/url &&
	cp "$BF_BUILD_DIR/binfarm-node" io/ &&
	cp state/repo/keys/binfarm.asc io/ &&
	printf "flags\t\t: %s\n" "fpu cx8 cmov mmx fxsr sse sse2 syscall lm pni ssse3 cx16 sse4_1 sse4_2 popcnt lahf_lm avx avx2 bmi1 bmi2 f16c fma abm movbe xsave" >io/v3.cpu &&
	sed -n "s/^portage-profile = //p" "$BF_SRC_DIR/profiles/$PROF/profile.conf" >io/portage-profile &&
	cp -R "$BF_SRC_DIR/profiles/$PROF" io/profile &&
	{
		PORTAGE_ROOT_HOST_NET=1 portage_root root "$PWD/node.sh" \
			"$PWD/io=/var/lib/bf-test/io:rw" ||
		{ tail -40 io/node.log; false; }
	} &&
	test_grep "^-rw------- .* /etc/portage/binrepos.conf$" io/binrepos.ls &&
	test_grep "^sync-uri = $(cat io/url)$" io/binrepos.conf &&
	test_grep "^location = /var/db/repos/gentoo$" io/repos.conf &&
	test_grep "binpkg-request-signature" io/features &&
	test_grep "^www-servers/tinyhttpd-" io/installed &&
	test_grep "^www-apps/shopfront-" io/installed &&
	test -s io/tinyhttpd-V &&
	# the trees and the packages came from the node URL, as web-1
	test_grep " web-1 .*/node/web-1/trees/gentoo.tar.xz " access.log &&
	test_grep " web-1 .*/node/web-1/www-servers/tinyhttpd/.*gpkg.tar .* 200 " access.log &&
	! grep "$(cat token)" access.log binhost.err io/node.log &&
	wait_grep "^web-1	$PROF	testing	$(cat id)	" state/repo/fleet/nodes.state &&
	test "$(cat io/untrusted)" = untrusted-refused &&
	test_grep "verification failed" io/untrusted.log
'

test_done
