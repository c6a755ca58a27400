/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A repository's signing key: where its GnuPG home lives (outside the
 * served tree), making the key, opening a signer on it, and moving an
 * old in-tree home out (binfarm-repository(5), "Keys").  The OpenPGP
 * work itself is sign.c's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "store/keys.h"
#include "base/lockfile.h"
#include "store/repo.h"
#include "store/sign.h"
#include "base/banned.h"

/*
 * Creates the GnuPG home `home` (0700; missing parents 0755) and
 * appends its absolute, resolved path to `abs`.
 */
static int
make_home(const char *home, struct bf_buf *abs, struct bf_err *e)
{
	struct bf_buf parent = BF_BUF_INIT;
	const char *slash;
	char *real;
	int rc = 0;

	if ((slash = strrchr(home, '/')) != NULL && slash != home) {
		bf_buf_add(&parent, home, (size_t)(slash - home));
		if (bf_buf_error(&parent) < 0)
			rc = bf_err_nomem(e);
		else
			rc = bf_mkdirs(AT_FDCWD, parent.buf, 0755, NULL, e);
		bf_buf_release(&parent);
		if (rc < 0)
			return rc;
	}
	if (mkdir(home, 0700) < 0 && errno != EEXIST)
		return bf_err_errno(e, "cannot create GnuPG home '%s'", home);
	if ((real = realpath(home, NULL)) == NULL)
		return bf_err_errno(e, "cannot use GnuPG home '%s'", home);
	bf_buf_adds(abs, real);
	free(real);
	return bf_buf_error(abs) < 0 ? bf_err_nomem(e) : 0;
}

/* `home` given, or the default; made, resolved, and outside `r`. */
static int
outside_home(struct bf_repo *r, const char *home, struct bf_buf *abs,
    struct bf_err *e)
{
	struct bf_buf def = BF_BUF_INIT;
	int rc;

	if (home == NULL) {
		if ((rc = bf_repo_gnupg_default(&def, e)) < 0)
			goto out;
		home = def.buf;
	}
	if ((rc = make_home(home, abs, e)) < 0)
		goto out;
	if (bf_repo_contains(r, abs->buf))
		rc = bf_err_set(e, BF_EUNSAFE, "the GnuPG home '%s' is inside "
		    "the repository '%s', where anything that serves the "
		    "directory would hand out the secret key; choose a state "
		    "directory outside it (--gnupg-home DIR)", abs->buf, r->root);
out:
	bf_buf_release(&def);
	return rc;
}

int
bf_repo_keygen(struct bf_repo *r, const char *home, const char *uid,
    const char *algo, struct bf_buf *fpr, struct bf_err *e)
{
	struct bf_buf pub = BF_BUF_INIT, name = BF_BUF_INIT, abs = BF_BUF_INIT;
	struct bf_buf why = BF_BUF_INIT;
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_err e2 = BF_ERR_INIT;
	char host[256];
	size_t before = fpr->len;
	int rc, made = 0;

	if (r->signing_key != NULL)
		return bf_err_set(e, BF_ECONFLICT, "the repository already has "
		    "a key (%s in '%s'); binfarm never replaces it",
		    r->signing_key, r->gnupg_home);
	if ((rc = bf_repo_key_problem(r, &why, e)) != 0) {
		if (rc > 0)
			rc = bf_err_set(e, BF_ECONFLICT, "the repository already "
			    "has a key: %s", why.buf);
		goto out;
	}
	if (uid == NULL) {
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		bf_buf_addf(&name, "binfarm repository %s", host);
		uid = name.buf;
	}
	if ((rc = outside_home(r, home, &abs, e)) < 0)
		goto out;
	made = 1;
	if ((rc = bf_sign_keygen(abs.buf, uid, algo, fpr, e)) < 0 ||
	    (rc = bf_sign_export(abs.buf, fpr->buf + before, &pub, e)) < 0 ||
	    (rc = bf_lockfile_open(&lf, r->root_fd, BF_REPO_PUBKEY, 0644,
	    e)) < 0)
		goto out;
	bf_lockfile_write(&lf, pub.buf, pub.len);
	/* The public key first: binfarm-repo.conf then says it is done. */
	if ((rc = bf_lockfile_commit(&lf, -1, e)) < 0 ||
	    (rc = bf_repo_set_key(r, abs.buf, fpr->buf + before, e)) < 0)
		goto out;
out:
	/* The agent keygen started: nothing else of ours needs it now. */
	if (made && (bf_sign_agent_stop(abs.buf, &e2)) < 0 && rc == 0)
		rc = bf_err_set(e, BF_ESIGNATURE, "%s", e2.msg);
	bf_lockfile_rollback(&lf);
	bf_buf_release(&pub);
	bf_buf_release(&name);
	bf_buf_release(&abs);
	bf_buf_release(&why);
	return rc;
}

int
bf_repo_signer_open(struct bf_repo *r, struct bf_signer **sp,
    struct bf_err *e)
{
	struct bf_buf why = BF_BUF_INIT;
	int rc;

	*sp = NULL;
	if ((rc = bf_repo_key_problem(r, &why, e)) > 0)
		rc = bf_err_set(e, BF_EUNSAFE, "refusing to sign: %s", why.buf);
	bf_buf_release(&why);
	if (rc < 0)
		return rc;
	if (r->signing_key == NULL)
		return bf_err_set(e, BF_ENOTFOUND, "the repository is signed but "
		    "has no key; run 'binfarm -R %s key init'", r->root);
	return bf_signer_open(sp, r->gnupg_home, r->signing_key, e);
}

int
bf_repo_key_migrate(struct bf_repo *r, const char *home, struct bf_buf *msg,
    struct bf_err *e)
{
	struct bf_buf src = BF_BUF_INIT, abs = BF_BUF_INIT, gone = BF_BUF_INIT;
	struct bf_buf fpr = BF_BUF_INIT;
	struct bf_signer *s = NULL;
	struct bf_err e2 = BF_ERR_INIT;
	struct stat st;
	char *real;
	int rc = 0, legacy;

	legacy = fstatat(r->root_fd, BF_REPO_GNUPG, &st,
	    AT_SYMLINK_NOFOLLOW) == 0;
	if (legacy)
		bf_buf_addf(&src, "%s/%s", r->root, BF_REPO_GNUPG);
	if (r->gnupg_home != NULL && !bf_repo_contains(r, r->gnupg_home)) {
		if (!legacy) {
			bf_buf_addf(msg, "nothing to migrate: the GnuPG home is "
			    "'%s', outside the repository", r->gnupg_home);
			goto out;
		}
		/* Moved before, but killed before the old home was gone. */
		if ((rc = bf_signer_open(&s, r->gnupg_home, r->signing_key,
		    e)) < 0) {
			bf_err_prefix(e, "not removing '%s'", src.buf);
			goto out;
		}
		bf_buf_addf(&abs, "%s", r->gnupg_home);
		goto remove;
	}
	if (!legacy) {
		if (r->gnupg_home == NULL) {
			bf_buf_addf(msg, "nothing to migrate: the repository has "
			    "no key (binfarm key init makes one)");
			goto out;
		}
		bf_buf_adds(&src, r->gnupg_home);
	}
	if (bf_buf_error(&src) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if ((rc = bf_signer_open(&s, src.buf, r->signing_key, e)) < 0)
		goto out;
	bf_buf_adds(&fpr, bf_signer_fpr(s));
	bf_signer_free(s);
	s = NULL;
	if ((rc = outside_home(r, home, &abs, e)) < 0 ||
	    (rc = bf_sign_copy_secret(src.buf, abs.buf, fpr.buf, e)) < 0 ||
	    (rc = bf_signer_open(&s, abs.buf, fpr.buf, e)) < 0)
		goto stop;
	/* Durable before binfarm-repo.conf names it. */
	if ((rc = bf_fsync_path(AT_FDCWD, abs.buf, e)) < 0)
		goto stop;
	sync();
	if ((rc = bf_repo_set_key(r, abs.buf, fpr.buf, e)) < 0)
		goto stop;
remove:
	bf_buf_addf(msg, "the signing key %s is in '%s'", r->signing_key,
	    r->gnupg_home);
	(void)bf_sign_agent_stop(src.buf, &e2);
	/*
	 * Out of the served name at once (a rename), then deleted: should
	 * this be killed, keys/gnupg is already gone, and what is left in
	 * tmp/ goes at the next bf_repo_lock().
	 */
	bf_buf_addf(&gone, "%s/tmp/gnupg-old.%ld", r->root, (long)getpid());
	if (bf_buf_error(&gone) < 0 || bf_buf_error(msg) < 0) {
		rc = bf_err_nomem(e);
		goto stop;
	}
	(void)bf_rmtree(AT_FDCWD, gone.buf, NULL);
	if (rename(src.buf, gone.buf) < 0) {
		rc = bf_err_errno(e, "cannot move '%s' out of the way", src.buf);
		goto stop;
	}
	if ((real = strrchr(src.buf, '/')) != NULL) {
		*real = '\0';
		rc = bf_fsync_path(AT_FDCWD, src.buf, e);
		*real = '/';
		if (rc < 0)
			goto stop;
	}
	if ((rc = bf_rmtree(AT_FDCWD, gone.buf, e)) < 0)
		goto stop;
	bf_buf_addf(msg, "; removed '%s'", src.buf);
stop:
	if (abs.len > 0)
		(void)bf_sign_agent_stop(abs.buf, &e2);
	if (legacy && rc < 0)
		(void)bf_sign_agent_stop(src.buf, &e2);
out:
	bf_signer_free(s);
	bf_buf_release(&src);
	bf_buf_release(&abs);
	bf_buf_release(&gone);
	bf_buf_release(&fpr);
	if (rc == 0 && bf_buf_error(msg) < 0)
		rc = bf_err_nomem(e);
	return rc;
}
