#!/bin/sh
test_description='hw-profiles: make.conf, world, package.* and profile.conf'
. "$(dirname "$0")/test-lib.sh"

mkprofile() {
	rm -rf "$1" && mkdir -p "$1" &&
	cat >"$1/make.conf" <<-\EOT &&
	CHOST="x86_64-pc-linux-gnu"
	COMMON="-O2 -pipe"
	CFLAGS="${COMMON} -march=x86-64-v3"
	CXXFLAGS="$CFLAGS"
	ACCEPT_KEYWORDS="amd64"
	USE="ssl \
	  -X"
	PYTHON_TARGETS="python3_12"
	EOT
	printf "dev-libs/foo\n" >"$1/world"
}

test_expect_success 'the shipped example profiles load' '
	for p in web-x86-64-v2 web-x86-64-v3
	do
		bf-test-tool profile "$BF_SRC_DIR/profiles/$p" >out &&
		test_grep "^CHOST x86_64-pc-linux-gnu$" out &&
		test_grep "^CFLAGS -O2 -pipe -march=$(echo $p | sed s/web-//)$" out &&
		test_grep "^world www-apps/shopfront" out &&
		test_grep "^repo gentoo " out || return 1
	done
'

test_expect_success 'make.conf expands, continues lines and maps USE_EXPAND' '
	mkprofile p &&
	bf-test-tool profile p >out &&
	test_grep "^CFLAGS -O2 -pipe -march=x86-64-v3$" out &&
	test_grep "^CXXFLAGS -O2 -pipe -march=x86-64-v3$" out &&
	test_grep "^USE ssl -X python_targets_python3_12$" out &&
	test_grep "^ACCEPT_KEYWORDS amd64$" out &&
	test_grep "^name p$" out
'

test_expect_success 'package.* files and directories, USE_EXPAND in package.use' '
	mkprofile p &&
	mkdir p/package.use &&
	printf "dev-libs/foo bar -baz\n" >p/package.use/10-a &&
	printf "# c\n\n>=dev-libs/bar-2 PYTHON_TARGETS: python3_13 -python3_12\n" >p/package.use/20-b &&
	printf "ignored syntax error\n" >p/package.use/20-b~ &&
	printf "ignored syntax error\n" >p/package.use/.hidden &&
	printf "dev-libs/foo\n=dev-libs/bar-2* **\n" >p/package.accept_keywords &&
	printf "<dev-libs/foo-2\n" >p/package.mask &&
	bf-test-tool profile p >out &&
	test_grep "^package.use dev-libs/foo bar -baz (p/package.use/10-a:1)$" out &&
	test_grep "^package.use >=dev-libs/bar-2 python_targets_python3_13 -python_targets_python3_12 (p/package.use/20-b:3)$" out &&
	test_grep "^package.accept_keywords dev-libs/foo (p/package.accept_keywords:1)$" out &&
	test_grep "^package.accept_keywords =dev-libs/bar-2\* \*\* " out &&
	test_grep "^package.mask <dev-libs/foo-2 " out
'

test_expect_success 'profile.conf sections' '
	mkprofile p &&
	cat >p/profile.conf <<-\EOT &&
	[profile]
	portage-profile = default/linux/amd64/23.0
	worker-tags = a b
	[repo gentoo]
	uri = /srv/gentoo
	[repo company]
	uri = https://example.com/x.git
	ref = v1.2
	EOT
	bf-test-tool profile p >out &&
	test_grep "^portage-profile default/linux/amd64/23.0$" out &&
	test_grep "^worker-tags a b$" out &&
	test_grep "^repo gentoo /srv/gentoo HEAD$" out &&
	test_grep "^repo company https://example.com/x.git v1.2$" out
'

test_expect_success 'errors name the file and line' '
	mkprofile p &&
	printf "CHOST=x\nACCEPT_KEYWORDS=amd64\nCFLAGS=\"-O2\n" >p/make.conf &&
	test_must_fail bf-test-tool profile p 2>err &&
	test_grep "p/make.conf:3: unterminated double quote" err &&

	mkprofile p &&
	printf "dev-libs/foo\n\ndev-libs/foo-1.0\n" >p/world &&
	test_must_fail bf-test-tool profile p 2>err &&
	test_grep "p/world:3: invalid atom .dev-libs/foo-1.0.: a version needs an operator" err &&

	mkprofile p &&
	printf "dev-libs/foo b@d!\n" >p/package.use &&
	test_must_fail bf-test-tool profile p 2>err &&
	test_grep "p/package.use:1: invalid USE flag .b@d!." err &&

	mkprofile p &&
	printf "dev-libs/foo NOT_EXPAND: x\n" >p/package.use &&
	test_must_fail bf-test-tool profile p 2>err &&
	test_grep "p/package.use:1: .NOT_EXPAND. is not a USE_EXPAND variable" err &&

	mkprofile p &&
	printf "!dev-libs/foo\n" >p/package.mask &&
	test_must_fail bf-test-tool profile p 2>err &&
	test_grep "p/package.mask:1: a blocker is not allowed here" err &&

	mkprofile p &&
	printf "[profile]\nbogus = 1\n" >p/profile.conf &&
	test_must_fail bf-test-tool profile p 2>err &&
	test_grep "p/profile.conf:2: unknown key .bogus. in \[profile\]" err &&

	mkprofile p &&
	printf "[repo x]\nref = main\n" >p/profile.conf &&
	test_must_fail bf-test-tool profile p 2>err &&
	test_grep "p/profile.conf: \[repo x\] has no uri" err
'

test_expect_success 'a FIFO as make.conf, world or profile.conf is refused at once' '
	mkprofile p &&
	rm p/make.conf && mkfifo p/make.conf &&
	test_must_fail timeout 20 bf-test-tool profile p 2>err &&
	test_grep "p/make.conf. is not a regular file" err &&
	mkprofile p &&
	rm p/world && mkfifo p/world &&
	test_must_fail timeout 20 bf-test-tool profile p 2>err &&
	test_grep "p/world. is not a regular file" err &&
	mkprofile p &&
	mkfifo p/profile.conf &&
	test_must_fail timeout 20 bf-test-tool profile p 2>err &&
	test_grep "p/profile.conf. is not a regular file" err &&
	mkprofile p &&
	mkdir p/package.use && mkfifo p/package.use/fifo &&
	test_must_fail timeout 20 bf-test-tool profile p 2>err &&
	test_grep "p/package.use/fifo. is not a regular file" err
'

test_expect_success 'make.conf doubling a variable stops at 1 MiB with a clear error' '
	mkprofile p &&
	{
		echo "A0=\"0123456789abcdef\"" &&
		i=1 && while test $i -le 30; do
			echo "A$i=\"\${A$((i - 1))}\${A$((i - 1))}\"" && i=$((i + 1))
		done &&
		echo "CHOST=x ACCEPT_KEYWORDS=amd64"
	} >p/make.conf &&
	test_must_fail timeout 20 bf-test-tool profile p 2>err &&
	test_grep "p/make.conf:18: value longer than 1 MiB after expanding .A16." err
'

test_expect_success 'a value of almost 1 MiB is still fine' '
	mkprofile p &&
	{
		echo "A0=\"0123456789abcdef\"" &&
		i=1 && while test $i -le 15; do
			echo "A$i=\"\${A$((i - 1))}\${A$((i - 1))}\"" && i=$((i + 1))
		done &&
		echo "CHOST=x" && echo "ACCEPT_KEYWORDS=amd64"
	} >p/make.conf &&
	bf-test-tool profile p >out
'

test_expect_success 'missing CHOST, ACCEPT_KEYWORDS, world are errors' '
	mkprofile p &&
	printf "ACCEPT_KEYWORDS=amd64\n" >p/make.conf &&
	test_must_fail bf-test-tool profile p 2>err &&
	test_grep "p/make.conf: CHOST is not set" err &&
	printf "CHOST=x\n" >p/make.conf &&
	test_must_fail bf-test-tool profile p 2>err &&
	test_grep "ACCEPT_KEYWORDS is not set" err &&
	mkprofile p &&
	rm p/world &&
	test_must_fail bf-test-tool profile p 2>err &&
	test_grep "cannot read .p/world." err &&
	mkprofile q &&
	printf "# nothing\n" >q/world &&
	test_must_fail bf-test-tool profile q 2>err &&
	test_grep "q/world: no atoms" err
'

test_done
