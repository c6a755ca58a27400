/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A repository's signing key and its GnuPG home (keys.c). */
#ifndef BF_KEYS_H
#define BF_KEYS_H

struct bf_buf;
struct bf_err;
struct bf_signer;

/*
 * Makes the signing key of repository `r` in the GnuPG home `home`
 * (NULL: bf_repo_gnupg_default(); created 0700; it must lie outside the
 * repository and may hold other repositories' keys), writes the public
 * key to keys/binfarm.asc, then records gnupg-home and signing-key in
 * binfarm-repo.conf, each atomically, and stops the gpg-agent keygen
 * started.  Refuses (BF_ECONFLICT) when the repository already has a
 * key.  `uid` NULL: "binfarm repository <hostname>".  The lock must be
 * held.
 */
struct bf_repo;
int	bf_repo_keygen(struct bf_repo *r, const char *home, const char *uid,
	    const char *algo, struct bf_buf *fpr, struct bf_err *e);
/*
 * A signer on the key binfarm-repo.conf names (signing-key in
 * gnupg-home).  Refuses while the GnuPG home or any secret key
 * material lies inside the repository (bf_repo_key_problem()), naming
 * the command that fixes it.
 */
int	bf_repo_signer_open(struct bf_repo *r, struct bf_signer **sp,
	    struct bf_err *e);
/*
 * Moves the GnuPG home of `r` out of its tree (keys/gnupg, or a
 * gnupg-home inside the root) into `home` (NULL: the default): copies
 * the signing key there (gpg export and import, so the target may hold
 * other keys), checks that it signs from there, records gnupg-home and
 * signing-key in binfarm-repo.conf atomically, then renames the old
 * home into tmp/ and deletes it.  Killed at any point, it is run again
 * (and fsck says so): before the configuration names the new home
 * nothing has changed; after, only the removal is left.  Appends what
 * it did to `msg`.  The lock must be held.
 */
int	bf_repo_key_migrate(struct bf_repo *r, const char *home,
	    struct bf_buf *msg, struct bf_err *e);

#endif
