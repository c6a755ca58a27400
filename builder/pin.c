/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pin: which ebuild repositories a rebuild of a hw-profile uses, and at
 * which commit.  The profile's [repo NAME] sections name them; the
 * builder's configuration may point a name at another URL or ref (its
 * mirror); `binfarm rebuild --commit [NAME=]OID` pins one at a commit.
 * The commits themselves are resolved later, by bf_pins_resolve(), in
 * the builder's git mirrors (rebuild.c).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "portage/profile.h"
#include "portage/tree.h"
#include "builder.h"
#include "base/banned.h"

/* The builder's [repo NAME] settings over the profile's. */
static int
merge_repos(struct builder *b, const struct bf_profile *prof,
    struct bf_pins *pins, struct bf_err *e)
{
	size_t i, j;
	int rc;

	for (i = 0; i < prof->nrepos; i++) {
		const struct bf_repospec *r = &prof->repos[i];
		const char *uri = r->uri, *ref = r->ref;

		for (j = 0; j < b->cfg.nrepos; j++)
			if (strcmp(b->cfg.repos[j].name, r->name) == 0) {
				uri = b->cfg.repos[j].uri;
				if (b->cfg.repos[j].ref != NULL)
					ref = b->cfg.repos[j].ref;
			}
		if ((rc = bf_pins_add(pins, r->name, uri, ref, NULL, e)) < 0)
			return rc;
	}
	if (pins->n == 0)
		for (j = 0; j < b->cfg.nrepos; j++)
			if ((rc = bf_pins_add(pins, b->cfg.repos[j].name,
			    b->cfg.repos[j].uri, b->cfg.repos[j].ref ?
			    b->cfg.repos[j].ref : "HEAD", NULL, e)) < 0)
				return rc;
	return 0;
}

/* "OID" pins the first repository, "NAME=OID" the one named. */
static int
pin_commit(struct bf_pins *pins, const char *profile, const char *commit,
    struct bf_err *e)
{
	const char *eq = strchr(commit, '=');
	struct bf_pin *pn = &pins->v[0];
	size_t i;

	if (eq != NULL) {
		pn = NULL;
		for (i = 0; i < pins->n; i++)
			if (strlen(pins->v[i].name) == (size_t)(eq - commit) &&
			    strncmp(pins->v[i].name, commit,
			    (size_t)(eq - commit)) == 0)
				pn = &pins->v[i];
		if (pn == NULL)
			return bf_err_set(e, BF_EUSAGE, "commit '%s': profile "
			    "'%s' has no repository of that name", commit,
			    profile);
		commit = eq + 1;
	}
	free(pn->ref);
	if ((pn->ref = strdup(commit)) == NULL)
		return bf_err_nomem(e);
	return 0;
}

int
rebuild_pins(struct builder *b, const char *profile,
    const struct bf_profile *prof, const char *commit, struct bf_pins *pins,
    struct bf_err *e)
{
	int rc;

	if ((rc = merge_repos(b, prof, pins, e)) < 0)
		return rc;
	if (pins->n == 0)
		return bf_err_set(e, BF_ECONFIG, "profile '%s' names no ebuild "
		    "repository ([repo NAME] in profile.conf or %s)", profile,
		    b->cfg.file);
	if (commit != NULL && *commit != '\0')
		return pin_commit(pins, profile, commit, e);
	return 0;
}
