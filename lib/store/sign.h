/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_SIGN_H
#define BF_SIGN_H

#include <stdint.h>
#include <sys/types.h>

struct bf_buf;
struct bf_err;

/*
 * OpenPGP signing and verification through gpgme, as Portage's
 * FEATURES=binpkg-signing writes and gpkg._verify_binpkg() checks
 * (shared/formats.md sections 1.4-1.6).  This is the only module that
 * includes gpgme.h.
 *
 * Every context works on a GnuPG home directory of its own (never the
 * caller's ~/.gnupg); secret-key operations go through that home's
 * gpg-agent, which gpg starts on demand.  No passphrase is ever asked:
 * repository keys are made without one (pinentry is in loopback mode).
 */
struct bf_signer;
struct bf_verifier;

/*
 * Makes a signing key (default algorithm "ed25519"; any gpg
 * --quick-gen-key algorithm name works) for `uid` in the GnuPG home
 * `home` (created 0700 if missing), with no passphrase and no expiry,
 * and writes a gpg.conf there that makes signatures use SHA512 as
 * Portage's BINPKG_GPG_SIGNING_DIGEST does.  The fingerprint is
 * appended to `fpr`.
 */
int	bf_sign_keygen(const char *home, const char *uid, const char *algo,
	    struct bf_buf *fpr, struct bf_err *e);
/*
 * Appends the ASCII-armored public key `fpr` of `home` (NULL: all its
 * keys) to `out`.
 */
int	bf_sign_export(const char *home, const char *fpr, struct bf_buf *out,
	    struct bf_err *e);
/*
 * Stops the gpg-agent of `home` if one runs (gpgconf --kill gpg-agent):
 * gpg starts one for every secret-key operation and it stays.
 */
int	bf_sign_agent_stop(const char *home, struct bf_err *e);
/*
 * Copies the secret key `fpr` (and its public part) from the GnuPG home
 * `from` into `to` (export and import, so `to` may hold other keys).
 */
int	bf_sign_copy_secret(const char *from, const char *to, const char *fpr,
	    struct bf_err *e);

/*
 * A signer on the secret key `fpr` of `home` (NULL: its first secret
 * key).
 */
int	bf_signer_open(struct bf_signer **sp, const char *home,
	    const char *fpr, struct bf_err *e);
void	bf_signer_free(struct bf_signer *s);
/* The signing key's fingerprint (borrowed). */
const char *bf_signer_fpr(const struct bf_signer *s);
/*
 * Appends an ASCII-armored detached signature over `len` bytes of `fd`
 * from `off` (gpg --detach-sign --armor).
 */
int	bf_signer_detached(struct bf_signer *s, int fd, off_t off, uint64_t len,
	    struct bf_buf *out, struct bf_err *e);
/* Appends the cleartext-signed form of `text` (gpg --clear-sign). */
int	bf_signer_clearsign(struct bf_signer *s, const char *text, size_t len,
	    struct bf_buf *out, struct bf_err *e);

/*
 * Privilege separation (binfarm-builder(8)): a signing process holds
 * the real signer and answers requests over a Unix stream socket
 * (bf_signer_serve()); the other process holds a signer made with
 * bf_signer_remote() on the other end, whose bf_signer_detached() and
 * bf_signer_clearsign() are requests (the file to sign is passed as a
 * descriptor, so the signing process needs no access to it by path).
 * Requests are serialised (one at a time per remote signer).  When the
 * signing process is gone, every operation fails with a message that
 * says so.
 *
 * bf_signer_remote() waits for the signing process's first answer: the
 * key's fingerprint, or the error bf_signer_serve_error() sent.  It
 * takes `fd` (closed by bf_signer_free()) only on success.
 * bf_signer_serve() answers until the other end closes (0) or a
 * request is malformed (an error).
 */
int	bf_signer_remote(struct bf_signer **sp, int fd, struct bf_err *e);
int	bf_signer_serve(struct bf_signer *s, int fd, struct bf_err *e);
int	bf_signer_serve_error(int fd, const char *msg);

/*
 * A verifier.  `keyring` is either
 *  - a GnuPG home directory (such as /etc/portage/gnupg): a signature
 *    counts only if gpg reports it good (GOODSIG) and the key's
 *    validity is full or ultimate, as Portage requires
 *    (TRUST_FULLY/TRUST_ULTIMATE); or
 *  - a file of public keys (binfarm key export): every key in it is the
 *    trust anchor; it is imported into a private temporary home and a
 *    signature counts if it is good and made by one of those keys.
 */
int	bf_verifier_open(struct bf_verifier **vp, const char *keyring,
	    struct bf_err *e);
void	bf_verifier_free(struct bf_verifier *v);
/* Checks a cleartext-signed message. */
int	bf_verifier_clearsigned(struct bf_verifier *v, const char *text,
	    size_t len, struct bf_err *e);
/* Checks a detached signature over `len` bytes of `fd` from `off`. */
int	bf_verifier_detached(struct bf_verifier *v, const char *sig,
	    size_t siglen, int fd, off_t off, uint64_t len, struct bf_err *e);

#endif
