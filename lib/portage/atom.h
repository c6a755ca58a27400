/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_ATOM_H
#define BF_ATOM_H

#include <stddef.h>

struct bf_err;

/*
 * Package names, versions and dependency atoms, following the Package
 * Manager Specification (PMS) chapter 3 and section 8.3, with Portage's
 * behaviour where PMS leaves room.
 *
 * Nothing here guesses: an invalid name, version or atom is an error
 * (-BF_EFORMAT, with a message in `e` when given).
 */

/*
 * A parsed version, PMS 3.2:
 *
 *	[0-9]+(\.[0-9]+)*[a-z]?((_alpha|_beta|_pre|_rc|_p)[0-9]*)*(-r[0-9]+)?
 *
 * All fields describe the borrowed string `s`, which must outlive the
 * struct; nothing is allocated, so there is nothing to release.
 * Numbers of any length compare correctly (they are compared as digit
 * strings, never converted).
 */
struct bf_version {
	const char	*s;		/* borrowed: "1.2b_rc3-r1" */
	size_t		 len;		/* whole version, revision included */
	size_t		 nlen;		/* numeric components: "1.2" */
	char		 letter;	/* 'b', or 0 */
	size_t		 soff;		/* suffixes: "_rc3" at s + soff */
	size_t		 slen;
	size_t		 roff;		/* revision digits "1" at s + roff */
	size_t		 rlen;		/* 0 when there is no -rN */
};

/*
 * Parses the `len` bytes at `s` as a version, with an optional -rN
 * revision when `allow_rev` is set.  Returns 0 or -BF_EFORMAT.
 */
int	bf_version_parse(struct bf_version *v, const char *s, size_t len,
	    int allow_rev, struct bf_err *e);
/* Nonzero if the `len` bytes at `s` are a valid version (with -rN). */
int	bf_version_valid(const char *s, size_t len);
/*
 * The PMS 3.3 comparison: -1, 0 or 1 as a is older, equal or newer.
 * "1.0" and "1.0-r0" compare equal, as do "1.0" and "1.00".
 */
int	bf_version_cmp(const struct bf_version *a, const struct bf_version *b);
/* The same, ignoring both revisions (the ~ operator). */
int	bf_version_cmp_norev(const struct bf_version *a,
	    const struct bf_version *b);
/*
 * Compares two version strings (with optional revisions).  On success
 * stores -1, 0 or 1 in *cmp and returns 0; an invalid version is
 * -BF_EFORMAT, never a guessed order.
 */
int	bf_vercmp(const char *a, const char *b, int *cmp, struct bf_err *e);

/* Name rules, PMS 3.1.  Each returns nonzero when the name is valid. */
int	bf_category_valid(const char *s, size_t len);
/* Also rejects names ending in a hyphen and a version ("foo-1"). */
int	bf_pn_valid(const char *s, size_t len);
int	bf_slot_valid(const char *s, size_t len);
int	bf_repo_valid(const char *s, size_t len);
int	bf_useflag_valid(const char *s, size_t len);

/*
 * A split category/package-version: "dev-libs/foo-1.2_rc1-r3".  All
 * strings live in one allocation owned by the struct; release with
 * bf_cpv_release().  For a bare PF, `cat` is "".
 */
struct bf_cpv {
	const char	*cat;		/* "dev-libs" */
	const char	*pn;		/* "foo" */
	const char	*pv;		/* "1.2_rc1" */
	const char	*pvr;		/* "1.2_rc1-r3", or "1.2_rc1" as written */
	const char	*pr;		/* "r3"; "r0" when there is no revision */
	const char	*pf;		/* "foo-1.2_rc1-r3" */
	struct bf_version ver;		/* describes pvr */
	char		*mem;
};

#define BF_CPV_INIT { "", "", "", "", "", "", { NULL, 0, 0, 0, 0, 0, 0, 0 }, NULL }

/*
 * Splits "cat/pn-ver[-rN]".  PN may hold hyphens and digits
 * ("font-adobe-100dpi-1.0.3") but may not end in "-<version>", so
 * "foo-1-1.0" is rejected as PMS requires.  Returns 0 or -BF_EFORMAT
 * (or -ENOMEM); on failure `c` is left released.
 */
int	bf_cpv_split(struct bf_cpv *c, const char *cpv, struct bf_err *e);
/* The same for a bare PF, "pn-ver[-rN]". */
int	bf_pf_split(struct bf_cpv *c, const char *pf, struct bf_err *e);
void	bf_cpv_release(struct bf_cpv *c);

/*
 * Atoms, PMS 8.3:
 *
 *	[!|!!][op]cat/pn[-ver][*][:slot[/sub]|:=|:*|:slot=][::repo][use,...]
 */
enum bf_atom_op {
	BF_OP_NONE = 0,
	BF_OP_LT,		/* < */
	BF_OP_LE,		/* <= */
	BF_OP_EQ,		/* = */
	BF_OP_GLOB,		/* =...* */
	BF_OP_TILDE,		/* ~ */
	BF_OP_GE,		/* >= */
	BF_OP_GT		/* > */
};

enum bf_slot_op {
	BF_SLOTOP_NONE = 0,
	BF_SLOTOP_EQ,		/* := or :SLOT= */
	BF_SLOTOP_STAR		/* :* */
};

/* One USE dependency inside [...], PMS 8.3.4. */
enum bf_usedep_kind {
	BF_USE_ENABLED,		/* foo     : enabled */
	BF_USE_DISABLED,	/* -foo    : disabled */
	BF_USE_COND,		/* foo?    : enabled if enabled in the parent */
	BF_USE_NCOND,		/* !foo?   : disabled if disabled in the parent */
	BF_USE_EQ,		/* foo=    : same state as in the parent */
	BF_USE_NEQ		/* !foo=   : opposite state to the parent */
};

struct bf_usedep {
	const char	*flag;
	enum bf_usedep_kind kind;
	char		 dflt;		/* '+' for (+), '-' for (-), else 0 */
};

struct bf_atom {
	int		 blocker;	/* 0, 1 for "!", 2 for "!!" */
	enum bf_atom_op	 op;
	const char	*cat;
	const char	*pn;
	const char	*pvr;		/* version as written, or NULL */
	struct bf_version ver;		/* describes pvr when op != NONE */
	const char	*slot;		/* NULL when not given */
	const char	*subslot;	/* NULL when not given */
	enum bf_slot_op	 slotop;
	const char	*repo;		/* NULL when not given */
	struct bf_usedep *use;
	size_t		 nuse;
	char		*mem;		/* owns every string above */
};

#define BF_ATOM_INIT { 0, BF_OP_NONE, "", "", NULL, \
	{ NULL, 0, 0, 0, 0, 0, 0, 0 }, NULL, NULL, BF_SLOTOP_NONE, NULL, \
	NULL, 0, NULL }

/*
 * Parses one atom.  Blockers and USE dependencies are always accepted;
 * the EAPI that allows them is the caller's business.  Returns 0,
 * -BF_EFORMAT or -ENOMEM; on failure `a` is left released.
 */
int	bf_atom_parse(struct bf_atom *a, const char *s, struct bf_err *e);
int	bf_atom_parsen(struct bf_atom *a, const char *s, size_t len,
	    struct bf_err *e);
void	bf_atom_release(struct bf_atom *a);
/* Appends the atom in its canonical text form. */
struct bf_buf;
void	bf_atom_format(const struct bf_atom *a, struct bf_buf *out);

/*
 * Whether the package `c` in slot `slot`/`subslot` (either may be NULL
 * when unknown: a slot restriction then fails to match) from repository
 * `repo` (NULL if unknown) matches the atom's name, version, slot and
 * repository.  The blocker mark and USE dependencies are ignored: a
 * blocker matches what it blocks, and USE dependencies need the
 * parent's USE (see bf_usedep_satisfied()).  Returns 1 or 0.
 */
int	bf_atom_match(const struct bf_atom *a, const struct bf_cpv *c,
	    const char *slot, const char *subslot, const char *repo);
/* Only the version part: whether `v` satisfies the atom's operator. */
int	bf_atom_match_version(const struct bf_atom *a,
	    const struct bf_version *v);

/*
 * Evaluates one USE dependency.  `parent_on` is whether the flag is
 * enabled for the package holding the dependency (used by ?, =);
 * `in_iuse` and `on` describe the candidate.  A flag missing from the
 * candidate's IUSE takes the (+)/(-) default, or fails to match when
 * there is none.  Returns 1 when the candidate satisfies it.
 */
int	bf_usedep_satisfied(const struct bf_usedep *u, int parent_on,
	    int in_iuse, int on);

#endif
