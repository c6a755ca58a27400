# Helpers for the t3xxx repository tests.  Source after test-lib.sh.
. "$TEST_DIRECTORY/lib-index.sh"

TAMPER="$TEST_DIRECTORY/helper/gpkg-tamper.py"

# snap_ids PROFILE [REPO]: the profile's snapshot ids, oldest first.
snap_ids() {
	binfarm snapshot -R "${2-repo}" -p "$1" list | awk '{print $1}'
}

# channel_id REPO CHANNEL PROFILE: the id a channel link points at.
channel_id() {
	readlink "$1/channels/$2/$3" | sed 's|.*/||'
}

# check_channel REPO CHANNEL PROFILE: the channel resolves to a complete
# index every PATH of which exists.
check_channel() {
	cc_dir="$1/channels/$2/$3" &&
	test -f "$cc_dir/Packages" && test -f "$cc_dir/Packages.gz" &&
	gzip -dc "$cc_dir/Packages.gz" | cmp - "$cc_dir/Packages" &&
	sed -n 's/^PATH: //p' "$cc_dir/Packages" >.cc_paths &&
	while read -r p; do
		test -f "$cc_dir/$p" || { echo >&4 "missing $cc_dir/$p"; return 1; }
	done <.cc_paths
}

# gpg_stop HOME: stop the gpg-agent of a GnuPG home, if any.
gpg_stop() {
	gpgconf --homedir "$1" --kill gpg-agent >/dev/null 2>&1 || :
}

command -v gpg >/dev/null 2>&1 && command -v gpgconf >/dev/null 2>&1 &&
	test_set_prereq GPG
