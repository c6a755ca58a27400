#!/bin/sh
test_description='binfarm key, signed add, verify --keyring (Portage trust rules)'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-repo.sh"

if ! test_have_prereq GPG 2>/dev/null && ! command -v gpg >/dev/null 2>&1; then
	skip_all 'gpg is not installed'
fi

# Short GnuPG homes: agent socket paths must stay under 108 bytes.
GH=$(mktemp -d /tmp/bf-t3100.XXXXXX)
trap 'gpg_stop "$BINFARM_GNUPG_HOME"; gpg_stop "$GH/node"; gpg_stop "$GH/other"; rm -rf "$GH"' EXIT

test_expect_success 'repo init makes a signing key outside the tree; key export prints it' '
	binfarm repo init repo 2>err &&
	test_grep "made signing key" err &&
	test_path_is_missing repo/keys/gnupg &&
	test "$(stat -c %a "$BINFARM_GNUPG_HOME")" = 700 &&
	grep "^gnupg-home = $BINFARM_GNUPG_HOME$" repo/binfarm-repo.conf &&
	grep "^signing-key = [0-9A-F]\{40\}$" repo/binfarm-repo.conf &&
	find "$BINFARM_GNUPG_HOME/private-keys-v1.d" -type f -name "*.key" >keys &&
	test -s keys &&
	while read -r k; do test "$(stat -c %a "$k")" = 600 || return 1; done <keys &&
	binfarm key -R repo export >pub.asc &&
	test_cmp repo/keys/binfarm.asc pub.asc &&
	test_grep "BEGIN PGP PUBLIC KEY BLOCK" pub.asc
'

test_expect_success 'key init never replaces a key' '
	test_must_fail binfarm key -R repo init 2>err &&
	test_grep "already has a key" err
'

test_expect_success 'a signed repository without a key refuses to add' '
	binfarm repo init --no-key nokey &&
	mkpkg in/foo-1.0.gpkg.tar app-misc foo-1.0 &&
	test_must_fail binfarm add -R nokey -p amd64 in/foo-1.0.gpkg.tar 2>err &&
	test_grep "no key" err &&
	test_must_fail binfarm key -R nokey export 2>err
'

test_expect_success 'add signs as Portage does: members, order, Manifest' '
	binfarm add -R repo -p amd64 in/foo-1.0.gpkg.tar >out 2>err &&
	! test_grep UNSIGNED err &&
	f=repo/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar &&
	tar tf $f >members &&
	cat >expect <<-\EOM &&
	foo-1.0-1/gpkg-1
	foo-1.0-1/metadata.tar.zst
	foo-1.0-1/metadata.tar.zst.sig
	foo-1.0-1/image.tar.zst
	foo-1.0-1/image.tar.zst.sig
	foo-1.0-1/Manifest
	EOM
	test_cmp expect members &&
	tar xOf $f foo-1.0-1/Manifest >Manifest &&
	head -3 Manifest >head &&
	printf "%s\n" "-----BEGIN PGP SIGNED MESSAGE-----" "Hash: SHA512" "" >expect &&
	test_cmp expect head &&
	grep "^DATA" Manifest | cut -d" " -f2 >listed &&
	printf "%s\n" gpkg-1 metadata.tar.zst metadata.tar.zst.sig image.tar.zst image.tar.zst.sig >expect &&
	test_cmp expect listed &&
	tail -1 Manifest | grep -e "^-----END PGP SIGNATURE-----$" &&
	tar xOf $f foo-1.0-1/image.tar.zst.sig | head -1 | grep -e "^-----BEGIN PGP SIGNATURE-----$" &&
	binfarm verify $f
'

test_expect_success REFERENCE 'same member layout as Portage'\''s golden signed packages' '
	tar tf "$REFERENCE_DIR/gpkg-signed/dev-libs/libfoo/libfoo-1.2.3-1.gpkg.tar" |
		sed "s|^[^/]*/||" >golden &&
	sed "s|^[^/]*/||" members >ours &&
	test_cmp golden ours &&
	tar xOf "$REFERENCE_DIR/gpkg-signed/dev-libs/libfoo/libfoo-1.2.3-1.gpkg.tar" \
		libfoo-1.2.3-1/Manifest | head -3 >golden.head &&
	test_cmp golden.head head
'

test_expect_success 'real gpg verifies every signature' '
	mkdir -m 700 "$GH/node" &&
	gpg -q --batch --homedir "$GH/node" --import repo/keys/binfarm.asc &&
	rm -rf x && mkdir x && tar xf repo/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar -C x &&
	gpg --batch --homedir "$GH/node" --status-fd 1 --verify x/foo-1.0-1/Manifest >status &&
	test_grep "GOODSIG" status &&
	gpg --batch --homedir "$GH/node" --verify x/foo-1.0-1/metadata.tar.zst.sig x/foo-1.0-1/metadata.tar.zst &&
	gpg --batch --homedir "$GH/node" --verify x/foo-1.0-1/image.tar.zst.sig x/foo-1.0-1/image.tar.zst
'

test_expect_success 'verify --keyring HOME: an imported but untrusted key fails, as in Portage' '
	f=repo/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar &&
	test_expect_code 1 binfarm verify --keyring "$GH/node" $f >out &&
	test_grep "not trusted" out
'

test_expect_success 'verify --keyring HOME: trusted through lsign by a local ultimate key' '
	gpg -q --batch --homedir "$GH/node" --passphrase "" --quick-gen-key "node local <root@node>" ed25519 sign never &&
	fpr=$(gpg --homedir "$GH/node" --with-colons --fingerprint "binfarm repository" | awk -F: "/^fpr/{print \$10; exit}") &&
	gpg -q --batch --homedir "$GH/node" --yes --quick-lsign-key "$fpr" &&
	gpg -q --batch --homedir "$GH/node" --check-trustdb;
	f=repo/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar &&
	binfarm verify --keyring "$GH/node" $f >out &&
	test_grep "OK (signatures good)" out
'

test_expect_success 'verify --keyring FILE trusts that file'\''s keys' '
	binfarm verify --keyring repo/keys/binfarm.asc repo/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar
'

test_expect_success 'verify --keyring: unsigned, other key, tampered signature all fail' '
	test_expect_code 1 binfarm verify --keyring repo/keys/binfarm.asc in/foo-1.0.gpkg.tar >out &&
	test_grep "not signed" out &&
	mkdir -m 700 "$GH/other" &&
	gpg -q --batch --homedir "$GH/other" --passphrase "" --quick-gen-key "other <o@x>" ed25519 sign never &&
	gpg --homedir "$GH/other" --export --armor >other.asc &&
	test_expect_code 1 binfarm verify --keyring other.asc repo/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar >out &&
	test_grep "unknown key" out &&
	python3 "$TAMPER" repo/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar flipped.gpkg.tar flip image.tar.zst.sig &&
	test_expect_code 1 binfarm verify --keyring repo/keys/binfarm.asc flipped.gpkg.tar >out &&
	test_grep "FAILED" out
'

test_expect_success 'add --require-signature refuses unsigned packages' '
	mkpkg in/bar-1.gpkg.tar dev-libs bar-1 &&
	test_expect_code 1 binfarm add -R repo -p amd64 --require-signature \
		--keyring repo/keys/binfarm.asc in/bar-1.gpkg.tar >out &&
	test_grep "REFUSED: .*not signed" out &&
	test_path_is_missing repo/pool/amd64/dev-libs/bar
'

test_expect_success 'add --require-signature takes a trusted signed package and re-signs it' '
	binfarm add -R repo -p amd64 --require-signature --keyring repo/keys/binfarm.asc \
		repo/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar >out &&
	test_grep "build 2" out &&
	binfarm verify --keyring repo/keys/binfarm.asc repo/pool/amd64/app-misc/foo/foo-1.0-2.gpkg.tar
'

# gpg-agent's socket lives in the GnuPG home and a socket path has at
# most 107 bytes: a repository deeper than that signs through a short
# link in a private directory under TMPDIR (or /run/user/UID).
DEEP=$(pwd -P)/deep/$(printf "%0120d" 0)
LINKS="$GH/binfarm-gpg-$(id -u) /run/user/$(id -u)/binfarm-gpg-$(id -u)"
deep_link() {
	for dl_d in $LINKS; do
		test -d "$dl_d" || continue
		find "$dl_d" -maxdepth 1 -lname "$DEEP/gnupg" || return 1
	done
}
trap 'gpg_stop "$BINFARM_GNUPG_HOME"; gpg_stop "$GH/node"; gpg_stop "$GH/other";
	for l in $(deep_link); do gpg_stop "$l"; done; rm -rf "$GH"' EXIT

test_expect_success 'a repository too deep for a socket path still signs' '
	mkdir -p "$DEEP" &&
	test $(printf %s "$DEEP/gnupg/S.gpg-agent" | wc -c) -gt 108 &&
	(unset XDG_RUNTIME_DIR && TMPDIR=$GH && export TMPDIR &&
	 binfarm repo init --gnupg-home "$DEEP/gnupg" "$DEEP/repo" 2>err &&
	 binfarm add -R "$DEEP/repo" -p amd64 in/foo-1.0.gpkg.tar >out) &&
	test_grep "made signing key" err &&
	binfarm verify --keyring "$DEEP/repo/keys/binfarm.asc" \
		"$DEEP/repo/pool/amd64/app-misc/foo/foo-1.0-1.gpkg.tar" &&
	deep_link >link && test "$(wc -l <link)" = 1 &&
	test "$(stat -c %a "$(dirname "$(cat link)")")" = 700
'

test_expect_success 'a link directory open to others is refused, with the reason' '
	d=$GH/binfarm-gpg-$(id -u) &&
	if test -d "$d"; then
		chmod 755 "$d" &&
		test_when_finished "chmod 700 \"$d\"" &&
		(unset XDG_RUNTIME_DIR && TMPDIR=$GH && export TMPDIR &&
		 test_must_fail binfarm add -R "$DEEP/repo" -p amd64 in/foo-1.0.gpkg.tar 2>err) &&
		test_grep "is not a private directory" err &&
		test_path_is_missing "$DEEP/repo/pool/amd64/app-misc/foo/foo-1.0-2.gpkg.tar"
	fi
'

test_expect_success 'a GnuPG home gpg cannot use: add refuses, says where to look, stages nothing' '
	cp "$BINFARM_GNUPG_HOME/gpg.conf" gpg.conf.good &&
	test_when_finished "cp gpg.conf.good \"$BINFARM_GNUPG_HOME/gpg.conf\"" &&
	sed -i "s/^digest-algo SHA512/digest-algo NO-SUCH-DIGEST/" "$BINFARM_GNUPG_HOME/gpg.conf" &&
	mkpkg in/baz-1.gpkg.tar dev-libs baz-1 &&
	test_must_fail binfarm add -R repo -p amd64 in/baz-1.gpkg.tar 2>err &&
	test_grep "gpg --homedir $BINFARM_GNUPG_HOME -K" err &&
	test_path_is_missing repo/pool/amd64/dev-libs/baz
'

test_expect_success 'fsck checks signatures in a signed repository' '
	binfarm snapshot -R repo -p amd64 create >id &&
	binfarm fsck -R repo >out &&
	test_grep "^clean$" out
'

# the agent of the deep home is reached through its link only
for l in $(deep_link); do gpg_stop "$l"; done
test_done
