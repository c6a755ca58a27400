# Real Portage for the tests: the unmodified source tarball in
# ../shared/portage, laid over / by scripts/portage-layer.sh.  Source
# after test-lib.sh; skips the whole script (with a clear line) where
# that Portage, root, scanelf or namespaces are missing.
#
#   PORTAGE_TARBALL        the tarball found
#   portage_root DIR SCRIPT [SRC=DST...]
#                          runs SCRIPT (a bash script on this machine) as
#                          root of a throw-away root at DIR: an overlay
#                          of the Portage layer ./layer over /, in its
#                          own mount, PID, IPC, UTS and network
#                          namespaces (as binfarm-worker's build root),
#                          with each directory SRC bound at DST (read-only
#                          unless DST ends in ":rw") and a
#                          clean environment; nothing of it reaches /.
#                          DIR/upper keeps what it wrote, so that a later
#                          call with the same DIR goes on from there.
#                          PORTAGE_ROOT_HOST_NET=1: the host's network
#                          namespace (to reach a binhost on 127.0.0.1).

# $PORTAGE_TARBALL, else the tarball in ../shared/portage beside the
# checkout (where this workplace keeps it).
: "${PORTAGE_TARBALL:=$(ls "$BF_SRC_DIR"/../shared/portage/portage-*.tar.xz 2>/dev/null | head -1)}"
test -n "$PORTAGE_TARBALL" && test -f "$PORTAGE_TARBALL" ||
	skip_all 'skipped: no Portage source tarball (set PORTAGE_TARBALL, or put portage-*.tar.xz in ../shared/portage)'
test "$(id -u)" = 0 ||
	skip_all 'skipped: real Portage builds need root (namespaces, overlayfs)'
command -v scanelf >/dev/null 2>&1 || skip_all 'skipped: no scanelf (pax-utils)'
unshare --mount --pid --fork --ipc --uts --net true 2>/dev/null ||
	skip_all 'skipped: cannot make namespaces here'

portage_root() {
	_pr_dir=$1 _pr_script=$2
	shift 2
	_pr_net=--net
	test -z "${PORTAGE_ROOT_HOST_NET-}" || _pr_net=
	mkdir -p "$_pr_dir/upper" "$_pr_dir/work" "$_pr_dir/merged" \
		"$_pr_dir/lower" &&
	unshare --mount --pid --fork --ipc --uts $_pr_net \
		/bin/sh -ec '
		d=$1 layer=$2 script=$3
		shift 3
		mount --make-rprivate /
		# / first becomes a read-only overlay of its own: the kernel
		# refuses an upper directory inside a lower layer (ELOOP)
		mount -t tmpfs tmpfs "$d/lower"
		mkdir "$d/lower/empty" "$d/lower/base"
		mount -t overlay -o "ro,lowerdir=/:$d/lower/empty" bf-base "$d/lower/base"
		m=$d/merged
		mount -t overlay -o "lowerdir=$layer:$d/lower/base,upperdir=$d/upper,workdir=$d/work" \
			bf-root "$m"
		mount -t proc proc "$m/proc"
		mount --rbind /dev "$m/dev"
		mount -t tmpfs tmpfs "$m/tmp"
		mount -t tmpfs tmpfs "$m/run"
		mkdir -p "$m/var/lib/bf-test"
		cp "$script" "$m/var/lib/bf-test/script"
		for b
		do
			dst=${b#*=} ro=1
			case $dst in *:rw) dst=${dst%:rw} ro= ;; esac
			mkdir -p "$m$dst"
			mount --bind "${b%%=*}" "$m$dst"
			test -z "$ro" || mount -o remount,bind,ro "$m$dst"
		done
		hostname binfarm-build
		exec chroot "$m" /usr/bin/env -i \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root TERM=dumb LANG=C.UTF-8 \
			/bin/bash /var/lib/bf-test/script
		' sh "$(cd "$_pr_dir" && pwd)" "$PWD/layer" "$_pr_script" "$@"
}
