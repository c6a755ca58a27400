#!/bin/bash
# emerge-check.sh: check that REAL Portage (run from its source tree, on a
# non-Gentoo host) installs with `emerge --getbinpkgonly` the packages that
# binfarm-binhost serves, with binary package signature verification ON.
#
# A developer's check, run by hand: it needs a Portage source checkout
# (git clone https://github.com/gentoo/portage), which binfarm neither
# ships nor needs; CI does not run it.  The repository is typically the
# one scripts/demo.sh built (demo/state/repo).
#
# usage: emerge-check.sh PORTAGE_SRC REPO PROFILE [ATOM...]
#   PORTAGE_SRC  a Portage source checkout
#   REPO         a binfarm repository (e.g. demo/state/repo)
#   PROFILE      a hw-profile name (e.g. web-x86-64-v3)
#   ATOM...      packages to install, one emerge per atom, in order
#                (default: www-servers/tinyhttpd www-apps/shopfront)
# environment:
#   BINFARM_SRC  binfarm checkout with built binfarm-binhost (this one)
#   CHANNEL      channel to serve (production)
#   WORK         scratch directory, wiped first (${TMPDIR:-/tmp}/binfarm-emerge-check)
#   CHECK_WORLD  if 1, finally `emerge -uDN @world` from the hw-profile world
#
# Exits 0 only if every emerge succeeded and every requested package is
# recorded in ROOT/var/db/pkg with its files present.
set -u

PORTAGE_SRC=${1:?usage: $0 PORTAGE_SRC REPO PROFILE [ATOM...]}
REPO=${2:?usage: $0 PORTAGE_SRC REPO PROFILE [ATOM...]}
PROFILE=${3:?usage: $0 PORTAGE_SRC REPO PROFILE [ATOM...]}
shift 3
ATOMS=("$@")
[ ${#ATOMS[@]} -gt 0 ] || ATOMS=(www-servers/tinyhttpd www-apps/shopfront)

BINFARM_SRC=${BINFARM_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
CHANNEL=${CHANNEL:-production}
WORK=${WORK:-${TMPDIR:-/tmp}/binfarm-emerge-check/run}

[ -d "$PORTAGE_SRC/lib/portage" ] ||
	{ echo "emerge-check: $PORTAGE_SRC is not a Portage source checkout" >&2; exit 2; }
PORTAGE_SRC=$(cd "$PORTAGE_SRC" && pwd) || exit 2
if [ ! -d "$REPO/channels" ]; then
	# No repository: build one with binfarm's demo (about a minute; note
	# that demo.sh runs bootstrap.sh, i.e. make, in $BINFARM_SRC).
	DEMO_DIR=${DEMO_DIR:-$(dirname "$WORK")/demo}
	echo "emerge-check: $REPO is not a binfarm repository; running demo.sh $DEMO_DIR"
	"$BINFARM_SRC/scripts/demo.sh" "$DEMO_DIR" >"$(dirname "$WORK")/demo.log" 2>&1 ||
		{ echo "emerge-check: demo.sh failed, see $(dirname "$WORK")/demo.log" >&2; exit 2; }
	REPO=$DEMO_DIR/state/repo
fi
REPO=$(cd "$REPO" && pwd) || exit 2
HWPROF=$BINFARM_SRC/profiles/$PROFILE
for f in "$PORTAGE_SRC/bin/emerge" "$BINFARM_SRC/binfarm-binhost" \
	"$BINFARM_SRC/scripts/sample-tree.sh" "$HWPROF/make.conf" \
	"$REPO/keys/binfarm.asc"; do
	[ -e "$f" ] || { echo "emerge-check: missing $f" >&2; exit 2; }
done

log() { printf '\n=== %s\n' "$*"; }
fail() { echo "emerge-check: FAIL: $*" >&2; exit 1; }

rm -rf "$WORK"
mkdir -p "$WORK" || exit 2
ROOT=$WORK/root                  # ROOT = PORTAGE_CONFIGROOT, EPREFIX=""
CONF=$ROOT/etc/portage
# With ROOT != /, emerge also configures the running root "/" from
# $EPREFIX/etc/portage (portage/__init__.py create_trees); there is no
# /etc/portage on a non-Gentoo host, so give "/" a fake prefix whose
# etc/portage is the same configuration (PORTAGE_OVERRIDE_EPREFIX, as
# Portage's tests do), and keep the target's EPREFIX empty like a node.
HOST=$WORK/host

# --- 1. the sample ebuild tree the packages were built from -------------
log "sample tree"
"$BINFARM_SRC/scripts/sample-tree.sh" "$WORK/trees" || fail "sample-tree.sh"

# --- 2. serve the repository -----------------------------------------------
log "binfarm-binhost"
"$BINFARM_SRC/binfarm-binhost" -d -r "$REPO" -l 127.0.0.1:0 \
	$( [ "$(id -u)" = 0 ] && echo "-u nobody") \
	--port-file "$WORK/port" --access-log "$WORK/access.log" \
	>"$WORK/binhost.log" 2>&1 &
BINHOST_PID=$!
trap 'kill $BINHOST_PID 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || fail "binfarm-binhost did not start: $(cat "$WORK/binhost.log")"
URL=http://127.0.0.1:$(cat "$WORK/port")/$CHANNEL/$PROFILE
echo "binhost pid $BINHOST_PID, $URL"
curl -sf "$URL/Packages" >/dev/null || fail "no index at $URL/Packages"

# --- 3. the fake root and its configuration ---------------------------------
log "fake root $ROOT"
mkdir -p "$CONF/repos.conf" "$ROOT/var/db/pkg" "$ROOT/var/lib/portage" \
	"$ROOT/var/cache/edb" "$ROOT/var/log" "$WORK/tmp" "$WORK/pkgdir" \
	"$WORK/distfiles" "$WORK/bin"

portage_profile=$(sed -n 's/^[[:space:]]*portage-profile[[:space:]]*=[[:space:]]*//p' \
	"$HWPROF/profile.conf")
portage_profile=${portage_profile:-default/linux/amd64/23.0}
ln -s "$WORK/trees/gentoo/profiles/$portage_profile" "$CONF/make.profile"
mkdir -p "$HOST/etc" "$HOST/var/db/pkg" "$HOST/var/lib/portage" "$HOST/var/cache/edb"
ln -s "$CONF" "$HOST/etc/portage"
# emerge looks for the sets configuration under $EPREFIX/usr/share/portage
mkdir -p "$HOST/usr/share/portage"
ln -s "$PORTAGE_SRC/cnf" "$HOST/usr/share/portage/config"

for f in package.use package.accept_keywords package.license package.mask \
	package.unmask package.env; do
	[ -e "$HWPROF/$f" ] && cp "$HWPROF/$f" "$CONF/$f"
done
cp "$HWPROF/world" "$WORK/hw-world"

{
	echo "# ---- hw-profile $PROFILE make.conf (verbatim) ----"
	cat "$HWPROF/make.conf"
	cat <<EOF

# ---- running Portage from its source tree on a non-Gentoo host ----
# (what Portage's own tests do: lib/portage/tests/emerge/conftest.py and
# test_baseline.py)
FEATURES="\${FEATURES} -sandbox -usersandbox -userpriv -usersync -userfetch"
FEATURES="\${FEATURES} -ipc-sandbox -network-sandbox -pid-sandbox -news"
PORTAGE_USERNAME="root"
PORTAGE_GRPNAME="root"
PORTAGE_TMPDIR="$WORK/tmp"
PKGDIR="$WORK/pkgdir"
DISTDIR="$WORK/distfiles"
PORTAGE_LOGDIR="$WORK/tmp"
CLEAN_DELAY="0"
EMERGE_WARNING_DELAY="0"
# getuto is Gentoo-only; its job (trust for the binhost key) is done below
PORTAGE_TRUST_HELPER=""
# make.globals says /etc/portage/gnupg, not prefixed by PORTAGE_CONFIGROOT
BINPKG_GPG_VERIFY_GPG_HOME="$CONF/gnupg"
EOF
} >"$CONF/make.conf"

cat >"$CONF/repos.conf/sample.conf" <<EOF
[DEFAULT]
main-repo = gentoo

[gentoo]
location = $WORK/trees/gentoo
auto-sync = no

[company]
location = $WORK/trees/company
auto-sync = no
EOF

cat >"$CONF/binrepos.conf" <<EOF
[binfarm]
priority = 10
sync-uri = $URL
verify-signature = true
# default is \${EPREFIX}/var/cache/binhost/NAME: keep it off the host
location = $WORK/binhost-cache
EOF

# --- 4. trust the binfarm signing key (binfarm README, "Trusting the
#        signing key on a node"; getuto's local key replaced by ownertrust)
log "gnupg trust in $CONF/gnupg"
export GNUPGHOME=$CONF/gnupg
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
gpg --batch --quiet --import "$REPO/keys/binfarm.asc" || fail "gpg --import"
fpr=$(gpg --batch --with-colons --fingerprint | awk -F: '$1=="fpr"{print $10; exit}')
echo "$fpr:6:" | gpg --batch --import-ownertrust || fail "import-ownertrust"
gpg --batch --check-trustdb
gpgconf --kill all 2>/dev/null
unset GNUPGHOME
# Portage runs gpg --verify as GPG_VERIFY_USER_DROP (nobody): make it readable
chmod -R a+rwX "$CONF/gnupg"
echo "key $fpr trusted"

# --- 5. run emerge ------------------------------------------------------------
export ROOT PORTAGE_CONFIGROOT=$ROOT EPREFIX=""
export PORTAGE_OVERRIDE_EPREFIX=$HOST
export PYTHONPATH=$PORTAGE_SRC/lib${PYTHONPATH:+:$PYTHONPATH}
export PYTHONDONTWRITEBYTECODE=1
export PORTAGE_USERNAME=root PORTAGE_GRPNAME=root
export CLEAN_DELAY=0 EMERGE_WARNING_DELAY=0
export PORTAGE_TRUST_HELPER=""
EMERGE=("${PORTAGE_PYTHON:-python3}" "$PORTAGE_SRC/bin/emerge")

rc=0
for atom in "${ATOMS[@]}"; do
	log "emerge --getbinpkgonly --usepkgonly -v $atom"
	"${EMERGE[@]}" --getbinpkgonly --usepkgonly -v --color=n \
		"$atom" 2>&1 | tee -a "$WORK/emerge.log"
	r=${PIPESTATUS[0]}
	echo "emerge exit status: $r"
	[ "$r" -eq 0 ] || rc=1
done

# Negative control: the same emerge must FAIL when the binhost key is not
# trusted, proving that signatures were really verified above.
if [ "${NEGATIVE:-1}" = 1 ]; then
	log "negative control: emerge with an untrusted key must fail"
	mv "$CONF/gnupg" "$CONF/gnupg.trusted"
	mkdir -p "$CONF/gnupg" && chmod 700 "$CONF/gnupg"
	GNUPGHOME=$CONF/gnupg gpg --batch --quiet --import "$REPO/keys/binfarm.asc"
	GNUPGHOME=$CONF/gnupg gpgconf --kill all 2>/dev/null
	chmod -R a+rwX "$CONF/gnupg"
	"${EMERGE[@]}" --getbinpkgonly --usepkgonly --oneshot --nodeps --color=n \
		"${ATOMS[0]}" >"$WORK/negative.log" 2>&1
	r=$?
	grep -E 'verification failed|Signature|signature|!!!' "$WORK/negative.log" | head -12
	echo "emerge exit status (untrusted key): $r"
	if [ "$r" -eq 0 ] || ! grep -q 'GnuPG verification failed' "$WORK/negative.log"; then
		echo "NEGATIVE CONTROL FAILED: emerge did not reject a package signed by an untrusted key"
		rc=1
	fi
	rm -rf "$CONF/gnupg"
	mv "$CONF/gnupg.trusted" "$CONF/gnupg"
fi

if [ "${CHECK_WORLD:-0}" = 1 ]; then
	log "emerge --getbinpkgonly --usepkgonly -uDNv @world (hw-profile world)"
	cp "$WORK/hw-world" "$ROOT/var/lib/portage/world"
	"${EMERGE[@]}" --getbinpkgonly --usepkgonly -uDNv --color=n @world 2>&1 |
		tee -a "$WORK/emerge.log"
	r=${PIPESTATUS[0]}
	echo "emerge exit status: $r"
	[ "$r" -eq 0 ] || rc=1
fi

# --- 6. check the result --------------------------------------------------------
log "result in $ROOT"
grep -E '^!!!|^ \* ' "$WORK/emerge.log" | sort | uniq -c | sort -rn | head -40
echo "installed (var/db/pkg):"
(cd "$ROOT/var/db/pkg" && ls -d */* 2>/dev/null | sed 's/^/  /')
for atom in "${ATOMS[@]}"; do
	cp=${atom%%:*}
	vdb=$(ls -d "$ROOT/var/db/pkg/${cp%/*}/${cp#*/}"-[0-9]* 2>/dev/null | head -1)
	if [ -z "$vdb" ]; then
		echo "NOT INSTALLED: $atom"; rc=1; continue
	fi
	missing=0
	while read -r type path _; do
		case $type in obj) [ -e "$ROOT$path" ] || { echo "missing $path"; missing=1; } ;; esac
	done <"$vdb/CONTENTS"
	echo "$atom -> ${vdb#$ROOT/var/db/pkg/} ($(grep -c '^obj ' "$vdb/CONTENTS") files, BUILD_ID $(cat "$vdb/BUILD_ID" 2>/dev/null))"
	[ $missing = 0 ] || rc=1
done
if [ -x "$ROOT/usr/bin/tinyhttpd" ]; then
	echo "running $ROOT/usr/bin/tinyhttpd -V, then one request on stdin:"
	"$ROOT/usr/bin/tinyhttpd" -V || { echo "tinyhttpd -V failed"; rc=1; }
	printf 'GET /index.html HTTP/1.0\r\n\r\n' | "$ROOT/usr/bin/tinyhttpd" | head -3
fi
echo "binhost requests: $(grep -c . "$WORK/access.log" 2>/dev/null)"

# --- 7. fidelity checks (informational: never change the exit status) -------
log "fidelity: binfarm's index against the one Portage writes for the same files"
mkdir -p "$WORK/portage-index"
cp -rL "$REPO/channels/$CHANNEL/$PROFILE/." "$WORK/portage-index/"
rm -f "$WORK/portage-index/Packages" "$WORK/portage-index/Packages.gz" \
	"$WORK/portage-index/.Packages.gz.idx" "$WORK/portage-index/SNAPSHOT"
PKGDIR=$WORK/portage-index "${PORTAGE_PYTHON:-python3}" "$PORTAGE_SRC/bin/emaint" \
	binhost --fix >"$WORK/emaint.log" 2>&1 || echo "emaint binhost --fix failed: $(tail -3 "$WORK/emaint.log")"
# per-package stanzas: ignore MTIME (copy time) and CHOST (header-inherited)
curl -sf "$URL/Packages" >"$WORK/Packages.binfarm"
sed '/^$/q' "$WORK/Packages.binfarm" | grep '^REPO_REVISIONS' | sed 's/^/index header /'
for t in gentoo company; do
	echo "tree $t at $(git -C "$WORK/trees/$t" rev-parse HEAD)"
done
strip() { sed -n '/^$/,$p' "$1" | grep -vE '^(MTIME|CHOST):'; }
if diff <(strip "$WORK/portage-index/Packages") <(strip "$WORK/Packages.binfarm") >"$WORK/index.diff"; then
	echo "per-package stanzas: identical to Portage's (emaint binhost --fix)"
else
	echo "WARNING: per-package stanzas differ from Portage's:"; head -20 "$WORK/index.diff"
fi
hdr() { sed '/^$/q' "$1" | cut -d: -f1 | sort; }
# keys only Portage's make.globals defines: binfarm leaves them to the node
globals_only='ACCEPT_PROPERTIES|ACCEPT_RESTRICT|CONFIG_PROTECT|CONFIG_PROTECT_MASK|FEATURES|GENTOO_MIRRORS'
missing_hdr=$(comm -23 <(hdr "$WORK/portage-index/Packages") <(hdr "$WORK/Packages.binfarm") |
	grep -vxE "$globals_only" | tr '\n' ' ')
[ -z "$missing_hdr" ] || echo "WARNING: index header lacks keys Portage writes: $missing_hdr"
hdrl() { sed '/^$/q' "$1" | grep -vE '^(TIMESTAMP|PACKAGES|REPO_REVISIONS):|^$'; }
wrong_hdr=$(hdrl "$WORK/Packages.binfarm" | grep -vxFf <(hdrl "$WORK/portage-index/Packages") | cut -d: -f1 | tr '\n' ' ')
if [ -z "$wrong_hdr" ]; then
	echo "index header: every key binfarm writes has Portage's value"
else
	echo "WARNING: index header values differ from Portage's: $wrong_hdr"
fi
unresolved=$(grep -E '^[A-Z]*DEPEND: ' "$WORK/Packages.binfarm" | grep -oE '[^ ]+:(=|[^/ ]+=)( |$)' | tr -d ' ' | sort -u | tr '\n' ' ')
[ -z "$unresolved" ] || echo "WARNING: unresolved slot-operator deps (Portage writes :SLOT/SUBSLOT=): $unresolved"
for repo in $(sed -n 's/^REPO: //p' "$WORK/Packages.binfarm" | sort -u); do
	sed '/^$/q' "$WORK/Packages.binfarm" | grep '^REPO_REVISIONS:' | grep -q "\"$repo\"" ||
		echo "WARNING: header REPO_REVISIONS lacks repository '$repo' that packages come from"
done
# installed-package metadata, as real Portage would have recorded it
noreq= leak= norev=
for vdb in "$ROOT"/var/db/pkg/*/*/; do
	pkg=${vdb%/}; pkg=${pkg#"$ROOT"/var/db/pkg/}
	elf=0
	while read -r type path _; do
		[ "$type" = obj ] || continue
		[ "$(head -c4 "$ROOT$path" 2>/dev/null | od -An -c | tr -d ' ')" = 177ELF ] && { elf=1; break; }
	done <"$vdb/CONTENTS"
	[ $elf = 1 ] && [ ! -s "$vdb/REQUIRES" ] && [ ! -s "$vdb/NEEDED.ELF.2" ] && noreq="$noreq $pkg"
	bzcat "$vdb/environment.bz2" 2>/dev/null | grep -qE '^(declare -[-a-zA-Z]+ )?(BINFARM_[A-Z_]*|BF_JOBDIR)=' && leak="$leak $pkg"
	[ -e "$vdb/REPO_REVISIONS" ] || norev="$norev $pkg"
done
[ -z "$noreq" ] || echo "WARNING: ELF files but no NEEDED.ELF.2/REQUIRES (soname deps, preserve-libs blind):$noreq"
[ -z "$leak" ] || echo "WARNING: environment.bz2 carries the build worker's environment (BINFARM_*/BF_* variables):$leak"
[ -z "$norev" ] || echo "WARNING: no REPO_REVISIONS in package metadata:$norev"

[ $rc = 0 ] && echo "emerge-check: OK" || echo "emerge-check: FAILED"
exit $rc
