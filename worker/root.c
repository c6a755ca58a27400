/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ebuild driver's disposable build root (binfarm-worker(8), "BUILD
 * ROOT"): unshare(2) and mount(2), no daemon and no setuid helper, so it
 * works alike on a Gentoo stage3 (which has no bubblewrap) and on Debian.
 *
 *	worker
 *	  `- A  own process group; unshare(NEWNS|NEWPID|NEWIPC|NEWUTS|NEWNET);
 *	     |  PR_SET_PDEATHSIG=SIGKILL (the worker dies -> A dies)
 *	     `- B  PID 1 of the new PID namespace; PR_SET_PDEATHSIG=SIGKILL
 *	        |  (A dies -> B dies -> the kernel kills every process of
 *	        |  the namespace); mounts the overlay, /proc, /dev, /tmp,
 *	        |  /run and the binds; chroot
 *	        `- C  the command, with exactly the given environment
 *
 * B reaps every orphan and exits with C's status.  The mounts live only
 * in the mount namespace, which goes when its last process does; what
 * stays on disk is the root's upper and work directories, under `dir`.
 */
#define _GNU_SOURCE
#include "config.h"

#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "root.h"
#include "base/banned.h"

/* In the child: says why and exits; the worker reports "status 126". */
static void	die_child(int logfd, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3), noreturn));

static void
die_child(int logfd, const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	dprintf(logfd, "binfarm-worker: build root: ");
	va_start(ap, fmt);
	vdprintf(logfd, fmt, ap);
	va_end(ap);
	dprintf(logfd, ": %s\n", strerror(err));
	_exit(126);
}

/* mkdir -p, inside the root being made (no symlink is followed out of it:
 * the paths are the driver's own, under fresh directories). */
static int
mkdirs(const char *path, mode_t mode)
{
	char buf[4096];
	size_t i, n = strlen(path);

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		buf[i] = i < n ? '/' : '\0';
	}
	return 0;
}

static void
in_root(struct bf_buf *b, const char *merged, const char *p)
{
	bf_buf_reset(b);
	bf_buf_addf(b, "%s%s", merged, p);
}

/* The devices a build uses, bound from the worker's /dev onto a tmpfs. */
static void
make_dev(const char *merged, int logfd)
{
	static const char *const devs[] = { "null", "zero", "full", "random",
	    "urandom", "tty" };
	static const char *const links[][2] = { { "fd", "/proc/self/fd" },
	    { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
	    { "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" } };
	struct bf_buf p = BF_BUF_INIT, h = BF_BUF_INIT;
	size_t i;
	int fd;

	in_root(&p, merged, "/dev");
	if (mkdirs(p.buf, 0755) < 0 ||
	    mount("tmpfs", p.buf, "tmpfs", MS_NOSUID | MS_NOEXEC,
	    "mode=0755,size=65536k") < 0)
		die_child(logfd, "cannot mount a tmpfs on %s", p.buf);
	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		bf_buf_reset(&h);
		bf_buf_addf(&h, "/dev/%s", devs[i]);
		bf_buf_reset(&p);
		bf_buf_addf(&p, "%s/dev/%s", merged, devs[i]);
		if ((fd = open(p.buf, O_WRONLY | O_CREAT | O_CLOEXEC, 0666)) < 0)
			die_child(logfd, "cannot create %s", p.buf);
		close(fd);
		if (mount(h.buf, p.buf, NULL, MS_BIND, NULL) < 0)
			die_child(logfd, "cannot bind %s", h.buf);
	}
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		bf_buf_reset(&p);
		bf_buf_addf(&p, "%s/dev/%s", merged, links[i][0]);
		if (symlink(links[i][1], p.buf) < 0)
			die_child(logfd, "cannot link %s", p.buf);
	}
	in_root(&p, merged, "/dev/pts");
	if (mkdir(p.buf, 0755) < 0 || mount("devpts", p.buf, "devpts",
	    MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620") < 0)
		die_child(logfd, "cannot mount devpts on %s", p.buf);
	in_root(&p, merged, "/dev/shm");
	if (mkdir(p.buf, 01777) < 0 || mount("tmpfs", p.buf, "tmpfs",
	    MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		die_child(logfd, "cannot mount a tmpfs on %s", p.buf);
	bf_buf_release(&p);
	bf_buf_release(&h);
}

/* PID 1 of the job's namespaces: makes the root, runs the command. */
static void __attribute__((noreturn))
init_main(const struct root_spec *r, char *const argv[], char *const envp[],
    int logfd)
{
	struct bf_buf opt = BF_BUF_INIT, p = BF_BUF_INIT, m = BF_BUF_INIT;
	size_t i;
	pid_t cmd, w;
	int status, code = 126;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/*
	 * The base first becomes a read-only overlay of its own (over an
	 * empty directory on a tmpfs): the kernel refuses layers inside
	 * one another (ELOOP), and a layer or the upper directory may well
	 * be inside the base when the base is the worker's /.
	 */
	bf_buf_addf(&p, "%s/lower", r->dir);
	if (mount("tmpfs", p.buf, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
	    < 0)
		die_child(logfd, "cannot mount a tmpfs on %s", p.buf);
	bf_buf_reset(&m);
	bf_buf_addf(&m, "%s/lower/empty", r->dir);
	bf_buf_addf(&p, "/base");
	if (mkdir(m.buf, 0755) < 0 || mkdir(p.buf, 0755) < 0)
		die_child(logfd, "cannot create %s", p.buf);
	bf_buf_addf(&opt, "lowerdir=%s:%s", r->base, m.buf);
	if (mount("binfarm-base", p.buf, "overlay", MS_RDONLY, opt.buf) < 0)
		die_child(logfd, "cannot mount the overlay (%s) on %s", opt.buf,
		    p.buf);
	bf_buf_reset(&opt);
	bf_buf_reset(&m);
	bf_buf_addf(&m, "%s/merged", r->dir);
	bf_buf_adds(&opt, "lowerdir=");
	for (i = 0; i < r->nlayers; i++)
		bf_buf_addf(&opt, "%s:", r->layers[i]);
	bf_buf_addf(&opt, "%s,upperdir=%s/upper,workdir=%s/work", p.buf,
	    r->dir, r->dir);
	if (mount("binfarm-root", m.buf, "overlay", 0, opt.buf) < 0)
		die_child(logfd, "cannot mount the overlay (%s) on %s", opt.buf,
		    m.buf);
	in_root(&p, m.buf, "/proc");
	if (mkdirs(p.buf, 0555) < 0 || mount("proc", p.buf, "proc",
	    MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die_child(logfd, "cannot mount /proc in %s", m.buf);
	make_dev(m.buf, logfd);
	in_root(&p, m.buf, "/tmp");
	if (mkdirs(p.buf, 01777) < 0 || mount("tmpfs", p.buf, "tmpfs",
	    MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		die_child(logfd, "cannot mount a tmpfs on %s", p.buf);
	in_root(&p, m.buf, "/run");
	if (mkdirs(p.buf, 0755) < 0 || mount("tmpfs", p.buf, "tmpfs",
	    MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		die_child(logfd, "cannot mount a tmpfs on %s", p.buf);
	for (i = 0; i < r->nbinds; i++) {
		const struct root_bind *b = &r->binds[i];
		struct stat st, lst;
		int fd = -1;

		in_root(&p, m.buf, b->dst);
		if (stat(b->src, &st) < 0)
			die_child(logfd, "cannot bind %s", b->src);
		/* A symbolic link in the root (/etc/resolv.conf often is
		 * one) would lead the mount out of it: replace it. */
		if (lstat(p.buf, &lst) == 0 && S_ISLNK(lst.st_mode) &&
		    unlink(p.buf) < 0)
			die_child(logfd, "cannot remove the link %s", p.buf);
		if (S_ISDIR(st.st_mode) ? mkdirs(p.buf, 0755) < 0 :
		    (fd = open(p.buf, O_WRONLY | O_CREAT | O_NOFOLLOW |
		    O_CLOEXEC, 0644)) < 0)
			die_child(logfd, "cannot create %s", p.buf);
		if (!S_ISDIR(st.st_mode))
			close(fd);
		if (mount(b->src, p.buf, NULL, MS_BIND | MS_REC, NULL) < 0)
			die_child(logfd, "cannot bind %s on %s", b->src, b->dst);
		if (b->ro && mount(NULL, p.buf, NULL, MS_BIND | MS_REMOUNT |
		    MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
			die_child(logfd, "cannot make %s read-only", b->dst);
	}
	if (sethostname(r->hostname, strlen(r->hostname)) < 0)
		die_child(logfd, "sethostname");
	if (chroot(m.buf) < 0 || chdir("/") < 0)
		die_child(logfd, "cannot chroot to %s", m.buf);
	bf_buf_release(&opt);
	bf_buf_release(&p);
	bf_buf_release(&m);

	if ((cmd = fork()) < 0)
		die_child(logfd, "fork");
	if (cmd == 0) {
		dup2(logfd, 1);
		dup2(logfd, 2);
		close(logfd);
		execve(argv[0], argv, envp);
		die_child(2, "cannot run %s", argv[0]);
	}
	/* Reap everything; end (and so kill all that is left) with cmd. */
	for (;;) {
		w = waitpid(-1, &status, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		if (w != cmd)
			continue;
		if (WIFEXITED(status))
			code = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			code = 128 + WTERMSIG(status);
		break;
	}
	_exit(code);
}

int
root_layer_ok(const char *l, struct bf_err *e)
{
	struct stat st;
	char *rp;
	int rc = 0;

	if (l[0] != '/' || strpbrk(l, ":,\\") != NULL)
		return bf_err_set(e, EINVAL, "build root layer '%s': not an "
		    "absolute path without ':', ',' or '\\'", l);
	if ((rp = realpath(l, NULL)) == NULL)
		return bf_err_errno(e, "build root layer '%s'", l);
	if (strcmp(rp, l) != 0)
		rc = bf_err_set(e, EINVAL, "build root layer '%s': a symbolic "
		    "link (or '.', '..', '//') on its path; it resolves to "
		    "'%s' now: give that", l, rp);
	else if (stat(rp, &st) < 0 || !S_ISDIR(st.st_mode))
		rc = bf_err_set(e, ENOTDIR, "build root layer '%s': not a "
		    "directory", l);
	free(rp);
	return rc;
}

int
root_spawn(const struct root_spec *r, char *const argv[], char *const envp[],
    int logfd, pid_t *pidp, struct bf_err *e)
{
	struct bf_buf p = BF_BUF_INIT;
	size_t i;
	pid_t pid, init, parent = getpid();
	int status, code;
	static const char *const sub[] = { "lower", "upper", "work",
	    "merged" };

	/* Checked again for each job: a link may appear on the way. */
	for (i = 0; i <= r->nlayers; i++) {
		int rc = root_layer_ok(i < r->nlayers ? r->layers[i] : r->base,
		    e);

		if (rc < 0)
			return rc;
	}
	if (strpbrk(r->dir, ":,\\") != NULL)
		return bf_err_set(e, EINVAL, "build root directory '%s' has "
		    "':', ',' or '\\'", r->dir);
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		bf_buf_reset(&p);
		bf_buf_addf(&p, "%s/%s", r->dir, sub[i]);
		if (mkdirs(p.buf, 0755) < 0) {
			int rc = bf_err_errno(e, "cannot create '%s'", p.buf);

			bf_buf_release(&p);
			return rc;
		}
	}
	bf_buf_release(&p);

	if ((pid = fork()) < 0)
		return bf_err_errno(e, "fork");
	if (pid > 0) {
		setpgid(pid, pid);
		*pidp = pid;
		return 0;
	}
	/* A: the worker's signal handlers must not keep it alive (a
	 * SIGTERM to the process group abandons the job). */
	{
		sigset_t all;
		int sig;

		for (sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
	}
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
	    (r->net ? 0 : CLONE_NEWNET)) < 0)
		die_child(logfd, "unshare (mount, PID, IPC, UTS and network "
		    "namespaces; the worker must run as root)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die_child(logfd, "cannot make the mounts private");
	if ((init = fork()) < 0)
		die_child(logfd, "fork");
	if (init == 0)
		init_main(r, argv, envp, logfd);
	code = 126;
	while (waitpid(init, &status, 0) < 0) {
		if (errno != EINTR)
			_exit(code);
	}
	if (WIFEXITED(status))
		code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		code = 128 + WTERMSIG(status);
	_exit(code);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int
root_remove(const char *dir, struct bf_err *e)
{
	struct stat st;
	struct bf_buf p = BF_BUF_INIT;
	int rc = 0;

	if (lstat(dir, &st) < 0)
		return errno == ENOENT ? 0 : bf_err_errno(e, "'%s'", dir);
	/* The overlay's work directory holds a d--------- directory. */
	bf_buf_addf(&p, "%s/work/work", dir);
	chmod(p.buf, 0700);
	bf_buf_release(&p);
	if (nftw(dir, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		rc = bf_err_errno(e, "cannot remove the build root '%s'", dir);
	return rc;
}
