#!/bin/sh
test_description='binfarm tree pin: mirrors, refs, pins and their errors'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-tree.sh"

mkprof() {
	rm -rf prof && mkdir prof &&
	printf "CHOST=x86_64-pc-linux-gnu\nACCEPT_KEYWORDS=amd64\n" >prof/make.conf &&
	echo "${1:-dev-libs/a}" >prof/world
}

test_expect_success 'setup: a repository with two commits and a tag' '
	tree_init repo gentoo &&
	tree_ebuild repo dev-libs/a-1.0 &&
	tree_commit repo one &&
	git -C repo tag v1 &&
	tree_ebuild repo dev-libs/a-2.0 &&
	tree_commit repo two &&
	git -C repo branch old v1
'

test_expect_success 'pin resolves refs to the commits git names' '
	binfarm tree pin "gentoo=$PWD/repo@main" >pins &&
	printf "gentoo\t%s\t%s\tmain\n" "$(git -C repo rev-parse main)" "$PWD/repo" >expect &&
	grep -v "^#" pins >actual &&
	test_cmp expect actual &&
	test -d mirrors/gentoo.git/objects &&
	binfarm tree pin "gentoo=$PWD/repo@v1" >pins1 &&
	test_grep "	$(git -C repo rev-parse v1^{commit})	" pins1 &&
	binfarm tree pin "gentoo=$PWD/repo@old" "x=$PWD/repo" >pins2 &&
	test_grep "^gentoo	$(git -C repo rev-parse old)	" pins2 &&
	test_grep "^x	$(git -C repo rev-parse HEAD)	.*	HEAD$" pins2
'

test_expect_success 'pin -o writes the pin file; plan --pin reads it' '
	binfarm tree pin -o pinfile "gentoo=$PWD/repo@v1" &&
	test_grep "^gentoo	$(git -C repo rev-parse v1^{commit})	" pinfile &&
	mkprof &&
	binfarm plan --profile prof --pin pinfile >plan &&
	test_grep " dev-libs/a-1.0::gentoo " plan
'

test_expect_success 'a pin is reproducible after the remote moves on' '
	tree_ebuild repo dev-libs/a-3.0 &&
	tree_commit repo three &&
	binfarm tree pin "gentoo=$PWD/repo@main" >/dev/null &&
	binfarm plan --profile prof --pin pinfile >plan &&
	test_grep " dev-libs/a-1.0::gentoo " plan &&
	binfarm plan --profile prof --tree "gentoo=$PWD/repo@main" >plan &&
	test_grep " dev-libs/a-3.0::gentoo " plan
'

test_expect_success 'pin --profile takes the repositories from profile.conf' '
	mkprof &&
	printf "[repo gentoo]\nuri = %s\nref = v1\n" "$PWD/repo" >prof/profile.conf &&
	binfarm tree pin --profile prof >pins &&
	test_grep "^gentoo	$(git -C repo rev-parse v1^{commit})	" pins
'

test_expect_success 'unknown ref' '
	test_expect_code 1 binfarm tree pin "gentoo=$PWD/repo@nope" 2>err &&
	test_grep "unknown ref .nope." err
'

test_expect_success 'unreachable remote' '
	test_expect_code 1 binfarm tree pin "y=$PWD/does-not-exist" 2>err &&
	test_grep "cannot fetch .*does-not-exist" err &&
	test_expect_code 1 binfarm tree pin "z=http://127.0.0.1:9/x.git" 2>err &&
	test_grep "cannot fetch .http://127.0.0.1:9/x.git." err
'

test_expect_success 'a tree without md5-cache says how to make one' '
	rm -rf bare && git init -q -b main bare &&
	mkdir -p bare/profiles && echo company >bare/profiles/repo_name &&
	git -C bare add -A && git -C bare commit -q -m x &&
	mkprof &&
	test_expect_code 1 binfarm plan --profile prof --tree "company=$PWD/bare" 2>err &&
	test_grep "has no metadata/md5-cache; generate it with .egencache --update --repo=company." err
'

test_expect_success 'a corrupt mirror is an error, not a crash' '
	binfarm tree pin -o pc "c=$PWD/repo@main" &&
	for f in mirrors/c.git/objects/pack/*.pack
	do
		chmod u+w "$f" &&
		size=$(wc -c <"$f") &&
		dd if=/dev/zero of="$f" bs=1 seek=32 count=$((size - 64)) conv=notrunc 2>/dev/null || return 1
	done &&
	mkprof &&
	test_expect_code 1 binfarm plan --profile prof --pin pc 2>err &&
	test_grep "corrupt repository" err
'

test_expect_success 'a directory that is not a repository' '
	mkdir -p notgit/x.git &&
	printf "x\t%s\t/nowhere\tmain\n" "$(git -C repo rev-parse main)" >pn &&
	mkprof &&
	test_expect_code 1 binfarm plan --profile prof --pin pn --mirrors notgit 2>err &&
	test_grep "is not a git repository" err
'

test_expect_success 'bad pin specs and pin files' '
	test_expect_code 2 binfarm tree pin "noequals" 2>err &&
	test_grep "is not NAME=URI" err &&
	test_expect_code 2 binfarm tree pin "a=$PWD/repo" "a=$PWD/repo" 2>err &&
	test_grep "given twice" err &&
	printf "gentoo\tnothex\t/x\tmain\n" >badpin &&
	test_expect_code 2 binfarm plan --profile prof --pin badpin 2>err &&
	test_grep "badpin:1: expected" err &&
	test_expect_code 2 binfarm tree pin 2>err &&
	test_grep "usage: binfarm tree" err
'

test_done
