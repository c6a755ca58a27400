# Helpers for the t2000 index tests.  Source after test-lib.sh.

# mkpkg FILE CATEGORY PF [BUILD_ID] [KEY=VALUE...]: a real gpkg made by
# `binfarm pack`, with the metadata keys Portage writes for a tiny package.
mkpkg() {
	mkpkg_file=$1 mkpkg_cat=$2 mkpkg_pf=$3
	shift 3
	mkpkg_bid=
	case "$1" in [0-9]*) mkpkg_bid=$1; shift ;; esac
	rm -rf .mkpkg && mkdir -p .mkpkg/image/usr/share/"$mkpkg_pf" .mkpkg/info &&
	echo "$mkpkg_pf" >.mkpkg/image/usr/share/"$mkpkg_pf"/README &&
	printf '%s\n' "$mkpkg_cat" >.mkpkg/info/CATEGORY &&
	printf '%s\n' "$mkpkg_pf" >.mkpkg/info/PF &&
	printf '0\n' >.mkpkg/info/SLOT &&
	printf '8\n' >.mkpkg/info/EAPI &&
	printf 'amd64\n' >.mkpkg/info/KEYWORDS &&
	printf 'MIT\n' >.mkpkg/info/LICENSE &&
	printf '\n' >.mkpkg/info/USE &&
	printf 'gentoo\n' >.mkpkg/info/repository &&
	printf 'x86_64-pc-linux-gnu\n' >.mkpkg/info/CHOST &&
	printf '1700000000\n' >.mkpkg/info/BUILD_TIME &&
	for kv in "$@"; do
		k=${kv%%=*}
		if test "$k=" = "$kv"; then
			rm -f .mkpkg/info/"$k"
		else
			printf '%s\n' "${kv#*=}" >.mkpkg/info/"$k"
		fi || return 1
	done &&
	mkdir -p "$(dirname "$mkpkg_file")" &&
	SOURCE_DATE_EPOCH=1700000000 binfarm pack -q -i .mkpkg/image \
		-b .mkpkg/info ${mkpkg_bid:+--build-id "$mkpkg_bid"} \
		-o "$mkpkg_file" &&
	rm -rf .mkpkg
}

# be32 N: four big-endian bytes.
be32() {
	printf "\\$(printf %03o $(($1 >> 24 & 255)))\\$(printf %03o $(($1 >> 16 & 255)))\\$(printf %03o $(($1 >> 8 & 255)))\\$(printf %03o $(($1 & 255)))"
}

# mkxpak FILE KEY=VALUE...: a .tbz2/.xpak as xpak.py writes it (the tar
# part is an empty bzip2 stream; only the trailer matters here).
mkxpak() {
	mkxpak_file=$1
	shift
	mkdir -p "$(dirname "$mkxpak_file")" &&
	rm -rf .mkxpak && mkdir .mkxpak &&
	: >.mkxpak/index && : >.mkxpak/data &&
	for kv in "$@"; do
		k=${kv%%=*} v=${kv#*=}
		printf '%s\n' "$v" >.mkxpak/v &&
		off=$(wc -c <.mkxpak/data) && len=$(wc -c <.mkxpak/v) &&
		{ be32 ${#k}; printf '%s' "$k"; be32 $off; be32 $len; } >>.mkxpak/index &&
		cat .mkxpak/v >>.mkxpak/data || return 1
	done &&
	{
		printf XPAKPACK
		be32 $(wc -c <.mkxpak/index)
		be32 $(wc -c <.mkxpak/data)
		cat .mkxpak/index .mkxpak/data
		printf XPAKSTOP
	} >.mkxpak/blob &&
	{
		printf '' | bzip2 -c
		cat .mkxpak/blob
		be32 $(wc -c <.mkxpak/blob)
		printf STOP
	} >"$mkxpak_file" &&
	rm -rf .mkxpak
}

# A package's stanza without the lines that depend on time or bytes.
stable_index() {
	grep -v -e '^TIMESTAMP: ' "$@"
}

# stanza REGEX FILE: the package stanzas of FILE that have a line matching REGEX.
stanza() {
	awk -v pat="$1" 'BEGIN { RS = ""; ORS = "\n\n" } NR > 1 {
		n = split($0, l, "\n"); for (i = 1; i <= n; i++) if (l[i] ~ pat) { print; next } }' "$2"
}
