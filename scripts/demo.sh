#!/bin/sh
# The README's main command: build binfarm (installing what it needs on
# Debian 12) and run the whole farm on embedded defaults:
#
#   - the sample ebuild tree and company overlay (sample/) as git
#     repositories, pinned and planned for both example hw-profiles;
#   - binfarm-builder with a signed repository, and two binfarm-worker
#     processes (one per hw-profile class) running the SANDBOX build
#     driver (scaffolding for machines without Portage; on Gentoo
#     preproduction machines workers run the ebuild driver);
#   - a rebuild of web-x86-64-v2 and web-x86-64-v3, with progress, each
#     published as a signed snapshot on the testing channel;
#   - binfarm-binhost serving the repository on 127.0.0.1; an inventory
#     of 12 simulated nodes (2 sites x 2 farms x 3 members), and a
#     release of the testing snapshots to production in the waves the
#     diff calls for (by-member: member 1 of every farm, then 2, then
#     3), each node fetching from its own URL with its own token;
#     binfarm fleet showing what every node has; the index and a
#     package fetched over HTTP as a node would, and the signature
#     checked;
#   - the binrepos.conf lines a node would use.
#
# With --driver ebuild the workers build with REAL Portage instead, each
# job in a disposable root (binfarm-worker(8)): on Debian, Portage comes
# from its source tarball ($PORTAGE_TARBALL, by default the one in
# ../shared/portage beside this checkout) as a layer over / made by
# scripts/portage-layer.sh; it needs root.  The demo then ends by
# installing www-apps/shopfront with real emerge from the binhost, with
# signatures required (scripts/emerge-check.sh).
#
# With --keep the builder (and its release console) and the binhost
# stay up at the end, to be looked at in a browser; the demo prints
# their URLs and how to stop them.
#
# usage: scripts/demo.sh [--driver sandbox|ebuild] [--keep] [OUTDIR]   (default: ./demo)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
usage="usage: demo.sh [--driver sandbox|ebuild] [--keep] [OUTDIR]"
driver=sandbox keep=
while [ $# -gt 0 ]; do
	case $1 in
	--driver) driver=${2:?$usage}; shift 2 ;;
	--keep) keep=1; shift ;;
	-*) echo "$usage" >&2; exit 2 ;;
	*) break ;;
	esac
done
case $driver in
sandbox|ebuild) ;;
*) echo "$usage" >&2; exit 2 ;;
esac
out=${1:-$top/demo}
profiles="web-x86-64-v2 web-x86-64-v3"
step() { printf '==> %s\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }
# started FILE LOG NAME: waits (10 s at most) for a daemon to write FILE.
started() {
	n=0
	while ! test -s "$1"; do
		n=$((n + 1))
		test $n -lt 200 || { cat "$2"; fail "$3 did not start"; }
		sleep 0.05
	done
}

step "building binfarm"
./scripts/bootstrap.sh
bf=$top/binfarm
PATH=$top:$PATH
export PATH

# The secret signing key's GnuPG home: the demo's own, outside the
# served repository (not /var/lib/binfarm/gnupg).
BINFARM_GNUPG_HOME=$out/gnupg
export BINFARM_GNUPG_HOME
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || :; done
	for p in $pids; do wait "$p" 2>/dev/null || :; done
	# the gpg-agent that signing started
	gpgconf --homedir "$BINFARM_GNUPG_HOME" --kill gpg-agent 2>/dev/null || :
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cleanup
rm -rf "$out"
mkdir -p "$out"

step "making the sample ebuild tree and company overlay into git repositories"
scripts/sample-tree.sh "$out/trees" | sed 's/^/    /'

step "pinning them (libgit2) and planning both hw-profiles"
"$bf" tree pin --mirrors "$out/mirrors" -o "$out/pin" \
	gentoo="$out/trees/gentoo@main" company="$out/trees/company@main"
sed 's/^/    /' "$out/pin"
for p in $profiles; do
	"$bf" plan --profile "profiles/$p" --pin "$out/pin" --mirrors "$out/mirrors" \
		--explain >"$out/plan-$p.txt"
	printf '    %s: %s\n' "$p" "$(sed -n 's/^# \([0-9]* packages.*\)/\1/p' "$out/plan-$p.txt")"
done

step "starting binfarm-builder (state and signed repository in $out/state)"
args=
for p in $profiles; do args="$args -P profiles/$p"; done
# shellcheck disable=SC2086
binfarm-builder --init "$out/state" -l 127.0.0.1:0 $args \
	-r gentoo="$out/trees/gentoo@main" -r company="$out/trees/company@main" >/dev/null
binfarm-builder -d -s "$out/state" >"$out/builder.log" 2>&1 &
pids="$pids $!"
started "$out/state/builder.url" "$out/builder.log" binfarm-builder
BINFARM_BUILDER_STATE=$out/state
export BINFARM_BUILDER_STATE
echo "    API at $(cat "$out/state/builder.url") (TLS, CA $out/state/tls/ca.pem), log $out/builder.log"
echo "    release console at $(cat "$out/state/builder.url")/console/ (log in with the"
echo "    engineer-token of $out/state/builder.conf and your name)"

wargs="--driver sandbox"
if [ "$driver" = ebuild ]; then
	tarball=${PORTAGE_TARBALL:-$(ls "$top"/../shared/portage/portage-*.tar.xz 2>/dev/null | head -1)}
	[ -n "$tarball" ] && [ -f "$tarball" ] ||
		fail "--driver ebuild needs Portage's source tarball: set PORTAGE_TARBALL"
	[ "$(id -u)" = 0 ] || fail "--driver ebuild needs root (namespaces, overlayfs)"
	step "making a Portage layer from $(basename "$tarball") (nothing installed on /)"
	scripts/portage-layer.sh "$tarball" "$out/portage-layer" | sed 's/^/    /'
	wargs="--driver ebuild --profiles $top/profiles --layer $(cd "$out/portage-layer" && pwd -P)"
	step "starting two workers (ebuild driver: real Portage, a disposable root per job)"
else
	step "starting two workers (sandbox driver: scaffolding, not Portage)"
fi
# Each is the [worker $p-1] that --init wrote: its own token, and the
# builder lets it build $p only; -s finds the token and the CA
# (state/tls/ca.pem) the worker verifies the builder with.
for p in $profiles; do
	# shellcheck disable=SC2086
	binfarm-worker -s "$out/state" --name "$p-1" $wargs \
		--workdir "$out/worker-$p" >"$out/worker-$p.log" 2>&1 &
	pids="$pids $!"
	echo "    $p-1 (builds $p), log $out/worker-$p.log"
done

step "rebuilding both hw-profiles"
for p in $profiles; do
	binfarm rebuild --profile "$p" | sed -n '1s/^/    /p'
done

# Progress, one line per change, until every rebuild has finished.
state_of() {
	binfarm status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
line, done = [], True
for p in s["profiles"]:
    st = (p.get("rebuild") or {}).get("state", "none")
    j = p.get("jobs") or {}
    done = done and st not in ("running", "publishing")
    line.append("%s %s %d/%d done, %d running" % (p["profile"], st,
        j.get("done", 0), j.get("total", 0), j.get("running", 0)))
print(("finished " if done else "running ") + "; ".join(line))'
}
last=
n=0
while :; do
	now=$(state_of) || fail "binfarm status failed"
	if test "$now" != "$last"; then
		echo "    ${now#* }"
		last=$now
	fi
	case $now in finished*) break ;; esac
	n=$((n + 1))
	test $n -lt 1800 || fail "the rebuilds did not finish in 15 minutes"
	sleep 0.5
done
binfarm status | sed 's/^/    /'
case $now in
*failed*|*cancelled*)
	fail "a rebuild failed: see 'binfarm log CPV' (BINFARM_BUILDER_STATE=$out/state)" ;;
esac

repo=$out/state/repo
step "serving the repository with binfarm-binhost on 127.0.0.1"
# as root it must be told whom to run as: nobody, read access is enough
binfarm-binhost -d -r "$repo" -l 127.0.0.1:0 --port-file "$out/binhost.port" \
	$(test "$(id -u)" = 0 && echo "-u nobody") \
	--access-log "$out/binhost-access.log" 2>"$out/binhost.log" &
pids="$pids $!"
started "$out/binhost.port" "$out/binhost.log" binfarm-binhost
base=http://127.0.0.1:$(cat "$out/binhost.port")
echo "    $base (access log $out/binhost-access.log)"

step "an inventory of 12 simulated nodes: 2 sites x 2 farms x 3 members"
# farm 1 of each site runs the older hardware (x86-64-v2), farm 2 the newer
mkdir -p "$out/tokens"
chmod 700 "$out/tokens"
nodes=
for site in a b; do
	for farm in 1 2; do
		prof=web-x86-64-v2
		test $farm = 2 && prof=web-x86-64-v3
		for m in 1 2 3; do
			n=web-$site$farm-$m
			rm -f "$out/tokens/$n"
			"$bf" -R "$repo" node add "$n" --site "$site" --farm "f$farm" \
				--profile "$prof" --channel production \
				--token-file "$out/tokens/$n" >/dev/null 2>&1 ||
				fail "binfarm node add $n failed"
			nodes="$nodes $n"
		done
	done
done
"$bf" -R "$repo" node list | sed 's/^/    /'

step "releasing testing to production: the strategy proposed from the diff"
"$bf" -R "$repo" release plan -c production --from testing |
	grep -E '^proposed|^  wave' | sed 's/^/    /'
"$bf" -R "$repo" release start -c production --from testing |
	grep '^release' | sed 's/^/    /'

step "the nodes fetch from their own URLs; a wave opens when the one before it has"
# a node: GET /node/NAME/Packages.gz with its name and token (Basic auth)
fetch_all() {
	for n in $nodes; do
		curl -s -o /dev/null -u "$n:$(cat "$out/tokens/$n")" \
			"$base/node/$n/Packages.gz" || :
	done
}
round=0
while ! "$bf" -R "$repo" release status -c production | grep -q 'every wave is done'; do
	round=$((round + 1))
	test $round -le 10 || fail "the release did not go through its waves"
	fetch_all
	sleep 1.2
	echo "    after round $round of fetches:"
	"$bf" -R "$repo" release status -c production | grep '^  wave' | sed 's/^/    /'
done
"$bf" -R "$repo" release wait -c production --timeout 30 2>/dev/null | sed 's/^/    /'
"$bf" -R "$repo" fleet | sed 's/^/    /'
"$bf" -R "$repo" fsck | sed 's/^/    /'

step "fetching as a node would, and checking the signatures"
mkdir -p "$out/node"
for p in $profiles; do
	# a node of each profile, on its own URL (farm 1: v2, farm 2: v3)
	n=web-a1-1
	test "$p" = web-x86-64-v3 && n=web-a2-1
	auth="$n:$(cat "$out/tokens/$n")"
	curl -fsS -A "Gentoo Portage" -u "$auth" -o "$out/node/Packages.$p" "$base/node/$n/Packages"
	path=$(sed -n 's/^PATH: \(.*tinyhttpd.*\)/\1/p' "$out/node/Packages.$p")
	curl -fsS -u "$auth" -o "$out/node/tinyhttpd.$p.gpkg.tar" "$base/node/$n/$path"
	echo "    GET /node/$n/Packages ($p): $(grep -c '^CPV:' "$out/node/Packages.$p") packages"
	echo "    GET /node/$n/$path: $(wc -c <"$out/node/tinyhttpd.$p.gpkg.tar") bytes"
	"$bf" verify --keyring "$repo/keys/binfarm.asc" "$out/node/tinyhttpd.$p.gpkg.tar" |
		sed 's/^/    /'
done

if [ -n "$keep" ]; then
	# --keep: the builder and the binhost stay up
	bpids=$pids
else
	cleanup
fi
pids=
trap - EXIT

if [ "$driver" = ebuild ]; then
	step "installing www-apps/shopfront with real emerge from the binhost, signatures required"
	mkdir -p "$out/portage-src"
	tar -xf "$tarball" -C "$out/portage-src" --strip-components=1
	WORK=$out/emerge-check BINFARM_SRC=$top scripts/emerge-check.sh \
		"$out/portage-src" "$repo" web-x86-64-v3 www-apps/shopfront \
		>"$out/emerge-check.log" 2>&1 ||
		fail "emerge-check failed: see $out/emerge-check.log"
	grep -E '^www-apps/shopfront ->|^emerge-check: OK' "$out/emerge-check.log" | sed 's/^/    /'
fi

cat <<EOF

Done.  Both hw-profiles were built by the farm and released to production's
12 simulated nodes in by-member waves.

  builder state, logs:  $out/state, $out/builder.log ('binfarm log CPV' with
                        BINFARM_BUILDER_STATE=$out/state)
  repository:           $repo
                        (binfarm -R $repo snapshot --profile web-x86-64-v3 list)
  signing key (secret): $BINFARM_GNUPG_HOME, outside the served tree
  build plans, reasons: $out/plan-*.txt

To serve it to the fleet:

  binfarm-binhost -r $repo -l :8080 -u binfarm
  (as root: it switches to the unprivileged user binfarm, which needs read
  access only; README.md "Operations" installs it as a service)

Trust the repository key ($repo/keys/binfarm.asc, also served at
http://<this host>:8080/keys/binfarm.asc) in /etc/portage/gnupg as
README.md says, then on each node put in /etc/portage/binrepos.conf its
own URL, with the token 'binfarm node add' printed for it (the demo's
are in $out/tokens/):

  [binfarm]
  sync-uri = http://NAME:TOKEN@<this host>:8080/node/NAME

(or, on the node, 'binfarm-node setup --url http://NAME:TOKEN@<this host>:8080/node/NAME'
checks its CPU, trusts the key, writes binrepos.conf and syncs the
snapshot's pinned trees: man 8 binfarm-node)

and install with: emerge --getbinpkg www-apps/shopfront
EOF
if [ -n "$keep" ]; then
	cat <<EOF2

Still running (--keep):
  release console:  $(cat "$out/state/builder.url")/console/
                    (log in with the engineer-token of $out/state/builder.conf;
                    the certificate is the demo's own CA, $out/state/tls/ca.pem)
  binhost:          $base
Stop them with: kill$bpids
EOF2
fi
