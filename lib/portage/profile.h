/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_PROFILE_H
#define BF_PROFILE_H

#include <stddef.h>

#include "portage/atom.h"
#include "base/conf.h"

struct bf_err;

/*
 * A hw-profile: a directory holding the files a Gentoo engineer knows
 * (see binfarm-profile(5)):
 *
 *	make.conf		CHOST, CFLAGS, USE, ACCEPT_KEYWORDS, ... (shell syntax)
 *	world			atoms the fleet installs
 *	package.use		atom flag... (file or directory)
 *	package.accept_keywords	atom [keyword...]
 *	package.mask		atom
 *	package.license		atom license... (ACCEPT_LICENSE words)
 *	profile.conf		[profile] and [repo NAME] sections (INI)
 */

/* One line of a package.* file: an atom and its words. */
struct bf_pkgent {
	struct bf_atom	 atom;
	struct bf_strv	 words;
	const char	*file;		/* borrowed from the profile */
	unsigned	 line;
};

struct bf_pkglist {
	struct bf_pkgent *v;
	size_t		  n;
	size_t		  alloc;
};

/* Frees the entries of `l` and leaves it empty. */
void	bf_pkglist_release(struct bf_pkglist *l);

/* An ebuild repository the profile builds from. */
struct bf_repospec {
	char		*name;
	char		*uri;		/* git URL or local path */
	char		*ref;		/* branch, tag or commit; "HEAD" if unset */
};

struct bf_profile {
	char		*dir;
	char		*name;		/* last component of dir */
	struct bf_conf	 make;		/* every make.conf variable */
	const char	*chost;		/* borrowed from make; never NULL */
	const char	*cflags;	/* "" when unset */
	const char	*cxxflags;
	const char	*ldflags;
	char		*arch;		/* first stable ACCEPT_KEYWORDS entry */
	/*
	 * Global USE as incremental words, in order: make.conf USE, then
	 * each USE_EXPAND variable as name_value flags.  Apply them with
	 * bf_use_apply() over a package's IUSE defaults.
	 */
	struct bf_strv	 use;
	struct bf_strv	 accept_keywords;
	struct bf_strv	 use_expand;	/* USE_EXPAND variable names */
	struct bf_pkglist world;
	struct bf_pkglist package_use;	/* words are flags, USE_EXPAND resolved */
	struct bf_pkglist package_keywords;
	struct bf_pkglist package_mask;
	struct bf_pkglist package_license;	/* words are ACCEPT_LICENSE words */
	char		*portage_profile;
	int		 no_system;	/* system = no: world without @system */
	struct bf_strv	 worker_tags;
	/*
	 * The x86-64 microarchitecture level the binaries need ("v1" to
	 * "v4", as glibc's ld.so defines them): [profile] x86-64-level,
	 * else from -march=x86-64[-vN] in CFLAGS; "" when neither says.
	 */
	char		 x86_64_level[3];
	struct bf_repospec *repos;
	size_t		 nrepos, arepos;
	struct bf_strv	 files;		/* names used in messages */
};

/*
 * Loads the profile in `dir`.  make.conf and world are required; the
 * package.* files and profile.conf are optional.  Every problem is
 * -BF_ECONFIG with a "file:line: ..." message.
 */
int	bf_profile_load(struct bf_profile *p, const char *dir, struct bf_err *e);
void	bf_profile_release(struct bf_profile *p);

/* 1 if `s` is an x86-64 level binfarm knows: "v1", "v2", "v3", "v4". */
int	bf_x86_64_level_valid(const char *s);

/*
 * Applies USE words in Portage's incremental way to `set`: "flag" adds,
 * "-flag" removes, "-*" clears.
 */
int	bf_use_apply(struct bf_strv *set, const struct bf_strv *words);

/*
 * Whether a package with KEYWORDS `keywords` is accepted by the profile
 * for `cpv` in `slot`, honouring package.accept_keywords: "arch" accepts
 * stable, "~arch" testing too, "**" anything, "*" any stable and "~*"
 * any testing keyword.
 */
int	bf_profile_keywords_ok(const struct bf_profile *p,
	    const struct bf_cpv *cpv, const char *slot, const char *repo,
	    const char *keywords);
/* The same over the accepted set `accept` instead of the profile's own. */
int	bf_profile_keywords_ok_in(const struct bf_profile *p,
	    const struct bf_strv *accept, const struct bf_cpv *cpv,
	    const char *slot, const char *repo, const char *keywords);
/* The package.mask line masking the package, or NULL. */
const struct bf_pkgent *bf_profile_masked(const struct bf_profile *p,
	    const struct bf_cpv *cpv, const char *slot, const char *repo);

#endif
