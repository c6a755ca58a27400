/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "ebuild" driver: real Portage in a disposable root per job
 * (root.c), configured from the pins only, dependencies only from the
 * farm.  What runs inside the root is bf-ebuild.sh; this file prepares
 * what it is given:
 *
 *	/var/lib/binfarm/job		the job directory (read-write): job.vars,
 *					pkgdir/CAT/PN/PF-ID.gpkg.tar (the
 *					dependencies), and the results
 *	/var/lib/binfarm/repos/NAME	each pinned tree, a git checkout at
 *					the pinned commit (read-only)
 *	/var/lib/binfarm/git/NAME.git	its mirror, the checkout's object store
 *					(read-only)
 *	/var/lib/binfarm/profile	the hw-profile directory (read-only)
 *	/var/lib/binfarm/distfiles	the distfiles (read-only)
 *	/var/lib/binfarm/bf-ebuild.sh	the driver script (read-only)
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "portage/atom.h"
#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "portage/tree.h"
#include "base/log.h"
#include "root.h"
#include "worker.h"
#include "base/banned.h"

#define IN	"/var/lib/binfarm"

/* A name that is safe as one path component. */
static int
safe_name(const char *s)
{
	return *s && *s != '.' && strchr(s, '/') == NULL &&
	    strpbrk(s, ":,\\\n") == NULL;
}

/*
 * workdir/checkouts/NAME/COMMIT: the tree's files at the pinned commit
 * and a .git whose HEAD is that commit and whose objects are the mirror's
 * (seen at IN/git/NAME.git in the root): `git rev-list -1 HEAD`, which
 * Portage runs for REPO_REVISIONS (sync-type = git), names the pin.  Made
 * once per commit, read-only to every job.
 */
static int
checkout(struct wk *w, json_t *t, const char *mirror, struct bf_buf *out,
    int logfd, struct bf_err *e)
{
	struct bf_buf tmp = BF_BUF_INIT, p = BF_BUF_INIT, s = BF_BUF_INIT;
	const char *name = job_str(t, "name"), *commit = job_str(t, "commit");
	struct bf_tree *tr = NULL;
	struct stat st;
	size_t i;
	int rc = 0;

	for (i = 0; commit[i] != '\0'; i++)
		if (!strchr("0123456789abcdef", commit[i]))
			break;
	if (commit[i] != '\0' || (i != 40 && i != 64))
		return bf_err_set(e, EINVAL, "tree %s: bad commit id '%s'",
		    name, commit);
	bf_buf_addf(out, "%s/checkouts", w->workdir);
	mkdir(out->buf, 0755);
	bf_buf_addf(out, "/%s", name);
	mkdir(out->buf, 0755);
	bf_buf_addf(out, "/%s", commit);
	if (stat(out->buf, &st) == 0)
		return 0;
	if (bf_tree_open(&tr, mirror, commit, name, NULL) < 0) {
		dprintf(logfd, "binfarm-worker: fetching %s from %s\n", name,
		    job_str(t, "uri"));
		if ((rc = bf_tree_fetch(mirror, job_str(t, "uri"), e)) < 0)
			goto out;
		if ((rc = bf_tree_open(&tr, mirror, commit, name, e)) < 0) {
			bf_err_prefix(e, "tree %s: commit %s is gone from %s "
			    "(did the ref vanish?)", name, commit,
			    job_str(t, "uri"));
			goto out;
		}
	}
	bf_buf_addf(&tmp, "%s.tmp", out->buf);
	if ((rc = root_remove(tmp.buf, e)) < 0)
		goto out;
	if ((rc = bf_tree_export(tr, "", tmp.buf, e)) < 0)
		goto out;
	bf_buf_reset(&p);
	bf_buf_addf(&p, "%s/.git", tmp.buf);
	mkdir(p.buf, 0755);
	bf_buf_adds(&p, "/objects");
	mkdir(p.buf, 0755);
	bf_buf_adds(&p, "/info");
	mkdir(p.buf, 0755);
	bf_buf_reset(&p);
	bf_buf_addf(&p, "%s/.git/refs", tmp.buf);
	mkdir(p.buf, 0755);
	bf_buf_reset(&p);
	bf_buf_addf(&p, "%s/.git/HEAD", tmp.buf);
	bf_buf_reset(&s);
	bf_buf_addf(&s, "%s\n", commit);
	if ((rc = write_text(p.buf, s.buf, e)) < 0)
		goto out;
	bf_buf_reset(&p);
	bf_buf_addf(&p, "%s/.git/config", tmp.buf);
	if ((rc = write_text(p.buf, "[core]\n\trepositoryformatversion = 0\n"
	    "\tbare = false\n", e)) < 0)
		goto out;
	bf_buf_reset(&p);
	bf_buf_addf(&p, "%s/.git/objects/info/alternates", tmp.buf);
	bf_buf_reset(&s);
	bf_buf_addf(&s, IN "/git/%s.git/objects\n", name);
	if ((rc = write_text(p.buf, s.buf, e)) < 0)
		goto out;
	if (rename(tmp.buf, out->buf) < 0)
		rc = bf_err_errno(e, "cannot rename '%s'", tmp.buf);
out:
	bf_tree_close(tr);
	bf_buf_release(&tmp);
	bf_buf_release(&p);
	bf_buf_release(&s);
	return rc;
}

struct co_ent {
	char		*name;
	struct timespec	 mt;
};

static int
co_newer_first(const void *a, const void *b)
{
	const struct co_ent *x = a, *y = b;

	if (x->mt.tv_sec != y->mt.tv_sec)
		return x->mt.tv_sec > y->mt.tv_sec ? -1 : 1;
	if (x->mt.tv_nsec != y->mt.tv_nsec)
		return x->mt.tv_nsec > y->mt.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * The checkout cache: a job marks the checkouts it uses (their mtime is
 * the time of their last use) and keeps, of each tree, the `keep` used
 * last (keep 0: all); the others, pins no job used since, are removed.
 * One job at a time per work directory: none of them is in use.
 */
static void
prune_checkouts(struct wk *w, const char *name, const char *inuse,
    int logfd)
{
	struct bf_buf dir = BF_BUF_INIT, p = BF_BUF_INIT;
	struct bf_err e = BF_ERR_INIT;
	struct co_ent *v = NULL;
	struct dirent *de;
	struct stat st;
	size_t n = 0, alloc = 0, i;
	DIR *d;

	if (w->keep_checkouts <= 0)
		return;
	bf_buf_addf(&dir, "%s/checkouts/%s", w->workdir, name);
	if (bf_buf_error(&dir) < 0 || (d = opendir(dir.buf)) == NULL)
		goto out;
	while ((de = readdir(d)) != NULL) {
		size_t len = strspn(de->d_name, "0123456789abcdef");

		/* commit ids only: not "." or ".." nor a .tmp left over */
		if ((len != 40 && len != 64) || de->d_name[len] != '\0')
			continue;
		bf_buf_reset(&p);
		bf_buf_addf(&p, "%s/%s", dir.buf, de->d_name);
		if (bf_buf_error(&p) < 0 || lstat(p.buf, &st) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (bf_grow(&v, &alloc, n + 1, sizeof(*v), 16) < 0)
			break;
		if ((v[n].name = strdup(de->d_name)) == NULL)
			break;
		v[n++].mt = st.st_mtim;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), co_newer_first);
	for (i = (size_t)w->keep_checkouts; i < n; i++) {
		if (strcmp(v[i].name, inuse) == 0)
			continue;
		bf_buf_reset(&p);
		bf_buf_addf(&p, "%s/%s", dir.buf, v[i].name);
		if (bf_buf_error(&p) < 0)
			continue;
		dprintf(logfd, "binfarm-worker: removing the checkout %s (%d "
		    "newer ones of %s kept)\n", p.buf, w->keep_checkouts, name);
		if (root_remove(p.buf, &e) < 0)
			dprintf(logfd, "binfarm-worker: %s\n", e.msg);
		bf_err_clear(&e);
	}
out:
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	bf_buf_release(&dir);
	bf_buf_release(&p);
}

/* "PROFILE=DIR" entries for this profile, then "DIR" ones. */
static const char *
pick(const struct bf_strv *v, const char *profile, int exact)
{
	size_t i, n = strlen(profile);

	for (i = 0; i < v->n; i++) {
		const char *s = v->v[i];

		if (exact && strncmp(s, profile, n) == 0 && s[n] == '=')
			return s + n + 1;
		if (!exact && s[0] == '/')
			return s;
	}
	return NULL;
}

/* Leftover roots of a killed worker (one job at a time per workdir);
 * logfd < 0: to the worker's log. */
static void
remove_old_roots(const char *roots, int logfd)
{
	DIR *d;
	struct dirent *de;
	struct bf_buf p = BF_BUF_INIT;
	struct bf_err e = BF_ERR_INIT;

	if ((d = opendir(roots)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		bf_buf_reset(&p);
		bf_buf_addf(&p, "%s/%s", roots, de->d_name);
		if (logfd >= 0)
			dprintf(logfd, "binfarm-worker: removing the leftover "
			    "build root %s\n", p.buf);
		else
			log_info("removing the leftover build root %s", p.buf);
		if (root_remove(p.buf, &e) < 0) {
			if (logfd >= 0)
				dprintf(logfd, "binfarm-worker: %s\n", e.msg);
			else
				log_warnx("%s", e.msg);
		}
		bf_err_clear(&e);
	}
	closedir(d);
	bf_buf_release(&p);
}

/*
 * Does the package need distfiles?  Its md5-cache entry says (no entry:
 * ask Portage anyway).
 */
static int
has_src_uri(const char *checkout, const struct bf_cpv *cpv)
{
	struct bf_buf p = BF_BUF_INIT, c = BF_BUF_INIT;
	int yes = 1;

	bf_buf_addf(&p, "%s/metadata/md5-cache/%s/%s", checkout, cpv->cat,
	    cpv->pf);
	if (bf_conf_read_file(p.buf, &c, NULL) == 0)
		yes = strncmp(c.buf, "SRC_URI=", 8) == 0 ||
		    strstr(c.buf, "\nSRC_URI=") != NULL;
	bf_buf_release(&p);
	bf_buf_release(&c);
	return yes;
}

/* Does a FEATURES= line of `path` (shell syntax) turn distcc on? */
static int
file_turns_on_distcc(const char *path)
{
	struct bf_buf c = BF_BUF_INIT;
	const char *l, *end, *w;
	int on = 0;

	if (bf_conf_read_file(path, &c, NULL) < 0) {
		bf_buf_release(&c);
		return 0;
	}
	for (l = c.buf; *l; l = *end ? end + 1 : end) {
		if ((end = strchr(l, '\n')) == NULL)
			end = l + strlen(l);
		while (*l == ' ' || *l == '\t')
			l++;
		if (strncmp(l, "FEATURES=", 9) != 0)
			continue;
		for (w = l + 9; w < end; w++) {
			size_t n = strspn(w, "abcdefghijklmnopqrstuvwxyz-");

			if (n == 6 && strncmp(w, "distcc", 6) == 0 &&
			    (w == l + 9 || strchr(" \t\"'", w[-1]) != NULL))
				on = 1;
			if (n == 7 && strncmp(w, "-distcc", 7) == 0)
				on = 0;
			if (n > 0)
				w += n - 1;
		}
	}
	bf_buf_release(&c);
	return on;
}

/*
 * distcc must reach DISTCC_HOSTS: a hw-profile that turns FEATURES=distcc
 * on, in make.conf or in any env/ file (package.env gives those to named
 * packages), has build roots with the worker's network.
 */
static int
profile_uses_distcc(const char *prof)
{
	struct bf_buf p = BF_BUF_INIT;
	struct dirent *de;
	DIR *d;
	int on;

	bf_buf_addf(&p, "%s/make.conf", prof);
	on = file_turns_on_distcc(p.buf);
	bf_buf_reset(&p);
	bf_buf_addf(&p, "%s/env", prof);
	if (!on && (d = opendir(p.buf)) != NULL) {
		while (!on && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			bf_buf_reset(&p);
			bf_buf_addf(&p, "%s/env/%s", prof, de->d_name);
			on = file_turns_on_distcc(p.buf);
		}
		closedir(d);
	}
	bf_buf_release(&p);
	return on;
}

/* Runs bf-ebuild.sh MODE in a new root at dir; 0 or the exit status. */
static int
run_root(struct wk *w, struct root_spec *rs, const char *mode, int keep,
    int logfd, int *code, struct bf_err *e)
{
	struct timespec t0, t1, t2;
	char *argv[4], *envp[5];
	pid_t pid;
	int rc, status;
	size_t i;

	dprintf(logfd, "binfarm-worker: %s root %s: overlay of", mode,
	    rs->dir);
	for (i = 0; i < rs->nlayers; i++)
		dprintf(logfd, " %s", rs->layers[i]);
	dprintf(logfd, " %s; namespaces mount, pid, ipc, uts%s\n", rs->base,
	    rs->net ? " (with the network)" : ", net");
	argv[0] = (char *)"/bin/bash";
	argv[1] = (char *)IN "/bf-ebuild.sh";
	argv[2] = (char *)mode;
	argv[3] = NULL;
	envp[0] = (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
	    "/usr/bin:/sbin:/bin";
	envp[1] = (char *)"HOME=/root";
	envp[2] = (char *)"TERM=dumb";
	envp[3] = (char *)"LANG=C.UTF-8";
	envp[4] = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = root_spawn(rs, argv, envp, logfd, &pid, e)) < 0)
		return rc;
	status = job_wait(w, pid);
	*code = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	{
		struct bf_err re = BF_ERR_INIT;

		if (!keep && root_remove(rs->dir, &re) < 0)
			dprintf(logfd, "binfarm-worker: %s\n", re.msg);
	}
	clock_gettime(CLOCK_MONOTONIC, &t2);
	/* bench/bench-root.sh reads this line. */
	dprintf(logfd, "binfarm-worker: %s root: %.3f s from fork to the "
	    "driver's exit, %.3f s to remove it\n", mode,
	    (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	    (double)(t2.tv_sec - t1.tv_sec) +
	    (double)(t2.tv_nsec - t1.tv_nsec) / 1e9);
	return 0;
}

void
ebuild_clean_roots(struct wk *w)
{
	struct bf_buf p = BF_BUF_INIT;

	bf_buf_addf(&p, "%s/roots", w->workdir);
	remove_old_roots(p.buf, -1);
	bf_buf_release(&p);
}

/* One ebuild job: the root it runs in and what is bound into it. */
struct ejob {
	struct wk		*w;
	json_t			*job;
	const char		*jobdir;
	const struct bf_cpv	*cpv;
	int			 logfd;
	struct root_spec	 rs;
	const char		*layers[2];
	struct root_bind	*binds;
	size_t			 nb;
	size_t			 dist_bind;	/* binds[] of the distfiles */
	struct bf_buf		*strs;		/* the trees' paths */
	size_t			 nstrs;
	const char		*repo_co;	/* the job's repository's checkout */
	struct bf_buf		 vars;		/* job.vars */
	struct bf_buf		 prof;		/* the hw-profile directory */
	struct bf_buf		 dist;		/* the distfiles cache */
	struct bf_buf		 rdir;		/* the build root */
};

/* The hw-profile's directory, base root and layers; the arrays. */
static int
ej_init(struct ejob *j, struct bf_err *e)
{
	struct wk *w = j->w;
	const char *profile = job_str(json_object_get(j->job, "env"),
	    "profile");
	size_t i, ntrees = json_array_size(json_object_get(j->job, "trees"));

	if (!safe_name(profile))
		return bf_err_set(e, EINVAL, "bad profile name '%s'", profile);
	bf_buf_addf(&j->prof, "%s/%s", w->profiles ? w->profiles : "",
	    profile);
	if (w->profiles == NULL || access(j->prof.buf, R_OK | X_OK) < 0)
		return bf_err_set(e, ENOENT, "no hw-profile directory '%s' "
		    "(--profiles)", j->prof.buf);
	if ((j->rs.base = pick(&w->base_roots, profile, 1)) == NULL &&
	    (j->rs.base = pick(&w->base_roots, profile, 0)) == NULL)
		j->rs.base = "/";
	if ((j->layers[0] = pick(&w->layers, profile, 1)) != NULL)
		j->rs.nlayers++;
	if ((j->layers[j->rs.nlayers] = pick(&w->layers, profile, 0)) != NULL)
		j->rs.nlayers++;
	j->rs.layers = j->layers;
	j->binds = calloc(ntrees * 2 + 5, sizeof(*j->binds));
	j->strs = calloc(ntrees * 4 + 2, sizeof(*j->strs));
	if (j->binds == NULL || j->strs == NULL)
		return bf_err_nomem(e);
	j->nstrs = ntrees * 4 + 2;
	for (i = 0; i < j->nstrs; i++)
		bf_buf_init(&j->strs[i]);
	return 0;
}

static void
ej_release(struct ejob *j)
{
	size_t i;

	if (j->strs != NULL)
		for (i = 0; i < j->nstrs; i++)
			bf_buf_release(&j->strs[i]);
	free(j->strs);
	free(j->binds);
	bf_buf_release(&j->vars);
	bf_buf_release(&j->prof);
	bf_buf_release(&j->dist);
	bf_buf_release(&j->rdir);
}

/* The pinned trees: a checkout of each, bound in read-only with its
 * mirror; their names and URIs into job.vars. */
static int
ej_trees(struct ejob *j, struct bf_err *e)
{
	struct bf_buf mdir = BF_BUF_INIT, names = BF_BUF_INIT;
	json_t *trees = json_object_get(j->job, "trees"), *tr;
	size_t i, ns = 0;
	int rc = 0;

	bf_buf_addf(&mdir, "%s/mirrors", j->w->workdir);
	mkdir(mdir.buf, 0755);
	json_array_foreach(trees, i, tr) {
		const char *name = job_str(tr, "name");
		struct bf_buf *mir = &j->strs[ns++], *co = &j->strs[ns++],
		    *din = &j->strs[ns++], *gin = &j->strs[ns++];

		if (!safe_name(name)) {
			rc = bf_err_set(e, EINVAL, "bad tree name '%s'", name);
			goto out;
		}
		bf_tree_mirror_path(mdir.buf, name, mir);
		if ((rc = checkout(j->w, tr, mir->buf, co, j->logfd, e)) < 0)
			goto out;
		/* used now: the cache keeps what was used last */
		utimensat(AT_FDCWD, co->buf, NULL, 0);
		prune_checkouts(j->w, name, job_str(tr, "commit"), j->logfd);
		if (strcmp(name, job_str(j->job, "repo")) == 0)
			j->repo_co = co->buf;
		bf_buf_addf(din, IN "/repos/%s", name);
		bf_buf_addf(gin, IN "/git/%s.git", name);
		j->binds[j->nb++] = (struct root_bind){ co->buf, din->buf, 1 };
		j->binds[j->nb++] = (struct root_bind){ mir->buf, gin->buf, 1 };
		bf_buf_addch(&names, ' ');
		sh_quote(&names, name);
	}
	bf_buf_addf(&j->vars, "repo_names=(%s )\nrepo_uris=(", names.buf);
	json_array_foreach(trees, i, tr) {
		bf_buf_addch(&j->vars, ' ');
		sh_quote(&j->vars, job_str(tr, "uri"));
	}
	bf_buf_adds(&j->vars, " )\n");
out:
	bf_buf_release(&mdir);
	bf_buf_release(&names);
	return rc;
}

/* The dependencies: pkgdir/CAT/PN/PF-ID.gpkg.tar, Portage's
 * multi-instance layout (anything else its bintree skips). */
static int
ej_deps(struct ejob *j, struct bf_err *e)
{
	struct bf_buf t = BF_BUF_INIT, from = BF_BUF_INIT;
	struct bf_cpv dc = BF_CPV_INIT;
	json_t *d;
	size_t i;
	int rc = 0;

	json_array_foreach(json_object_get(j->job, "deps"), i, d) {
		long long id = json_integer_value(json_object_get(d, "job"));

		if ((rc = bf_cpv_split(&dc, job_str(d, "cpv"), e)) < 0)
			break;
		bf_buf_reset(&t);
		bf_buf_addf(&t, "%s/pkgdir", j->jobdir);
		mkdir(t.buf, 0755);
		bf_buf_addf(&t, "/%s", dc.cat);
		mkdir(t.buf, 0755);
		bf_buf_addf(&t, "/%s", dc.pn);
		mkdir(t.buf, 0755);
		bf_buf_addf(&t, "/%s-%lld.gpkg.tar", dc.pf, id);
		bf_buf_reset(&from);
		bf_buf_addf(&from, "%s/deps/%lld.gpkg.tar", j->jobdir, id);
		if (rename(from.buf, t.buf) < 0) {
			rc = bf_err_errno(e, "cannot move '%s' to '%s'",
			    from.buf, t.buf);
			break;
		}
		bf_cpv_release(&dc);
	}
	bf_cpv_release(&dc);
	bf_buf_release(&t);
	bf_buf_release(&from);
	return rc;
}

/* job.vars (the variables bf-ebuild.sh reads, never exported) and what
 * the root gets bound in. */
static int
ej_prepare(struct ejob *j, struct bf_err *e)
{
	struct wk *w = j->w;
	json_t *je = json_object_get(j->job, "env");
	struct bf_buf t = BF_BUF_INIT;
	int rc;

	bf_buf_adds(&j->vars, "category=");
	sh_quote(&j->vars, j->cpv->cat);
	bf_buf_adds(&j->vars, "\npf=");
	sh_quote(&j->vars, j->cpv->pf);
	bf_buf_adds(&j->vars, "\npn=");
	sh_quote(&j->vars, j->cpv->pn);
	bf_buf_adds(&j->vars, "\nrepo=");
	sh_quote(&j->vars, job_str(j->job, "repo"));
	bf_buf_adds(&j->vars, "\nportage_profile=");
	sh_quote(&j->vars, job_str(je, "portage_profile"));
	bf_buf_adds(&j->vars, "\n");
	if ((rc = ej_trees(j, e)) < 0 || (rc = ej_deps(j, e)) < 0)
		return rc;
	bf_buf_addf(&t, "%s/job.vars", j->jobdir);
	rc = write_text(t.buf, j->vars.buf, e);
	bf_buf_release(&t);
	if (rc < 0)
		return rc;
	if (j->repo_co == NULL)
		return bf_err_set(e, EINVAL, "the job's repository '%s' is "
		    "not among its trees", job_str(j->job, "repo"));
	/* The distfiles cache: --distfiles, or the work directory's. */
	if (w->distfiles != NULL)
		bf_buf_adds(&j->dist, w->distfiles);
	else {
		bf_buf_addf(&j->dist, "%s/distfiles", w->workdir);
		mkdir(j->dist.buf, 0755);
	}
	j->binds[j->nb++] = (struct root_bind){ j->jobdir, IN "/job", 0 };
	j->binds[j->nb++] = (struct root_bind){ j->prof.buf, IN "/profile",
	    1 };
	j->dist_bind = j->nb;
	j->binds[j->nb++] = (struct root_bind){ j->dist.buf, IN "/distfiles",
	    1 };
	j->binds[j->nb++] = (struct root_bind){ w->ebuild_driver,
	    IN "/bf-ebuild.sh", 1 };
	j->rs.binds = j->binds;
	j->rs.nbinds = j->nb;
	j->rs.hostname = "binfarm-build";
	return 0;
}

/* Distfiles: fetched (by Portage, which checks them against the
 * Manifest) in a root of their own that has the network, into the
 * cache that the build root gets read-only. */
static int
ej_fetch(struct ejob *j, struct bf_err *e)
{
	struct bf_buf fdir = BF_BUF_INIT;
	int rc, code;

	bf_buf_addf(&fdir, "%s-fetch", j->rdir.buf);
	j->rs.dir = fdir.buf;
	j->rs.net = 1;
	j->binds[j->dist_bind].ro = 0;
	if (access("/etc/resolv.conf", R_OK) == 0)
		j->binds[j->rs.nbinds++] = (struct root_bind){
		    "/etc/resolv.conf", "/etc/resolv.conf", 1 };
	rc = run_root(j->w, &j->rs, "fetch", 0, j->logfd, &code, e);
	bf_buf_release(&fdir);
	j->rs.nbinds = j->nb;
	j->rs.net = 0;
	j->binds[j->dist_bind].ro = 1;
	j->rs.dir = j->rdir.buf;
	if (rc == 0 && code != 0)
		rc = bf_err_set(e, EIO, "the ebuild driver could not fetch "
		    "the distfiles (status %d; see the log)", code);
	return rc;
}

/* Builds in the root; 0, or what bf-ebuild.sh's status means. */
static int
ej_build(struct ejob *j, struct bf_err *e)
{
	struct bf_buf t = BF_BUF_INIT, what = BF_BUF_INIT;
	int rc, code;

	if ((j->rs.net = profile_uses_distcc(j->prof.buf)) != 0)
		dprintf(j->logfd, "binfarm-worker: the hw-profile turns distcc "
		    "on: the build root keeps the worker's network\n");
	if ((rc = run_root(j->w, &j->rs, "build", j->w->keep, j->logfd, &code,
	    e)) < 0)
		return rc;
	if (code == 0)
		return 0;
	if (code == 4) {
		/* bf-ebuild.sh wrote what emerge would have compiled. */
		bf_buf_addf(&t, "%s/not-from-farm", j->jobdir);
		if (bf_conf_read_file(t.buf, &what, NULL) == 0)
			bf_buf_rtrim(&what);
		rc = bf_err_set(e, EIO, "dependencies not built by the farm "
		    "(emerge would compile them; nothing was built): %s",
		    what.len ? what.buf : "(see the log)");
	} else if (code > 128)
		rc = bf_err_set(e, EIO, "the ebuild driver was killed by "
		    "signal %d", code - 128);
	else
		rc = bf_err_set(e, EIO, "the ebuild driver exited with "
		    "status %d (see the log)", code);
	bf_buf_release(&t);
	bf_buf_release(&what);
	return rc;
}

int
ebuild_job(struct wk *w, json_t *job, const char *jobdir,
    const struct bf_cpv *cpv, int logfd, struct bf_err *e)
{
	struct ejob j;
	struct bf_buf roots = BF_BUF_INIT;
	int rc;

	memset(&j, 0, sizeof(j));
	j.w = w;
	j.job = job;
	j.jobdir = jobdir;
	j.cpv = cpv;
	j.logfd = logfd;
	bf_buf_init(&j.vars);
	bf_buf_init(&j.prof);
	bf_buf_init(&j.dist);
	bf_buf_init(&j.rdir);
	if ((rc = ej_init(&j, e)) < 0 || (rc = ej_prepare(&j, e)) < 0)
		goto out;
	bf_buf_addf(&roots, "%s/roots", w->workdir);
	mkdir(roots.buf, 0755);
	remove_old_roots(roots.buf, logfd);
	bf_buf_addf(&j.rdir, "%s/%lld", roots.buf,
	    json_integer_value(json_object_get(job, "job")));
	j.rs.dir = j.rdir.buf;
	if (has_src_uri(j.repo_co, cpv) && (rc = ej_fetch(&j, e)) < 0)
		goto out;
	rc = ej_build(&j, e);
out:
	ej_release(&j);
	bf_buf_release(&roots);
	return rc;
}
