#!/bin/sh
test_description='binfarm-binhost serves an allow-list: indexes, package PATHs, the public key; never the secret key'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-repo.sh"
. "$TEST_DIRECTORY/lib-httpd.sh"

command -v curl >/dev/null 2>&1 || skip_all 'curl is not installed'
command -v gpg >/dev/null 2>&1 || skip_all 'gpg is not installed'

# code PATH: the status code of a GET of PATH as sent (no normalisation).
code() {
	curl -ks --path-as-is -o body -w "%{http_code}" "$(bh_url)$1"
}

test_expect_success 'setup: a signed repository with a snapshot, and a GnuPG home in the tree as old versions made it' '
	binfarm repo init repo 2>err &&
	mkpkg in/foo-1.0.gpkg.tar app-misc foo-1.0 &&
	mkpkg in/bar-2.gpkg.tar dev-libs bar-2 &&
	binfarm add -R repo -p amd64 in/foo-1.0.gpkg.tar in/bar-2.gpkg.tar >/dev/null &&
	binfarm snapshot -R repo -p amd64 create >id &&
	binfarm promote -R repo -p amd64 -c testing "$(cat id)" >/dev/null 2>&1 &&
	mkpkg in/baz-3.gpkg.tar dev-libs baz-3 &&
	binfarm add -R repo -p amd64 in/baz-3.gpkg.tar >/dev/null &&
	mkdir -p repo/tmp/x repo/keys/gnupg/private-keys-v1.d &&
	echo "SECRET KEY" >repo/keys/gnupg/private-keys-v1.d/0123456789ABCDEF0123456789ABCDEF01234567.key &&
	echo "SECRET KEY" >repo/keys/gnupg/pubring.kbx &&
	echo "SECRET KEY" >repo/keys/gnupg/S.gpg-agent &&
	echo "SECRET KEY" >repo/keys/secring.gpg &&
	echo junk >repo/tmp/x/app-misc-foo-1.0-1.gpkg.tar &&
	S=repo/snapshots/amd64/$(cat id) &&
	echo junk >$S/notes.txt &&
	echo junk >$S/app-misc/foo/foo-1.0-1.gpkg.tar.sig &&
	echo junk >$S/.hidden-1.0.gpkg.tar &&
	start_binhost --root repo
'

test_expect_success 'what the list allows is served' '
	test "$(code /testing/amd64/Packages)" = 200 &&
	test "$(code /testing/amd64/Packages.gz)" = 200 &&
	test "$(code /keys/binfarm.asc)" = 200 &&
	test_cmp repo/keys/binfarm.asc body &&
	sed -n "s/^PATH: //p" repo/channels/testing/amd64/Packages >paths &&
	test "$(wc -l <paths)" = 2 &&
	while read -r p; do
		test "$(code "/testing/amd64/$p")" = 200 &&
		cmp body "repo/channels/testing/amd64/$p" &&
		test "$(code "/snapshots/amd64/$(cat id)/$p")" = 200 || return 1
	done <paths &&
	test "$(code "/snapshots/amd64/$(cat id)/Packages")" = 200
'

test_expect_success ROOT 'as root, every other file in the tree is a 404' '
	test "$(id -u)" = 0 &&
	id=$(cat id) &&
	(cd repo && find . -type f) | sed "s|^\./||" >files &&
	grep -q "^keys/gnupg/private-keys-v1.d/.*\.key$" files &&
	grep -q "^binfarm-repo.conf$" files &&
	grep -q "^snapshots/amd64/$id/SNAPSHOT$" files &&
	{
		echo keys/binfarm.asc &&
		echo snapshots/amd64/$id/Packages &&
		echo snapshots/amd64/$id/Packages.gz &&
		# its record, for binfarm-node (binfarm-node(8))
		echo snapshots/amd64/$id/SNAPSHOT &&
		sed "s|^|snapshots/amd64/$id/|" paths
	} >allowed &&
	grep -vxF -f allowed files >others &&
	test "$(wc -l <files)" = "$(($(wc -l <others) + 6))" &&
	: >asked &&
	while read -r f; do
		echo "$f" >>asked &&
		c=$(code "/$f") &&
		if test "$c" != 404; then
			echo >&4 "/$f: $c"; return 1
		fi &&
		case $f in
		snapshots/amd64/$id/*)
			# the same file through the channel
			c=$(code "/testing/amd64/${f#snapshots/amd64/$id/}") &&
			if test "$c" != 404; then
				echo >&4 "/testing/amd64/${f#snapshots/amd64/$id/}: $c"; return 1
			fi ;;
		esac || return 1
	done <others &&
	test "$(wc -l <asked)" -gt 15 &&
	! grep -q "SECRET KEY" body
'

test_expect_success 'the secret key under every spelling: 404' '
	K=private-keys-v1.d/0123456789ABCDEF0123456789ABCDEF01234567.key &&
	for p in \
		"/keys/gnupg/$K" \
		"/keys/../keys/gnupg/$K" \
		"/keys/./gnupg/$K" \
		"/keys/%2e%2e/keys/gnupg/$K" \
		"/keys/%2E%2E/keys/gnupg/$K" \
		"/keys/.%2e/keys/gnupg/$K" \
		"/keys%2fgnupg%2f$K" \
		"/keys/gnupg%2f$K" \
		"/keys%2Fgnupg/$K" \
		"/keys/%252e%252e/keys/gnupg/$K" \
		"/keys%252fgnupg%252f$K" \
		"/%6beys/gnupg/$K" \
		"/keys/%67nupg/$K" \
		"/keys\\gnupg\\$K" \
		"/keys%5cgnupg%5c$K" \
		"/keys/..\\keys/gnupg/$K" \
		"//keys/gnupg/$K" \
		"/keys//gnupg/$K" \
		"/keys/gnupg//$K" \
		"/keys/gnupg/pubring.kbx" \
		"/keys/gnupg/S.gpg-agent" \
		"/keys/secring.gpg" \
		"/keys/gnupg" "/keys/gnupg/" "/keys/" "/keys" \
		"/keys/binfarm.asc/" "/keys/binfarm.asc/.." \
		"/testing/amd64/../../keys/gnupg/$K" \
		"/snapshots/amd64/$(cat id)/../../../keys/gnupg/$K"
	do
		c=$(code "$p") &&
		if test "$c" != 404; then
			echo >&4 "$p: $c"; return 1
		fi &&
		if grep -q "SECRET KEY" body; then
			echo >&4 "$p: secret served"; return 1
		fi || return 1
	done
'

test_expect_success 'package names only of the forms Portage writes' '
	id=$(cat id) &&
	for p in Packages.bak SNAPSHOT.bak snapshot app-misc app-misc/foo \
		app-misc/foo/foo-1.0-1.gpkg.tar.sig app-misc/foo/bar-1.0-1.gpkg.tar \
		app-misc/foo/foo.gpkg.tar app-misc/foo/foo-x.gpkg.tar \
		a/b/c/foo-1.gpkg.tar app-misc/foo/foo-1.0-1.tar notes.txt \
		.hidden-1.0.gpkg.tar
	do
		test "$(code "/testing/amd64/$p")" = 404 &&
		test "$(code "/snapshots/amd64/$id/$p")" = 404 || {
			echo >&4 "$p served"; return 1; }
	done
'

test_done
