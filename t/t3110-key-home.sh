#!/bin/sh
test_description='the GnuPG home lives outside the repository; key migrate; binfarm-repo.conf checks'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-repo.sh"

command -v gpg >/dev/null 2>&1 || skip_all 'gpg is not installed'

# agents HOME: how many gpg-agent processes serve that GnuPG home
agents() {
	ps -eo args | grep -c "^gpg-agent --homedir $1 " || :
}

# no_agent HOME: none, within 5 s (gpgconf --kill asks; the agent then exits)
no_agent() {
	n=0
	while test "$(agents "$1")" != 0; do
		n=$((n + 1))
		test $n -gt 50 && { echo >&4 "gpg-agent still runs for $1"; ps -eo pid,args | grep gpg-agent >&4; return 1; }
		sleep 0.1
	done
}

# fpr_of HOME: the fingerprint of the (first) secret key of a home
fpr_of() {
	gpg --homedir "$1" --with-colons -K | awk -F: '/^fpr/{print $10; exit}'
	gpg_stop "$1"
}

trap 'for h in "$PWD/shared" "$PWD/ag" "$PWD/ag2" "$PWD/mig" legacy/keys/gnupg legacy2/keys/gnupg; do gpg_stop "$h"; done' EXIT

test_expect_success 'repo init --gnupg-home: the key is there, recorded, and the tree holds no secret' '
	binfarm repo init --gnupg-home "$PWD/ag" agrepo 2>err &&
	test_grep "made signing key .* in .$PWD/ag." err &&
	test "$(stat -c %a ag)" = 700 &&
	test_path_is_missing agrepo/keys/gnupg &&
	fpr=$(fpr_of "$PWD/ag") &&
	grep "^gnupg-home = $PWD/ag$" agrepo/binfarm-repo.conf &&
	grep "^signing-key = $fpr$" agrepo/binfarm-repo.conf &&
	test "$(find agrepo -name "*.key" -o -name "*.kbx" -o -name "S.gpg-agent*" | wc -l)" = 0
'

test_expect_success 'repo init leaves no gpg-agent running for the home' '
	binfarm repo init --gnupg-home "$PWD/ag2" agrepo2 2>err &&
	test_grep "made signing key" err &&
	no_agent "$PWD/ag2"
'

test_expect_success 'the home defaults to $BINFARM_GNUPG_HOME' '
	binfarm repo init defrepo 2>err &&
	grep "^gnupg-home = $BINFARM_GNUPG_HOME$" defrepo/binfarm-repo.conf &&
	no_agent "$BINFARM_GNUPG_HOME"
'

test_expect_success 'without BINFARM_GNUPG_HOME, a user gets the XDG state directory' '
	(unset BINFARM_GNUPG_HOME && XDG_STATE_HOME=$PWD/xdg && export XDG_STATE_HOME &&
	 if test "$(id -u)" = 0; then
		binfarm repo init --no-key xdgrepo
	 else
		binfarm repo init xdgrepo &&
		grep "^gnupg-home = $PWD/xdg/binfarm/gnupg$" xdgrepo/binfarm-repo.conf &&
		gpg_stop "$PWD/xdg/binfarm/gnupg"
	 fi)
'

test_expect_success 'two repositories share one home, each with its own key' '
	binfarm repo init --gnupg-home "$PWD/shared" ra &&
	binfarm repo init --gnupg-home "$PWD/shared" rb &&
	fa=$(sed -n "s/^signing-key = //p" ra/binfarm-repo.conf) &&
	fb=$(sed -n "s/^signing-key = //p" rb/binfarm-repo.conf) &&
	test -n "$fa" && test -n "$fb" && test "$fa" != "$fb" &&
	test "$(gpg --show-keys --with-colons ra/keys/binfarm.asc 2>/dev/null | grep -c ^pub)" = 1 &&
	mkpkg in/foo-1.0.gpkg.tar app-misc foo-1.0 &&
	binfarm add -R ra -p amd64 in/foo-1.0.gpkg.tar >/dev/null &&
	binfarm verify --keyring ra/keys/binfarm.asc ra/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar &&
	test_expect_code 1 binfarm verify --keyring rb/keys/binfarm.asc \
		ra/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar >out &&
	test_grep "unknown key" out
'

test_expect_success 'a home inside the repository is refused' '
	binfarm repo init --no-key inrepo &&
	test_must_fail binfarm key -R inrepo init --gnupg-home "$PWD/inrepo/keys/gnupg" 2>err &&
	test_grep "inside the repository" err &&
	! grep "^gnupg-home" inrepo/binfarm-repo.conf &&
	test_path_is_missing inrepo/keys/binfarm.asc
'

# A repository as binfarm made them before: the home in keys/gnupg.
make_legacy() {
	binfarm repo init --no-key "$1" &&
	mkdir -m 700 "$1/keys/gnupg" &&
	gpg -q --batch --homedir "$1/keys/gnupg" --passphrase "" \
		--quick-gen-key "old <old@example.org>" ed25519 sign never 2>/dev/null &&
	gpg --homedir "$1/keys/gnupg" --export --armor >"$1/keys/binfarm.asc" &&
	gpg_stop "$1/keys/gnupg"
}

test_expect_success 'setup: repositories with the GnuPG home in the tree' '
	make_legacy legacy &&
	cp -a legacy legacy2 &&
	fpr_of legacy/keys/gnupg >legacy.fpr &&
	test -s legacy.fpr
'

test_expect_success 'fsck reports a home in the tree as a problem, naming the command' '
	test_expect_code 1 binfarm fsck -R legacy >out &&
	test_grep "problem: the GnuPG home with the secret signing key is inside the repository" out &&
	test_grep "binfarm -R .*/legacy key migrate" out
'

test_expect_success 'add refuses to sign with it, naming the command; nothing staged' '
	test_must_fail binfarm add -R legacy -p amd64 in/foo-1.0.gpkg.tar 2>err &&
	test_grep "refusing to sign: .*binfarm -R .*/legacy key migrate" err &&
	test_path_is_missing legacy/pool/amd64/app-misc &&
	test_path_is_missing legacy/work/amd64/Packages
'

test_expect_success 'key init refuses too' '
	test_must_fail binfarm key -R legacy init 2>err &&
	test_grep "key migrate" err
'

test_expect_success 'key migrate moves the home out and leaves no secret in the tree' '
	cp legacy/keys/binfarm.asc pub.before &&
	binfarm key -R legacy migrate --gnupg-home "$PWD/mig" 2>err &&
	test_grep "removed" err &&
	test_path_is_missing legacy/keys/gnupg &&
	test "$(find legacy -name "*.key" -o -name "*.kbx" -o -name "gnupg*" | wc -l)" = 0 &&
	test "$(stat -c %a mig)" = 700 &&
	grep "^gnupg-home = $PWD/mig$" legacy/binfarm-repo.conf &&
	grep "^signing-key = $(cat legacy.fpr)$" legacy/binfarm-repo.conf &&
	test_cmp pub.before legacy/keys/binfarm.asc &&
	no_agent "$PWD/mig" &&
	binfarm add -R legacy -p amd64 in/foo-1.0.gpkg.tar >/dev/null &&
	binfarm verify --keyring legacy/keys/binfarm.asc legacy/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar &&
	binfarm fsck -R legacy >out &&
	test_grep "^clean$" out
'

test_expect_success 'migrate again: nothing to do' '
	binfarm key -R legacy migrate 2>err &&
	test_grep "nothing to migrate" err
'

test_expect_success 'killed after the configuration moved: fsck says so, migrate finishes' '
	mkdir -p legacy/keys/gnupg/private-keys-v1.d &&
	echo secret >legacy/keys/gnupg/private-keys-v1.d/x.key &&
	test_expect_code 1 binfarm fsck -R legacy >out &&
	test_grep "secret key material is left inside the repository" out &&
	test_grep "binfarm -R .*/legacy key migrate" out &&
	test_must_fail binfarm add -R legacy -p amd64 in/foo-1.0.gpkg.tar 2>err &&
	test_grep "key migrate" err &&
	binfarm key -R legacy migrate 2>err &&
	test_path_is_missing legacy/keys/gnupg &&
	binfarm fsck -R legacy >out &&
	test_grep "^clean$" out
'

test_expect_success 'killed after the copy, before the configuration: migrate again works' '
	cp legacy2/binfarm-repo.conf conf.before &&
	binfarm key -R legacy2 migrate --gnupg-home "$PWD/mig" 2>err &&
	test_path_is_missing legacy2/keys/gnupg &&
	grep "^signing-key = $(cat legacy.fpr)$" legacy2/binfarm-repo.conf &&
	grep -v "^gnupg-home\|^signing-key" legacy2/binfarm-repo.conf >conf.after &&
	test_cmp conf.before conf.after &&
	binfarm add -R legacy2 -p amd64 in/foo-1.0.gpkg.tar >/dev/null
'

# binfarm-repo.conf: refused with the file and the line.
test_expect_success 'an empty binfarm-repo.conf is refused' '
	binfarm repo init --unsigned c1 &&
	: >c1/binfarm-repo.conf &&
	test_must_fail binfarm fsck -R c1 2>err &&
	test_grep "c1/binfarm-repo.conf: line 1: empty file" err &&
	test_must_fail binfarm add -R c1 -p amd64 in/foo-1.0.gpkg.tar 2>err &&
	test_grep "c1/binfarm-repo.conf: line 1: empty file" err &&
	test_path_is_missing c1/pool/amd64/app-misc &&
	test ! -s c1/binfarm-repo.conf
'

test_expect_success 'a binfarm-repo.conf without format is refused' '
	binfarm repo init --unsigned c2 &&
	printf "# comment\n\nsigning = no\nkeep = 3\n" >c2/binfarm-repo.conf &&
	test_must_fail binfarm fsck -R c2 2>err &&
	test_grep "c2/binfarm-repo.conf: line 5: end of file without .format = 1." err
'

test_expect_success 'a NUL byte in a value is refused' '
	binfarm repo init --unsigned c3 &&
	printf "format = 1\n\nsigning = n\000o\nkeep = 3\n" >c3/binfarm-repo.conf &&
	cp c3/binfarm-repo.conf conf.nul &&
	test_must_fail binfarm fsck -R c3 2>err &&
	test_grep "c3/binfarm-repo.conf: line 3: a NUL byte" err &&
	cmp conf.nul c3/binfarm-repo.conf
'

test_expect_success 'line numbers count blank lines' '
	binfarm repo init --unsigned c4 &&
	printf "format = 1\n\n\nbogus = 1\n" >c4/binfarm-repo.conf &&
	test_must_fail binfarm fsck -R c4 2>err &&
	test_grep "c4/binfarm-repo.conf: line 4: unknown key .bogus." err
'

test_expect_success 'gnupg-home must be absolute and come with signing-key' '
	binfarm repo init --unsigned c5 &&
	printf "format = 1\ngnupg-home = rel/dir\n" >c5/binfarm-repo.conf &&
	test_must_fail binfarm fsck -R c5 2>err &&
	test_grep "line 2: gnupg-home must be an absolute path" err &&
	printf "format = 1\ngnupg-home = /x\n" >c5/binfarm-repo.conf &&
	test_must_fail binfarm fsck -R c5 2>err &&
	test_grep "go together" err &&
	printf "format = 1\ngnupg-home = /x\nsigning-key = XYZ\n" >c5/binfarm-repo.conf &&
	test_must_fail binfarm fsck -R c5 2>err &&
	test_grep "line 3: signing-key must be a key fingerprint" err
'

test_done
