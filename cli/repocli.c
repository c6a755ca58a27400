/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "store/promote.h"
#include "store/recover.h"
#include "store/repo.h"
#include "repocli.h"
#include "base/banned.h"

struct bf_repo *
repocli_open(const struct bf_cli *cli, const char *dir)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_repo *r = NULL;
	char *abs;
	int rc;

	if (dir == NULL)
		dir = getenv("BINFARM_REPO");
	if (dir == NULL || *dir == '\0') {
		cli_error(cli, "no repository: use -R DIR or set BINFARM_REPO");
		return NULL;
	}
	/* gpg needs an absolute GnuPG home. */
	if ((abs = realpath(dir, NULL)) == NULL) {
		cli_error(cli, "cannot open repository '%s': %s", dir,
		    strerror(errno));
		return NULL;
	}
	rc = bf_repo_open(&r, abs, &e);
	free(abs);
	if (rc < 0) {
		cli_error(cli, "%s", bf_err_msg(&e, rc));
		return NULL;
	}
	return r;
}

static void
recovery_report(void *arg, const char *msg)
{
	cli_info(arg, "recovery: %s", msg);
}

int
repocli_lock(const struct bf_cli *cli, struct bf_repo *r)
{
	struct bf_err e = BF_ERR_INIT;
	int rc;

	if ((rc = bf_repo_lock(r, recovery_report, (void *)cli, &e)) < 0)
		cli_error(cli, "%s", bf_err_msg(&e, rc));
	return rc;
}

const char *
repocli_who(char *buf, size_t len)
{
	const char *s = getenv("SUDO_USER");
	size_t i;

	if (s == NULL || *s == '\0')
		s = getenv("USER");
	if (s == NULL || *s == '\0')
		snprintf(buf, len, "uid%lu", (unsigned long)getuid());
	else
		snprintf(buf, len, "%s", s);
	for (i = 0; buf[i] != '\0'; i++)
		if (buf[i] == '\t' || buf[i] == '\n' || buf[i] == ' ')
			buf[i] = '_';
	return buf;
}

void
repocli_warn_unsigned(const struct bf_cli *cli, const struct bf_repo *r)
{
	if (!r->signed_repo)
		cli_warn(cli, "THIS REPOSITORY IS UNSIGNED: Portage >= 3.0.78 "
		    "refuses its packages unless binrepos.conf sets "
		    "verify-signature = false");
}

static void
cpvb(char *buf, size_t len, const char *cpv, long long build)
{
	if (build > 0)
		snprintf(buf, len, "%s (build %lld)", cpv, build);
	else
		snprintf(buf, len, "%s", cpv);
}

void
repocli_print_diff(const struct bf_diff *d, const char *indent)
{
	char a[300], b[300];
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct bf_diff_item *it = &d->v[i];

		switch (it->kind) {
		case BF_CHG_ADDED:
			cpvb(b, sizeof(b), it->new_cpv, it->new_build);
			printf("%s%-10s  %s\n", indent, "added", b);
			break;
		case BF_CHG_REMOVED:
			cpvb(a, sizeof(a), it->old_cpv, it->old_build);
			printf("%s%-10s  %s\n", indent, "removed", a);
			break;
		default:
			cpvb(a, sizeof(a), it->old_cpv, it->old_build);
			cpvb(b, sizeof(b), it->new_cpv, it->new_build);
			printf("%s%-10s  %s -> %s\n", indent,
			    bf_change_name(it->kind), a, b);
			break;
		}
	}
	printf("%s%zu added, %zu removed, %zu upgraded, %zu downgraded, "
	    "%zu rebuilt\n", indent, d->count[BF_CHG_ADDED],
	    d->count[BF_CHG_REMOVED], d->count[BF_CHG_UPGRADED],
	    d->count[BF_CHG_DOWNGRADED], d->count[BF_CHG_REBUILT]);
}

long long
repocli_duration(const char *s)
{
	char *end;
	long long v, mult = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60;
	else if (strcmp(end, "h") == 0)
		mult = 3600;
	else if (strcmp(end, "d") == 0)
		mult = 86400;
	else
		return -1;
	if (v > LLONG_MAX / mult)
		return -1;
	return v * mult;
}
