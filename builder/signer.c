/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The signing process and privilege separation (binfarm-builder(8),
 * TRUST MODEL), as OpenSSH's monitor and OpenBSD httpd separate theirs.
 *
 * At start-up, before any thread and before the network is opened,
 * binfarm-builder forks a small process that alone opens the GnuPG
 * home and holds the signing key.  The two talk over a socketpair
 * (lib/store/sign.c, bf_signer_remote() and bf_signer_serve()): the main
 * process, which serves HTTP, verifies what workers upload and asks
 * the signer to sign the packages it publishes, passing each file as a
 * descriptor.  Started as root with -u USER (or user = in
 * builder.conf), the main process then drops to USER with setgroups,
 * setresgid and setresuid, while the signer keeps root's access to the
 * home (0700, not USER's): a compromise of the HTTP side cannot read
 * the key.  Without root the separation is a process boundary only.
 *
 * The signer dies with its parent (PR_SET_PDEATHSIG); the builder
 * stops, saying so, when the signer dies (signer_alive()).
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "store/keys.h"
#include "store/repo.h"
#include "store/sign.h"
#include "builder.h"
#include "base/banned.h"

/* Closes every descriptor but 0, 1, 2 and those in keep[]. */
static void
close_others(const int *keep, size_t nkeep)
{
	DIR *d;
	struct dirent *de;
	int fds[1024], n = 0, fd, i, dfd;
	size_t k;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL && n < (int)(sizeof(fds) /
	    sizeof(fds[0]))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		if (fd <= 2 || fd == dfd)
			continue;
		for (k = 0; k < nkeep; k++)
			if (keep[k] == fd)
				break;
		if (k == nkeep)
			fds[n++] = fd;
	}
	closedir(d);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

static void __attribute__((noreturn))
signer_main(struct builder *b, int fd, pid_t parent)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_signer *s = NULL;
	struct sigaction sa;
	int keep[2], rc;

	/* Never outlive the builder, even one killed with SIGKILL. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	/* The builder's signals are the builder's: it closes us to stop us. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	keep[0] = fd;
	keep[1] = b->repo->root_fd;
	close_others(keep, 2);
	if ((rc = bf_repo_signer_open(b->repo, &s, &e)) < 0) {
		bf_signer_serve_error(fd, bf_err_msg(&e, rc));
		_exit(1);
	}
	rc = bf_signer_serve(s, fd, &e);
	if (rc < 0)
		log_warnx("signing process: %s", bf_err_msg(&e, rc));
	bf_signer_free(s);
	_exit(rc < 0 ? 1 : 0);
}

int
signer_start(struct builder *b, struct bf_err *e)
{
	int sv[2], rc;
	pid_t pid, parent = getpid();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return bf_err_errno(e, "cannot start the signing process");
	fflush(NULL);
	if ((pid = fork()) < 0) {
		rc = bf_err_errno(e, "cannot start the signing process");
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (pid == 0) {
		close(sv[0]);
		signer_main(b, sv[1], parent);
	}
	close(sv[1]);
	if ((rc = bf_signer_remote(&b->signer, sv[0], e)) < 0) {
		close(sv[0]);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return rc;
	}
	b->signer_pid = pid;
	log_info("signing process %ld holds key %s", (long)pid,
	    bf_signer_fpr(b->signer));
	return 0;
}

int
signer_alive(struct builder *b)
{
	int st;
	pid_t r;

	if (b->signer_pid <= 0)
		return 1;
	if ((r = waitpid(b->signer_pid, &st, WNOHANG)) == 0)
		return 1;
	if (r == b->signer_pid) {
		if (WIFSIGNALED(st))
			log_warnx("the signing process (pid %ld) was killed by "
			    "signal %d: nothing can be signed; stopping",
			    (long)b->signer_pid, WTERMSIG(st));
		else
			log_warnx("the signing process (pid %ld) exited with "
			    "status %d: nothing can be signed; stopping",
			    (long)b->signer_pid, WEXITSTATUS(st));
	} else
		log_warnx("the signing process (pid %ld) is gone: %s; stopping",
		    (long)b->signer_pid, strerror(errno));
	b->signer_pid = -1;
	return 0;
}

void
signer_stop(struct builder *b)
{
	/* End of file on its socket: the signing process exits. */
	bf_signer_free(b->signer);
	b->signer = NULL;
	if (b->signer_pid > 0)
		while (waitpid(b->signer_pid, NULL, 0) < 0 && errno == EINTR)
			;
	b->signer_pid = -1;
}

int
privsep_lookup(const char *user, uid_t *uid, gid_t *gid, char **home,
    struct bf_err *e)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return errno != 0 ? bf_err_errno(e, "user '%s'", user) :
		    bf_err_set(e, BF_ECONFIG, "no user '%s'", user);
	if (pw->pw_uid == 0)
		return bf_err_set(e, BF_ECONFIG, "user '%s' is root: the "
		    "HTTP-serving process would keep every privilege", user);
	if (geteuid() != 0)
		return bf_err_set(e, BF_ECONFIG, "-u %s (user = %s) needs "
		    "binfarm-builder to be started as root", user, user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if ((*home = strdup(pw->pw_dir != NULL ? pw->pw_dir : "/")) == NULL)
		return bf_err_nomem(e);
	return 0;
}

int
privsep_drop(uid_t uid, gid_t gid, const char *home, struct bf_err *e)
{
	if (setgroups(1, &gid) < 0 ||
	    setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return bf_err_errno(e, "cannot drop privileges to uid %lu",
		    (unsigned long)uid);
	/* Make sure: no way back. */
	if (setresuid((uid_t)-1, 0, (uid_t)-1) == 0 || geteuid() != uid ||
	    getegid() != gid)
		return bf_err_set(e, EPERM, "privileges were not dropped");
	/* libgit2 reads $HOME/.gitconfig: the user's, not root's. */
	if (setenv("HOME", home, 1) < 0)
		return bf_err_errno(e, "setenv");
	return 0;
}
