/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OpenPGP through gpgme: repository keys, Portage-style signatures and
 * their verification.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gpgme.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/digest.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/lockfile.h"
#include "store/sign.h"
#include "base/banned.h"

struct bf_signer {
	char		*gpg;	/* the gpg program gpgme uses */
	char		*home;	/* GnuPG home as gpg is given it */
	char		*fpr;
	/* A signer in another process (bf_signer_remote()): -1 if not. */
	int		 fd;
	pthread_mutex_t	 mu;	/* one request at a time on fd */
};

extern char **environ;

struct bf_verifier {
	gpgme_ctx_t	 ctx;
	char		*tmphome;	/* private home for a key file, or NULL */
	int		 file_mode;
};

static int
err_gpg(struct bf_err *e, gpgme_error_t ge, const char *what)
{
	return bf_err_set(e, BF_ESIGNATURE, "%s: %s", what, gpgme_strerror(ge));
}

/* The longest socket gpg-agent makes in its home: "S.gpg-agent.browser". */
#define GPG_SOCKET_NAME_MAX	(sizeof("/S.gpg-agent.browser") - 1)

static int
gpg_home_fits(const char *path)
{
	struct sockaddr_un sun;

	return strlen(path) + GPG_SOCKET_NAME_MAX < sizeof(sun.sun_path);
}

/*
 * gpg-agent listens on a Unix socket in the GnuPG home, and a socket
 * path has at most 107 bytes: a repository deep in the file system
 * (a CI checkout, a long mount point) could never sign ("No agent
 * running").  gpg only moves sockets to /run/user/UID/gnupg, which a
 * daemon started without a login session often lacks.  So a long home
 * is reached through a short, stable symbolic link that gpg uses as
 * its home: RUNDIR/binfarm-gpg-UID/<hash of the real path>, where
 * RUNDIR is $XDG_RUNTIME_DIR, /run/user/UID, $TMPDIR or /tmp.  The
 * directory is private (0700, ours, not a link) and the link is
 * replaced atomically when it does not point at `home`; it stays, so
 * every process of the repository shares one agent.  The sockets still
 * live in the real home.
 */
static int
gpg_home_path(const char *home, struct bf_buf *out, struct bf_err *e)
{
	struct bf_buf dir = BF_BUF_INIT, link = BF_BUF_INIT, tmp = BF_BUF_INIT;
	struct bf_digest d;
	struct stat st;
	const char *base;
	char *real = NULL, cur[4096];
	ssize_t n;
	int rc = 0;

	if ((real = realpath(home, NULL)) == NULL)
		return bf_err_errno(e, "cannot use GnuPG home '%s'", home);
	if (gpg_home_fits(real)) {
		bf_buf_adds(out, real);
		goto out;
	}
	base = getenv("XDG_RUNTIME_DIR");
	if (base == NULL || *base != '/') {
		bf_buf_addf(&tmp, "/run/user/%lu", (unsigned long)geteuid());
		if (bf_buf_error(&tmp) == 0 && stat(tmp.buf, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			base = tmp.buf;
		else if ((base = getenv("TMPDIR")) == NULL || *base != '/')
			base = "/tmp";
	}
	bf_buf_addf(&dir, "%s/binfarm-gpg-%lu", base, (unsigned long)geteuid());
	if ((rc = bf_buf_error(&dir)) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if (mkdir(dir.buf, 0700) < 0 && errno != EEXIST) {
		rc = bf_err_errno(e, "cannot create '%s'", dir.buf);
		goto out;
	}
	if (lstat(dir.buf, &st) < 0) {
		rc = bf_err_errno(e, "cannot use '%s'", dir.buf);
		goto out;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		rc = bf_err_set(e, BF_ESIGNATURE, "'%s' is not a private directory "
		    "of this user: it would hold the link to the GnuPG home '%s', "
		    "whose path is too long for gpg-agent's socket", dir.buf, real);
		goto out;
	}
	if ((rc = bf_digest_mem(&d, BF_DIGEST_BIT(BF_SHA256), real,
	    strlen(real), e)) < 0)
		goto out;
	bf_buf_addf(&link, "%s/%.16s", dir.buf, d.hex[BF_SHA256]);
	if ((rc = bf_buf_error(&link)) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if (!gpg_home_fits(link.buf)) {
		rc = bf_err_set(e, BF_ESIGNATURE, "the GnuPG home '%s' has too "
		    "long a path for gpg-agent's socket, and so has '%s'; set "
		    "TMPDIR to a short directory", real, link.buf);
		goto out;
	}
	n = readlink(link.buf, cur, sizeof(cur) - 1);
	if (n < 0 || (size_t)n != strlen(real) || memcmp(cur, real, (size_t)n) != 0) {
		bf_buf_reset(&tmp);
		/* unique per process and thread: two may mend it at once */
		bf_buf_addf(&tmp, "%s.%ld.%lx.tmp", link.buf, (long)getpid(),
		    (unsigned long)pthread_self());
		if ((rc = bf_buf_error(&tmp)) < 0) {
			rc = bf_err_nomem(e);
			goto out;
		}
		(void)unlink(tmp.buf);
		if (symlink(real, tmp.buf) < 0) {
			rc = bf_err_errno(e, "cannot create '%s'", tmp.buf);
			goto out;
		}
		if (rename(tmp.buf, link.buf) < 0) {
			rc = bf_err_errno(e, "cannot create '%s'", link.buf);
			(void)unlink(tmp.buf);
			goto out;
		}
	}
	bf_buf_adds(out, link.buf);
out:
	if (rc == 0 && bf_buf_error(out) < 0)
		rc = bf_err_nomem(e);
	free(real);
	bf_buf_release(&dir);
	bf_buf_release(&link);
	bf_buf_release(&tmp);
	return rc;
}

/*
 * A gpgme context on the GnuPG home `home`, through its short link when
 * its path is long (gpg_home_path()): the engine info's home_dir.
 */
static int
ctx_new(gpgme_ctx_t *ctx, const char *home, struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT;
	gpgme_error_t ge;
	int rc;

	/* Idempotent process-wide initialisation gpgme requires. */
	if (gpgme_check_version("1.7.0") == NULL)
		return bf_err_set(e, BF_ESIGNATURE, "gpgme is older than 1.7.0");
	if ((ge = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP)) != 0)
		return err_gpg(e, ge, "no usable gpg");
	if ((rc = gpg_home_path(home, &path, e)) < 0)
		goto out;
	if ((ge = gpgme_new(ctx)) != 0) {
		rc = err_gpg(e, ge, "cannot create a gpgme context");
		goto out;
	}
	if ((ge = gpgme_set_protocol(*ctx, GPGME_PROTOCOL_OpenPGP)) != 0 ||
	    (ge = gpgme_ctx_set_engine_info(*ctx, GPGME_PROTOCOL_OpenPGP, NULL,
	    path.buf)) != 0 ||
	    (ge = gpgme_set_pinentry_mode(*ctx, GPGME_PINENTRY_MODE_LOOPBACK)) != 0) {
		gpgme_release(*ctx);
		*ctx = NULL;
		rc = err_gpg(e, ge, "cannot set up gpgme");
		goto out;
	}
	gpgme_set_armor(*ctx, 1);
	gpgme_set_offline(*ctx, 1);
out:
	bf_buf_release(&path);
	return rc;
}

/* Moves the contents of a gpgme memory data object to `out`. */
static int
data_to_buf(gpgme_data_t d, struct bf_buf *out, struct bf_err *e)
{
	size_t n = 0;
	char *p = gpgme_data_release_and_get_mem(d, &n);

	if (p == NULL && n > 0)
		return bf_err_nomem(e);
	bf_buf_add(out, p, n);
	gpgme_free(p);
	return bf_buf_error(out) < 0 ? bf_err_nomem(e) : 0;
}

/* A read-only gpgme data object over a byte range of a file. */
struct fdrange {
	int		 fd;
	off_t		 off;
	uint64_t	 len;
	uint64_t	 pos;
};

static ssize_t
fdrange_read(void *handle, void *buf, size_t size)
{
	struct fdrange *r = handle;
	ssize_t n;

	if (r->pos >= r->len)
		return 0;
	if (size > r->len - r->pos)
		size = (size_t)(r->len - r->pos);
	n = bf_pread_full(r->fd, buf, size, r->off + (off_t)r->pos);
	if (n < 0) {
		errno = (int)-n;
		return -1;
	}
	if (n == 0) {
		errno = EIO;	/* the file is shorter than the member */
		return -1;
	}
	r->pos += (uint64_t)n;
	return n;
}

static off_t
fdrange_seek(void *handle, off_t offset, int whence)
{
	struct fdrange *r = handle;
	off_t np;

	switch (whence) {
	case SEEK_SET:
		np = offset;
		break;
	case SEEK_CUR:
		np = (off_t)r->pos + offset;
		break;
	case SEEK_END:
		np = (off_t)r->len + offset;
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (np < 0) {
		errno = EINVAL;
		return -1;
	}
	r->pos = (uint64_t)np;
	return np;
}

static struct gpgme_data_cbs fdrange_cbs = {
	fdrange_read, NULL, fdrange_seek, NULL
};

static int
write_gpg_conf(const char *home, struct bf_err *e)
{
	static const char conf[] =
	    "# written by binfarm key init: Portage signs with SHA512\n"
	    "digest-algo SHA512\n"
	    "personal-digest-preferences SHA512\n"
	    "cert-digest-algo SHA512\n"
	    "no-emit-version\n"
	    "no-comments\n";
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_buf path = BF_BUF_INIT;
	int rc;

	bf_buf_addf(&path, "%s/gpg.conf", home);
	if ((rc = bf_lockfile_open(&lf, AT_FDCWD, path.buf, 0600, e)) == 0) {
		bf_lockfile_write(&lf, conf, sizeof(conf) - 1);
		rc = bf_lockfile_commit(&lf, -1, e);
	}
	bf_buf_release(&path);
	return rc;
}

int
bf_sign_keygen(const char *home, const char *uid, const char *algo,
    struct bf_buf *fpr, struct bf_err *e)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_genkey_result_t res;
	gpgme_error_t ge;
	int rc;

	if (mkdir(home, 0700) < 0 && errno != EEXIST)
		return bf_err_errno(e, "cannot create '%s'", home);
	if (chmod(home, 0700) < 0)
		return bf_err_errno(e, "cannot chmod '%s'", home);
	if ((rc = write_gpg_conf(home, e)) < 0)
		return rc;
	if ((rc = ctx_new(&ctx, home, e)) < 0)
		return rc;
	ge = gpgme_op_createkey(ctx, uid, algo != NULL ? algo : "ed25519", 0, 0,
	    NULL, GPGME_CREATE_SIGN | GPGME_CREATE_NOPASSWD |
	    GPGME_CREATE_NOEXPIRE | GPGME_CREATE_FORCE);
	if (ge != 0) {
		rc = err_gpg(e, ge, "cannot create the signing key");
		goto out;
	}
	res = gpgme_op_genkey_result(ctx);
	if (res == NULL || res->fpr == NULL) {
		rc = bf_err_set(e, BF_ESIGNATURE, "gpg made no key");
		goto out;
	}
	bf_buf_adds(fpr, res->fpr);
	rc = bf_buf_error(fpr);
out:
	gpgme_release(ctx);
	return rc;
}

int
bf_sign_export(const char *home, const char *fpr, struct bf_buf *out,
    struct bf_err *e)
{
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t d = NULL;
	gpgme_error_t ge;
	size_t before = out->len;
	int rc;

	if ((rc = ctx_new(&ctx, home, e)) < 0)
		return rc;
	if ((ge = gpgme_data_new(&d)) != 0) {
		rc = err_gpg(e, ge, "cannot export");
		goto out;
	}
	if ((ge = gpgme_op_export(ctx, fpr, 0, d)) != 0) {
		rc = err_gpg(e, ge, "cannot export the public key");
		goto out;
	}
	rc = data_to_buf(d, out, e);
	d = NULL;
	if (rc == 0 && out->len == before)
		rc = bf_err_set(e, BF_ENOTFOUND, "no key%s%s in '%s'",
		    fpr != NULL ? " " : "", fpr != NULL ? fpr : "", home);
out:
	if (d != NULL)
		gpgme_data_release(d);
	gpgme_release(ctx);
	return rc;
}

int
bf_signer_open(struct bf_signer **sp, const char *home, const char *fpr,
    struct bf_err *e)
{
	struct bf_signer *s;
	gpgme_ctx_t ctx = NULL;
	gpgme_engine_info_t ei;
	gpgme_key_t key = NULL;
	gpgme_error_t ge;
	int rc;

	*sp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return bf_err_nomem(e);
	s->fd = -1;
	if ((rc = ctx_new(&ctx, home, e)) < 0)
		goto fail;
	if ((ge = gpgme_op_keylist_start(ctx, fpr, 1)) != 0 ||
	    (ge = gpgme_op_keylist_next(ctx, &key)) != 0) {
		gpgme_op_keylist_end(ctx);
		rc = gpgme_err_code(ge) == GPG_ERR_EOF ?
		    bf_err_set(e, BF_ENOTFOUND, "no secret key%s%s in '%s' (or "
		    "gpg cannot use that home: 'gpg --homedir %s -K' says why)",
		    fpr != NULL ? " " : "", fpr != NULL ? fpr : "", home, home) :
		    err_gpg(e, ge, "cannot list keys");
		goto fail;
	}
	gpgme_op_keylist_end(ctx);
	/* A pattern matches user ids and sub-keys too: exactly this key. */
	if (fpr != NULL && (key->fpr == NULL || strcasecmp(key->fpr, fpr) != 0)) {
		rc = bf_err_set(e, BF_ENOTFOUND, "no secret key %s in '%s' (gpg "
		    "found %s for it)", fpr, home, key->fpr != NULL ? key->fpr :
		    "another key");
		goto fail;
	}
	if ((rc = key->fpr == NULL || key->can_sign == 0 ? bf_err_set(e,
	    BF_ESIGNATURE, "the key in '%s' cannot sign", home) : 0) < 0)
		goto fail;
	for (ei = gpgme_ctx_get_engine_info(ctx); ei != NULL; ei = ei->next)
		if (ei->protocol == GPGME_PROTOCOL_OpenPGP)
			break;
	if (ei == NULL || ei->file_name == NULL || ei->home_dir == NULL) {
		rc = bf_err_set(e, BF_ESIGNATURE, "gpgme names no gpg program");
		goto fail;
	}
	if ((s->fpr = strdup(key->fpr)) == NULL ||
	    (s->gpg = strdup(ei->file_name)) == NULL ||
	    (s->home = strdup(ei->home_dir)) == NULL) {
		rc = bf_err_nomem(e);
		goto fail;
	}
	gpgme_key_unref(key);
	gpgme_release(ctx);
	*sp = s;
	return 0;
fail:
	if (key != NULL)
		gpgme_key_unref(key);
	if (ctx != NULL)
		gpgme_release(ctx);
	bf_signer_free(s);
	return rc;
}

void
bf_signer_free(struct bf_signer *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0) {
		close(s->fd);
		pthread_mutex_destroy(&s->mu);
	}
	free(s->gpg);
	free(s->home);
	free(s->fpr);
	free(s);
}

const char *
bf_signer_fpr(const struct bf_signer *s)
{
	return s->fpr;
}

/* What gpg reads: `len` bytes of `fd` from `off`, or of `mem`. */
struct sign_input {
	int		 fd;
	off_t		 off;
	const char	*mem;
	uint64_t	 len;
};

/* A gpg child of spawn_sign() and the ends of its standard streams. */
struct gpgrun {
	int		 sv[2];		/* its input, a socket */
	int		 po[2];		/* its output */
	int		 pe[2];		/* its errors */
	pid_t		 pid;
	uint64_t	 sent;		/* input bytes sent */
	size_t		 have, at;	/* in ibuf, and sent of those */
	char		 ibuf[65536];
	struct bf_buf	 err;		/* its first 4 KiB of errors */
};

/* Starts gpg with `argv`, its standard streams connected to `g`. */
static int
gpg_start(struct gpgrun *g, const char *gpg, const char *const *argv,
    struct bf_err *e)
{
	posix_spawn_file_actions_t fa;
	int rc = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g->sv) < 0 ||
	    pipe2(g->po, O_CLOEXEC) < 0 || pipe2(g->pe, O_CLOEXEC) < 0)
		return bf_err_errno(e, "cannot run gpg");
	if ((errno = posix_spawn_file_actions_init(&fa)) != 0)
		return bf_err_errno(e, "cannot run gpg");
	if ((errno = posix_spawn_file_actions_adddup2(&fa, g->sv[1], 0)) != 0 ||
	    (errno = posix_spawn_file_actions_adddup2(&fa, g->po[1], 1)) != 0 ||
	    (errno = posix_spawn_file_actions_adddup2(&fa, g->pe[1], 2)) != 0 ||
	    (errno = posix_spawn(&g->pid, gpg, &fa, NULL,
	    (char *const *)argv, environ)) != 0) {
		g->pid = -1;
		rc = bf_err_errno(e, "cannot run '%s'", gpg);
	}
	posix_spawn_file_actions_destroy(&fa);
	close(g->sv[1]);
	close(g->po[1]);
	close(g->pe[1]);
	g->sv[1] = g->po[1] = g->pe[1] = -1;
	return rc;
}

/* Sends gpg the next piece of the input, read into ibuf as needed. */
static int
gpg_feed(struct gpgrun *g, const struct sign_input *in, struct bf_err *e)
{
	size_t want;
	ssize_t r;

	if (g->at == g->have) {
		want = sizeof(g->ibuf);
		if (want > in->len - g->sent)
			want = (size_t)(in->len - g->sent);
		if (in->mem != NULL) {
			memcpy(g->ibuf, in->mem + g->sent, want);
			r = (ssize_t)want;
		} else if ((r = bf_pread_full(in->fd, g->ibuf, want,
		    in->off + (off_t)g->sent)) <= 0) {
			if (r == 0)
				return bf_err_set(e, EIO, "the file to sign "
				    "is shorter than expected");
			errno = (int)-r;
			return bf_err_errno(e, "cannot read what to sign");
		}
		g->have = (size_t)r;
		g->at = 0;
	}
	r = send(g->sv[0], g->ibuf + g->at, g->have - g->at, MSG_NOSIGNAL);
	if (r < 0 && errno != EINTR && errno != EAGAIN) {
		/* gpg went away: its status says why */
		g->sent = in->len;
	} else if (r > 0) {
		g->at += (size_t)r;
		g->sent += (uint64_t)r;
	}
	if (g->sent == in->len)
		shutdown(g->sv[0], SHUT_WR);
	return 0;
}

/* Reads what gpg wrote on *fdp (its output into `out`), or its end. */
static void
gpg_read(struct gpgrun *g, int *fdp, struct bf_buf *out)
{
	char buf[16384];
	ssize_t r;

	r = read(*fdp, buf, sizeof(buf));
	if (r < 0 && errno == EINTR)
		return;
	if (r <= 0) {
		close(*fdp);
		*fdp = -1;
	} else if (fdp == &g->po[0]) {
		bf_buf_add(out, buf, (size_t)r);
	} else if (g->err.len < 4096) {
		bf_buf_add(&g->err, buf, (size_t)r);
	}
}

/* Writes the input and reads the output until gpg closes both. */
static int
gpg_exchange(struct gpgrun *g, const struct sign_input *in,
    struct bf_buf *out, struct bf_err *e)
{
	struct pollfd pf[3];
	int n, i, rc;

	if (in->len == 0)
		shutdown(g->sv[0], SHUT_WR);
	while (g->po[0] >= 0 || g->pe[0] >= 0) {
		pf[0].fd = g->sent < in->len ? g->sv[0] : -1;
		pf[0].events = POLLOUT;
		pf[1].fd = g->po[0];
		pf[1].events = POLLIN;
		pf[2].fd = g->pe[0];
		pf[2].events = POLLIN;
		for (i = 0; i < 3; i++)
			pf[i].revents = 0;
		if ((n = poll(pf, 3, 120 * 1000)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return n == 0 ? bf_err_set(e, BF_ESIGNATURE, "gpg did "
			    "not answer in 120 s") : bf_err_errno(e, "poll");
		}
		if (pf[0].revents != 0 && (rc = gpg_feed(g, in, e)) < 0)
			return rc;
		if (pf[1].revents != 0)
			gpg_read(g, &g->po[0], out);
		if (pf[2].revents != 0)
			gpg_read(g, &g->pe[0], out);
	}
	return 0;
}

/* Waits for gpg to end (or kills it if it is still running). */
static int
gpg_wait(struct gpgrun *g, int kill_it, int *st, struct bf_err *e)
{
	int rc = 0;

	if (g->pid <= 0)
		return 0;
	if (kill_it)
		kill(g->pid, SIGKILL);
	while (waitpid(g->pid, st, 0) < 0) {
		if (errno != EINTR) {
			if (!kill_it)
				rc = bf_err_errno(e, "waitpid");
			break;
		}
	}
	g->pid = -1;
	return rc;
}

static void
gpg_close(struct gpgrun *g)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (g->sv[i] >= 0)
			close(g->sv[i]);
		if (g->po[i] >= 0)
			close(g->po[i]);
		if (g->pe[i] >= 0)
			close(g->pe[i]);
	}
	bf_buf_release(&g->err);
}

/*
 * Signs by running gpg (the program gpgme found) with posix_spawn: gpgme
 * forks the calling process twice per operation, which copies the page
 * tables of everything a large process (binfarm-builder with its queue)
 * maps, three operations per package; a vfork-style spawn copies none.
 * The options are the ones gpgme gives gpg, with the key's fingerprint
 * as --local-user; the home's gpg.conf asks for SHA512.  The input goes
 * through a socket (send with MSG_NOSIGNAL: a gpg that dies early is an
 * error, not a SIGPIPE), and standard output and error are read while
 * it is written, so a clear-signed text larger than a pipe cannot
 * deadlock.
 */
static int
spawn_sign(struct bf_signer *s, const char *mode, const char *armor,
    const struct sign_input *in, struct bf_buf *out, struct bf_err *e)
{
	const char *argv[] = { s->gpg, "--batch", "--no-tty", "--quiet",
	    "--no-auto-check-trustdb", "--homedir", s->home,
	    "--pinentry-mode", "loopback", "--local-user", s->fpr, "--armor",
	    mode, NULL };
	struct gpgrun *g;
	size_t before = out->len;
	int rc, st = 0;

	if ((g = malloc(sizeof(*g))) == NULL)
		return bf_err_nomem(e);
	memset(g, 0, offsetof(struct gpgrun, ibuf));
	g->sv[0] = g->sv[1] = g->po[0] = g->po[1] = g->pe[0] = g->pe[1] = -1;
	g->pid = -1;
	bf_buf_init(&g->err);
	if ((rc = gpg_start(g, s->gpg, argv, e)) < 0 ||
	    (rc = gpg_exchange(g, in, out, e)) < 0 ||
	    (rc = gpg_wait(g, 0, &st, e)) < 0)
		goto out;
	bf_buf_rtrim(&g->err);
	if ((rc = bf_buf_error(out)) < 0)
		rc = bf_err_nomem(e);
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    out->len - before < strlen(armor) ||
	    memcmp(out->buf + before, armor, strlen(armor)) != 0) {
		bf_buf_setlen(out, before);
		rc = bf_err_set(e, BF_ESIGNATURE, "gpg made no signature%s%s",
		    g->err.len > 0 ? ": " : "", g->err.len > 0 ? g->err.buf : "");
	}
out:
	gpg_wait(g, 1, &st, NULL);
	gpg_close(g);
	free(g);
	return rc;
}

static int remote_sign(struct bf_signer *s, int op, int fd, off_t off,
    const char *mem, uint64_t len, struct bf_buf *out, struct bf_err *e);

#define SIGNER_DETACHED		1
#define SIGNER_CLEARSIGN	2
#define SIGNER_TEXT_MAX		(16u << 20)	/* a Manifest: a few KiB */

int
bf_signer_detached(struct bf_signer *s, int fd, off_t off, uint64_t len,
    struct bf_buf *out, struct bf_err *e)
{
	struct sign_input in = { fd, off, NULL, len };

	if (s->fd >= 0)
		return remote_sign(s, SIGNER_DETACHED, fd, off, NULL, len, out, e);
	return spawn_sign(s, "--detach-sign", "-----BEGIN PGP SIGNATURE-----",
	    &in, out, e);
}

int
bf_signer_clearsign(struct bf_signer *s, const char *text, size_t len,
    struct bf_buf *out, struct bf_err *e)
{
	struct sign_input in = { -1, 0, text, len };

	if (s->fd >= 0)
		return remote_sign(s, SIGNER_CLEARSIGN, -1, 0, text, len, out, e);
	return spawn_sign(s, "--clearsign",
	    "-----BEGIN PGP SIGNED MESSAGE-----", &in, out, e);
}

/* ------------------------------------------------------------------ */
/*
 * A signer in another process, for privilege separation: only the
 * signing process opens the GnuPG home; the others hold a struct
 * bf_signer whose operations are requests over a Unix stream socket.
 *
 *	request:  struct sreq, then `len` bytes of text (clearsign), or
 *	          with the file to sign passed as SCM_RIGHTS (detached:
 *	          `len` bytes from `off`)
 *	answer:   struct sans, then `len` bytes: the armored signature
 *	          (rc 0) or an error message (rc < 0)
 *
 * The signing process first sends one answer: the key's fingerprint,
 * or why it cannot sign.
 */
struct sreq {
	uint32_t	 op;
	uint32_t	 pad;
	uint64_t	 off;
	uint64_t	 len;
};

struct sans {
	int32_t		 rc;
	uint32_t	 pad;
	uint64_t	 len;
};

static int
send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t r;

	while (n > 0) {
		if ((r = send(fd, c, n, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* 0, -errno, or -EPIPE at end of file. */
static int
recv_all(int fd, void *p, size_t n)
{
	char *c = p;
	ssize_t r;

	while (n > 0) {
		if ((r = recv(fd, c, n, 0)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EPIPE;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
send_answer(int fd, int rc, const char *p, size_t n)
{
	struct sans a;
	int r;

	memset(&a, 0, sizeof(a));
	a.rc = rc;
	a.len = n;
	if ((r = send_all(fd, &a, sizeof(a))) < 0)
		return r;
	return n > 0 ? send_all(fd, p, n) : 0;
}

/* Reads an answer: appends its body to `out` (rc 0) or returns the error. */
static int
recv_answer(int fd, struct bf_buf *out, struct bf_err *e)
{
	struct bf_buf msg = BF_BUF_INIT;
	struct sans a;
	int r;

	if ((r = recv_all(fd, &a, sizeof(a))) < 0)
		goto gone;
	if (a.len > SIGNER_TEXT_MAX || a.rc > 0)
		return bf_err_set(e, BF_ESIGNATURE, "the signing process sent "
		    "a malformed answer");
	if (a.rc == 0) {
		if (bf_buf_grow(out, (size_t)a.len) < 0)
			return bf_err_nomem(e);
		if ((r = recv_all(fd, out->buf + out->len, (size_t)a.len)) < 0)
			goto gone;
		bf_buf_setlen(out, out->len + (size_t)a.len);
		return 0;
	}
	if (bf_buf_grow(&msg, (size_t)a.len + 1) < 0)
		return bf_err_nomem(e);
	if ((r = recv_all(fd, msg.buf, (size_t)a.len)) < 0) {
		bf_buf_release(&msg);
		goto gone;
	}
	bf_buf_setlen(&msg, (size_t)a.len);
	r = bf_err_set(e, -a.rc, "%s", msg.buf);
	bf_buf_release(&msg);
	return r < 0 ? r : -BF_ESIGNATURE;
gone:
	return bf_err_set(e, BF_ESIGNATURE, "the signing process is gone (%s): "
	    "nothing can be signed", r == -EPIPE ? "end of file" :
	    strerror(-r));
}

static int
remote_sign(struct bf_signer *s, int op, int fd, off_t off, const char *mem,
    uint64_t len, struct bf_buf *out, struct bf_err *e)
{
	union {
		char		 buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	 align;
	} cm;
	struct sreq q;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	size_t before = out->len;
	ssize_t r;
	int rc;

	if (op == SIGNER_CLEARSIGN && len > SIGNER_TEXT_MAX)
		return bf_err_set(e, BF_ESIGNATURE, "%llu bytes to clearsign: "
		    "too many", (unsigned long long)len);
	memset(&q, 0, sizeof(q));
	q.op = (uint32_t)op;
	q.off = (uint64_t)off;
	q.len = len;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &q;
	iov.iov_len = sizeof(q);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (op == SIGNER_DETACHED) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	pthread_mutex_lock(&s->mu);
	while ((r = sendmsg(s->fd, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (r < 0 || (size_t)r != sizeof(q)) {
		rc = bf_err_set(e, BF_ESIGNATURE, "the signing process is gone "
		    "(%s): nothing can be signed", r < 0 ? strerror(errno) :
		    "short write");
		goto out;
	}
	if (op == SIGNER_CLEARSIGN && len > 0 &&
	    (rc = send_all(s->fd, mem, (size_t)len)) < 0) {
		rc = bf_err_set(e, BF_ESIGNATURE, "the signing process is gone "
		    "(%s): nothing can be signed", strerror(-rc));
		goto out;
	}
	rc = recv_answer(s->fd, out, e);
out:
	pthread_mutex_unlock(&s->mu);
	if (rc < 0)
		bf_buf_setlen(out, before);
	return rc;
}

int
bf_signer_remote(struct bf_signer **sp, int fd, struct bf_err *e)
{
	struct bf_signer *s;
	struct bf_buf fpr = BF_BUF_INIT;
	int rc;

	*sp = NULL;
	if ((rc = recv_answer(fd, &fpr, e)) < 0)
		goto fail;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		rc = bf_err_nomem(e);
		goto fail;
	}
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s);
		rc = bf_err_nomem(e);
		goto fail;
	}
	s->fd = fd;
	s->fpr = bf_buf_detach(&fpr, NULL);
	*sp = s;
	return 0;
fail:
	bf_buf_release(&fpr);
	return rc;
}

int
bf_signer_serve_error(int fd, const char *msg)
{
	return send_answer(fd, -BF_ESIGNATURE, msg, strlen(msg));
}

int
bf_signer_serve(struct bf_signer *s, int fd, struct bf_err *e)
{
	union {
		char		 buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	 align;
	} cm;
	struct bf_buf out = BF_BUF_INIT, text = BF_BUF_INIT;
	struct bf_err se;
	struct sreq q;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	struct stat st;
	ssize_t r;
	int rc = 0, pfd;

	if ((rc = send_answer(fd, 0, s->fpr, strlen(s->fpr))) < 0)
		return bf_err_set(e, -rc, "cannot answer: %s", strerror(-rc));
	for (;;) {
		memset(&mh, 0, sizeof(mh));
		memset(&cm, 0, sizeof(cm));
		iov.iov_base = &q;
		iov.iov_len = sizeof(q);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		while ((r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL)) < 0 &&
		    errno == EINTR)
			;
		if (r == 0) {
			rc = 0;		/* the other end closed: done */
			break;
		}
		pfd = -1;
		for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS &&
			    c->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(&pfd, CMSG_DATA(c), sizeof(int));
		if (r < 0 || (size_t)r != sizeof(q) ||
		    (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0) {
			if (pfd >= 0)
				close(pfd);
			rc = bf_err_set(e, BF_ESIGNATURE, "a malformed request");
			break;
		}
		bf_err_clear(&se);
		bf_buf_reset(&out);
		if (q.op == SIGNER_DETACHED && pfd >= 0) {
			/* A range of a regular file, and nothing beyond it. */
			if (fstat(pfd, &st) < 0 || !S_ISREG(st.st_mode) ||
			    q.off > (uint64_t)st.st_size ||
			    q.len > (uint64_t)st.st_size - q.off)
				rc = bf_err_set(&se, BF_ESIGNATURE, "the signing "
				    "process was asked to sign beyond a file");
			else
				rc = bf_signer_detached(s, pfd, (off_t)q.off,
				    q.len, &out, &se);
			close(pfd);
		} else if (q.op == SIGNER_CLEARSIGN && pfd < 0 &&
		    q.len <= SIGNER_TEXT_MAX) {
			bf_buf_reset(&text);
			if (bf_buf_grow(&text, (size_t)q.len + 1) < 0) {
				rc = bf_err_nomem(e);
				break;
			}
			if ((rc = recv_all(fd, text.buf, (size_t)q.len)) < 0) {
				rc = bf_err_set(e, -rc, "cannot read a request");
				break;
			}
			bf_buf_setlen(&text, (size_t)q.len);
			rc = bf_signer_clearsign(s, text.buf, text.len, &out, &se);
		} else {
			if (pfd >= 0)
				close(pfd);
			rc = bf_err_set(e, BF_ESIGNATURE, "a malformed request");
			break;
		}
		if (rc < 0)
			rc = send_answer(fd, rc, se.msg, strlen(se.msg));
		else
			rc = send_answer(fd, 0, out.buf, out.len);
		if (rc < 0) {
			rc = bf_err_set(e, -rc, "cannot answer: %s", strerror(-rc));
			break;
		}
	}
	bf_buf_release(&out);
	bf_buf_release(&text);
	return rc;
}

/* ------------------------------------------------------------------ */

int
bf_verifier_open(struct bf_verifier **vp, const char *keyring,
    struct bf_err *e)
{
	struct bf_verifier *v;
	struct stat st;
	gpgme_data_t keys = NULL;
	gpgme_import_result_t ir;
	gpgme_error_t ge;
	const char *tmpdir;
	struct bf_buf home = BF_BUF_INIT;
	int rc, fd = -1;

	*vp = NULL;
	if (stat(keyring, &st) < 0)
		return bf_err_errno(e, "cannot use keyring '%s'", keyring);
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return bf_err_nomem(e);
	if (S_ISDIR(st.st_mode)) {
		if ((rc = ctx_new(&v->ctx, keyring, e)) < 0)
			goto fail;
		*vp = v;
		return 0;
	}
	v->file_mode = 1;
	if ((tmpdir = getenv("TMPDIR")) == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	bf_buf_addf(&home, "%s/binfarm-gpg.XXXXXX", tmpdir);
	if ((rc = bf_buf_error(&home)) < 0 || mkdtemp(home.buf) == NULL) {
		rc = bf_err_errno(e, "cannot create a temporary GnuPG home");
		goto fail;
	}
	v->tmphome = bf_buf_detach(&home, NULL);
	if ((rc = ctx_new(&v->ctx, v->tmphome, e)) < 0)
		goto fail;
	if ((fd = open(keyring, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = bf_err_errno(e, "cannot open keyring '%s'", keyring);
		goto fail;
	}
	if ((ge = gpgme_data_new_from_fd(&keys, fd)) != 0 ||
	    (ge = gpgme_op_import(v->ctx, keys)) != 0) {
		rc = err_gpg(e, ge, "cannot import keyring");
		goto fail;
	}
	ir = gpgme_op_import_result(v->ctx);
	if (ir == NULL || ir->imported + ir->unchanged == 0) {
		rc = bf_err_set(e, BF_ESIGNATURE, "no OpenPGP key in '%s'", keyring);
		goto fail;
	}
	gpgme_data_release(keys);
	close(fd);
	*vp = v;
	return 0;
fail:
	if (keys != NULL)
		gpgme_data_release(keys);
	if (fd >= 0)
		close(fd);
	bf_buf_release(&home);
	bf_verifier_free(v);
	return rc;
}

void
bf_verifier_free(struct bf_verifier *v)
{
	if (v == NULL)
		return;
	if (v->ctx != NULL)
		gpgme_release(v->ctx);
	if (v->tmphome != NULL) {
		bf_rmtree(AT_FDCWD, v->tmphome, NULL);
		free(v->tmphome);
	}
	free(v);
}

/* GOODSIG, and TRUST_FULLY/TRUST_ULTIMATE unless the key file is the anchor. */
static int
check_result(struct bf_verifier *v, const char *what, struct bf_err *e)
{
	gpgme_verify_result_t res = gpgme_op_verify_result(v->ctx);
	gpgme_signature_t sig;

	if (res == NULL || res->signatures == NULL)
		return bf_err_set(e, BF_ESIGNATURE, "%s: no signature", what);
	for (sig = res->signatures; sig != NULL; sig = sig->next) {
		const char *fpr = sig->fpr != NULL ? sig->fpr : "?";

		switch (gpgme_err_code(sig->status)) {
		case GPG_ERR_NO_ERROR:
			break;
		case GPG_ERR_NO_PUBKEY:
			return bf_err_set(e, BF_ESIGNATURE,
			    "%s: signed by unknown key %s", what, fpr);
		case GPG_ERR_BAD_SIGNATURE:
			return bf_err_set(e, BF_ESIGNATURE, "%s: BAD signature "
			    "(key %s)", what, fpr);
		default:
			return bf_err_set(e, BF_ESIGNATURE, "%s: signature by %s "
			    "not good: %s", what, fpr, gpgme_strerror(sig->status));
		}
		if (!v->file_mode && sig->validity != GPGME_VALIDITY_FULL &&
		    sig->validity != GPGME_VALIDITY_ULTIMATE)
			return bf_err_set(e, BF_ESIGNATURE, "%s: good signature by "
			    "%s, but the key is not trusted (Portage needs full "
			    "or ultimate trust)", what, fpr);
	}
	return 0;
}

int
bf_verifier_clearsigned(struct bf_verifier *v, const char *text, size_t len,
    struct bf_err *e)
{
	gpgme_data_t sig = NULL, plain = NULL;
	gpgme_error_t ge;
	int rc;

	if ((ge = gpgme_data_new_from_mem(&sig, text, len, 0)) != 0 ||
	    (ge = gpgme_data_new(&plain)) != 0) {
		rc = err_gpg(e, ge, "cannot verify");
		goto out;
	}
	if ((ge = gpgme_op_verify(v->ctx, sig, NULL, plain)) != 0) {
		rc = err_gpg(e, ge, "Manifest signature");
		goto out;
	}
	rc = check_result(v, "Manifest", e);
out:
	if (sig != NULL)
		gpgme_data_release(sig);
	if (plain != NULL)
		gpgme_data_release(plain);
	return rc;
}

int
bf_verifier_detached(struct bf_verifier *v, const char *sigtext,
    size_t siglen, int fd, off_t off, uint64_t len, struct bf_err *e)
{
	struct fdrange r = { fd, off, len, 0 };
	gpgme_data_t sig = NULL, in = NULL;
	gpgme_error_t ge;
	int rc;

	if ((ge = gpgme_data_new_from_mem(&sig, sigtext, siglen, 0)) != 0 ||
	    (ge = gpgme_data_new_from_cbs(&in, &fdrange_cbs, &r)) != 0) {
		rc = err_gpg(e, ge, "cannot verify");
		goto out;
	}
	if ((ge = gpgme_op_verify(v->ctx, sig, in, NULL)) != 0) {
		rc = err_gpg(e, ge, "detached signature");
		goto out;
	}
	rc = check_result(v, "detached signature", e);
out:
	if (sig != NULL)
		gpgme_data_release(sig);
	if (in != NULL)
		gpgme_data_release(in);
	return rc;
}

/*
 * Stops the gpg-agent of `home`, if one runs: gpg starts one on demand
 * for every secret-key operation and it stays, one per home, for ever.
 * Runs gpgconf (the one gpgme knows) --kill gpg-agent, which never
 * starts an agent, on the path gpg was given (the short link of a long
 * home).
 */
int
bf_sign_agent_stop(const char *home, struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT;
	gpgme_engine_info_t ei;
	posix_spawn_file_actions_t fa;
	const char *argv[] = { "gpgconf", "--homedir", NULL, "--kill",
	    "gpg-agent", NULL };
	pid_t pid;
	int rc, st;

	if (gpgme_check_version("1.7.0") == NULL)
		return bf_err_set(e, BF_ESIGNATURE, "gpgme is older than 1.7.0");
	if (gpgme_get_engine_info(&ei) != 0)
		return bf_err_set(e, BF_ESIGNATURE, "gpgme knows no gpgconf");
	for (; ei != NULL; ei = ei->next)
		if (ei->protocol == GPGME_PROTOCOL_GPGCONF)
			break;
	if (ei == NULL || ei->file_name == NULL)
		return bf_err_set(e, BF_ESIGNATURE, "gpgme knows no gpgconf");
	if ((rc = gpg_home_path(home, &path, e)) < 0)
		return rc;
	argv[2] = path.buf;
	if ((errno = posix_spawn_file_actions_init(&fa)) != 0) {
		rc = bf_err_errno(e, "cannot run gpgconf");
		goto out;
	}
	if ((errno = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	    O_RDONLY, 0)) != 0 ||
	    (errno = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
	    O_WRONLY, 0)) != 0 ||
	    (errno = posix_spawn_file_actions_adddup2(&fa, 1, 2)) != 0 ||
	    (errno = posix_spawn(&pid, ei->file_name, &fa, NULL,
	    (char *const *)argv, environ)) != 0) {
		rc = bf_err_errno(e, "cannot run '%s'", ei->file_name);
		posix_spawn_file_actions_destroy(&fa);
		goto out;
	}
	posix_spawn_file_actions_destroy(&fa);
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			rc = bf_err_errno(e, "waitpid");
			goto out;
		}
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		rc = bf_err_set(e, BF_ESIGNATURE, "'%s --homedir %s --kill "
		    "gpg-agent' failed", ei->file_name, path.buf);
out:
	bf_buf_release(&path);
	return rc;
}

int
bf_sign_copy_secret(const char *from, const char *to, const char *fpr,
    struct bf_err *e)
{
	gpgme_ctx_t src = NULL, dst = NULL;
	gpgme_data_t d = NULL;
	gpgme_import_result_t ir;
	gpgme_error_t ge;
	int rc;

	if ((rc = ctx_new(&src, from, e)) < 0 ||
	    (rc = ctx_new(&dst, to, e)) < 0)
		goto out;
	if ((ge = gpgme_data_new(&d)) != 0 ||
	    (ge = gpgme_op_export(src, fpr, GPGME_EXPORT_MODE_SECRET, d)) != 0) {
		rc = err_gpg(e, ge, "cannot export the secret key");
		goto out;
	}
	if (gpgme_data_seek(d, 0, SEEK_SET) != 0) {
		rc = bf_err_errno(e, "cannot export the secret key");
		goto out;
	}
	if ((ge = gpgme_op_import(dst, d)) != 0) {
		rc = err_gpg(e, ge, "cannot import the secret key");
		goto out;
	}
	ir = gpgme_op_import_result(dst);
	if (ir == NULL || ir->secret_imported + ir->secret_unchanged == 0)
		rc = bf_err_set(e, BF_ESIGNATURE, "gpg imported no secret key "
		    "from '%s' into '%s'", from, to);
out:
	if (d != NULL)
		gpgme_data_release(d);
	if (src != NULL)
		gpgme_release(src);
	if (dst != NULL)
		gpgme_release(dst);
	return rc;
}
