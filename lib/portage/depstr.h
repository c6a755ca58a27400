/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_DEPSTR_H
#define BF_DEPSTR_H

#include <stddef.h>

struct bf_buf;
struct bf_err;

/*
 * Dependency-string reduction as a binary package index records it:
 * Portage's bintree._eval_use_flags() stores
 *
 *	paren_enclose(use_reduce(value, uselist=USE, token_class=T))
 *
 * for BDEPEND DEPEND IDEPEND LICENSE RDEPEND PDEPEND PROPERTIES RESTRICT,
 * with T = Atom for the *DEPEND keys and plain strings otherwise, no
 * EAPI (the permissive grammar), no IUSE check and no opconvert.  So:
 *
 *  - "flag? ( ... )" and "!flag? ( ... )" are kept or dropped by USE;
 *    the flag must match [A-Za-z0-9][A-Za-z0-9+_@-]*;
 *  - "|| ( ... )" groups stay, with Portage's simplifications: redundant
 *    parentheses go, "|| ( A )" becomes "A", nested any-of groups merge,
 *    and an any-of group left empty becomes "__const__/empty-any-of";
 *  - with atoms, every token must be a valid atom, and conditional USE
 *    dependencies ([foo?], [!foo?], [foo=], [!foo=]) are evaluated
 *    against USE as Atom.evaluate_conditionals() does (which also drops
 *    a ::repo from such an atom); other atoms are kept as written,
 *    slot operators included.
 *
 * The output is byte for byte what Portage stores; an input Portage
 * rejects with InvalidDependString is an error here too (-BF_EMETADATA,
 * with Portage's reason in `e`).
 */

/* A set of enabled USE flags: the words of a USE value. */
struct bf_useset {
	const char	**flag;		/* sorted, borrowed from `mem` */
	size_t		  n;
	char		 *mem;
};

#define BF_USESET_INIT { NULL, 0, NULL }

/*
 * Builds the set from `use`, words separated by spaces (a value
 * normalised as " ".join(s.split())).  Returns 0 or -ENOMEM.
 */
int	bf_useset_init(struct bf_useset *u, const char *use, size_t len);
void	bf_useset_release(struct bf_useset *u);
int	bf_useset_has(const struct bf_useset *u, const char *flag, size_t len);

enum {
	BF_DEPSTR_ATOMS = 1 << 0,	/* tokens are atoms (the *DEPEND keys) */
};

/*
 * Appends the reduced form of the `len` bytes at `s` (words separated
 * by single spaces, as the index normalises values) to `out`.
 */
int	bf_depstr_reduce(const char *s, size_t len, const struct bf_useset *use,
	    unsigned flags, struct bf_buf *out, struct bf_err *e);

/*
 * The keys the index reduces, in Portage's order, and whether a key is
 * one of them: BF_DEPSTR_ATOMS for the *DEPEND keys, 0 for LICENSE,
 * PROPERTIES and RESTRICT, -1 for any other key.
 */
extern const char *const bf_depstr_keys[8];
int	bf_depstr_key_flags(const char *key);

#endif
