/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Build drivers.  Every job gets a fresh directory <workdir>/jobs/<id>:
 *
 *	job.json	the lease, as the builder sent it
 *	env.sh		the variables the driver reads (shell syntax)
 *	trees/<repo>/	eclass/ and the package's directory, exported from
 *			the pinned commit of each repository (libgit2)
 *	deps/		the built packages this one is built after
 *	image/		${D}, filled by the driver
 *	build-info/	the metadata Portage's __dyn_install writes
 *
 * Drivers: "sandbox" (bf-sandbox.sh: a documented subset of ebuild
 * phases in bash; scaffolding for machines without Portage), "ebuild"
 * (driver-ebuild.c: real Portage in a disposable root per job) and
 * "noop" (an empty package, for benchmarks of the builder).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "portage/atom.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "portage/tree.h"
#include "base/log.h"
#include "worker.h"
#include "base/banned.h"

static void
var(struct bf_buf *b, const char *k, const char *v)
{
	bf_buf_addf(b, "export %s=", k);
	sh_quote(b, v);
	bf_buf_addch(b, '\n');
}

static int
put_file(const char *dir, const char *name, const char *text,
    struct bf_err *e)
{
	struct bf_buf p = BF_BUF_INIT;
	int rc;

	bf_buf_addf(&p, "%s/%s", dir, name);
	rc = bf_buf_error(&p) < 0 ? bf_err_nomem(e) :
	    write_text(p.buf, text, e);
	bf_buf_release(&p);
	return rc;
}

static void
words(struct bf_buf *b, json_t *a)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		bf_buf_addf(b, "%s%s", i ? " " : "", json_string_value(v));
}

/* Exports what the driver needs from every pinned tree. */
static int
export_trees(struct wk *w, json_t *job, const char *jobdir,
    struct bf_cpv *cpv, struct bf_buf *eclassdirs, int logfd,
    struct bf_err *e)
{
	struct bf_buf mirror = BF_BUF_INIT, dest = BF_BUF_INIT,
	    pkg = BF_BUF_INIT, mdir = BF_BUF_INIT;
	json_t *trees = json_object_get(job, "trees"), *t;
	struct bf_tree *tr = NULL;
	size_t i;
	int rc = 0;

	bf_buf_addf(&mdir, "%s/mirrors", w->workdir);
	mkdir(mdir.buf, 0755);
	json_array_foreach(trees, i, t) {
		const char *name = job_str(t, "name"), *commit = job_str(t, "commit");

		bf_buf_reset(&mirror);
		bf_tree_mirror_path(mdir.buf, name, &mirror);
		if (bf_tree_open(&tr, mirror.buf, commit, name, NULL) < 0) {
			dprintf(logfd, "binfarm-worker: fetching %s from %s\n",
			    name, job_str(t, "uri"));
			if ((rc = bf_tree_fetch(mirror.buf, job_str(t, "uri"), e)) < 0)
				goto out;
			if ((rc = bf_tree_open(&tr, mirror.buf, commit, name,
			    e)) < 0) {
				bf_err_prefix(e, "tree %s: commit %s is gone "
				    "from %s (did the ref vanish?)", name,
				    commit, job_str(t, "uri"));
				goto out;
			}
		}
		bf_buf_reset(&dest);
		bf_buf_addf(&dest, "%s/trees/%s", jobdir, name);
		mkdir(dest.buf, 0755);
		bf_buf_adds(&dest, "/eclass");
		if ((rc = bf_tree_export(tr, "eclass", dest.buf, e)) == 0)
			bf_buf_addf(eclassdirs, "%s%s", eclassdirs->len ? " " :
			    "", dest.buf);
		else if (rc != -BF_ENOTFOUND)
			goto out;
		bf_err_clear(e);
		rc = 0;
		if (strcmp(name, job_str(job, "repo")) == 0) {
			bf_buf_reset(&pkg);
			bf_buf_addf(&pkg, "%s/%s", cpv->cat, cpv->pn);
			bf_buf_reset(&dest);
			bf_buf_addf(&dest, "%s/trees/%s/%s", jobdir, name,
			    cpv->cat);
			mkdir(dest.buf, 0755);
			bf_buf_addf(&dest, "/%s", cpv->pn);
			if ((rc = bf_tree_export(tr, pkg.buf, dest.buf, e)) < 0)
				goto out;
		}
		bf_tree_close(tr);
		tr = NULL;
	}
out:
	bf_tree_close(tr);
	bf_buf_release(&mirror);
	bf_buf_release(&dest);
	bf_buf_release(&pkg);
	bf_buf_release(&mdir);
	return rc;
}

static int
fetch_deps(struct wk *w, json_t *job, const char *jobdir,
    struct bf_buf *list, struct bf_err *e)
{
	struct bf_buf p = BF_BUF_INIT, url = BF_BUF_INIT;
	json_t *deps = json_object_get(job, "deps"), *d;
	struct bf_http_req rq = BF_HTTP_REQ_INIT;
	struct bf_http_resp resp;
	size_t i;
	int fd, rc = 0;

	bf_http_resp_init(&resp);
	json_array_foreach(deps, i, d) {
		long long id = json_integer_value(json_object_get(d, "job"));

		bf_buf_reset(&p);
		bf_buf_addf(&p, "%s/deps/%lld.gpkg.tar", jobdir, id);
		bf_buf_reset(&url);
		bf_buf_addf(&url, "/v1/jobs/%lld/package", id);
		if ((fd = open(p.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0644)) < 0) {
			rc = bf_err_errno(e, "cannot create '%s'", p.buf);
			break;
		}
		rq.path = url.buf;
		rq.bearer = w->token;
		rq.out_fd = fd;
		rq.conn = &w->conn;
		rc = bf_http_request(&w->url, &rq, &resp, e);
		close(fd);
		if (rc == 0 && resp.status != 200)
			rc = bf_err_set(e, EIO, "cannot fetch the package of "
			    "%s (job %lld): HTTP %d", job_str(d, "cpv"), id,
			    resp.status);
		if (rc < 0)
			break;
		bf_buf_addf(list, "%s%s", list->len ? " " : "", p.buf);
	}
	bf_http_resp_release(&resp);
	bf_buf_release(&p);
	bf_buf_release(&url);
	return rc;
}

/* The noop driver: an image with one file, and the build-info. */
static int
noop_build(json_t *job, const char *jobdir, struct bf_cpv *cpv,
    struct bf_err *e)
{
	struct bf_buf d = BF_BUF_INIT, v = BF_BUF_INIT;
	json_t *env = json_object_get(job, "env"), *revs = NULL, *t;
	char num[32], *s = NULL;
	size_t i;
	int rc;

	bf_buf_addf(&d, "%s/image/usr", jobdir);
	mkdir(d.buf, 0755);
	bf_buf_adds(&d, "/share");
	mkdir(d.buf, 0755);
	bf_buf_adds(&d, "/binfarm-noop");
	if ((rc = mkdir(d.buf, 0755)) < 0) {
		rc = bf_err_errno(e, "cannot create '%s'", d.buf);
		goto out;
	}
	bf_buf_addf(&v, "%s\n", job_str(job, "cpv"));
	if ((rc = put_file(d.buf, cpv->pf, v.buf, e)) < 0)
		goto out;
	bf_buf_reset(&d);
	bf_buf_addf(&d, "%s/build-info", jobdir);
#define PUT(k, val) do { bf_buf_reset(&v); bf_buf_addf(&v, "%s\n", (val)); \
	if ((rc = put_file(d.buf, (k), v.buf, e)) < 0) goto out; } while (0)
	PUT("CATEGORY", cpv->cat);
	PUT("PF", cpv->pf);
	PUT("SLOT", job_str(job, "slot"));
	PUT("EAPI", "8");
	PUT("CHOST", job_str(env, "chost"));
	/* As __dyn_install: the flags only when not empty. */
	if (*job_str(env, "cflags") != '\0')
		PUT("CFLAGS", job_str(env, "cflags"));
	if (*job_str(env, "cxxflags") != '\0')
		PUT("CXXFLAGS", job_str(env, "cxxflags"));
	if (*job_str(env, "ldflags") != '\0')
		PUT("LDFLAGS", job_str(env, "ldflags"));
	PUT("KEYWORDS", job_str(env, "arch"));
	bf_buf_reset(&v);
	words(&v, json_object_get(job, "use"));
	bf_buf_addch(&v, '\n');
	if ((rc = put_file(d.buf, "USE", v.buf, e)) < 0)
		goto out;
	bf_buf_reset(&v);
	words(&v, json_object_get(job, "iuse"));
	bf_buf_addch(&v, '\n');
	if ((rc = put_file(d.buf, "IUSE", v.buf, e)) < 0)
		goto out;
	snprintf(num, sizeof(num), "%lld", (long long)time(NULL));
	PUT("BUILD_TIME", num);
	PUT("repository", job_str(job, "repo"));
	PUT("SIZE", "0");
	/*
	 * REPO_REVISIONS as Portage's EbuildPhase writes it (sorted keys,
	 * Python's separators): the commit of the package's repository (a
	 * noop build inherits no eclass); the builder requires it.
	 */
	revs = json_object();
	json_array_foreach(json_object_get(job, "trees"), i, t)
		if (strcmp(job_str(t, "name"), job_str(job, "repo")) == 0)
			json_object_set(revs, job_str(t, "name"),
			    json_object_get(t, "commit"));
	if (revs == NULL || (s = json_dumps(revs, JSON_SORT_KEYS)) == NULL) {
		rc = bf_err_nomem(e);
		goto out;
	}
	PUT("REPO_REVISIONS", s);
#undef PUT
out:
	free(s);
	json_decref(revs);
	bf_buf_release(&d);
	bf_buf_release(&v);
	return rc;
}

/* The job directory's sub-directories and job.json. */
static int
make_jobdir(json_t *job, const char *jobdir, struct bf_err *e)
{
	static const char *const subdirs[] = { "image", "build-info",
	    "trees", "deps" };
	struct bf_buf t = BF_BUF_INIT;
	size_t i;
	char *s;
	int rc;

	for (i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		bf_buf_reset(&t);
		bf_buf_addf(&t, "%s/%s", jobdir, subdirs[i]);
		mkdir(t.buf, 0755);
	}
	bf_buf_release(&t);
	s = json_dumps(job, JSON_INDENT(1));
	rc = put_file(jobdir, "job.json", s ? s : "{}", e);
	free(s);
	return rc;
}

/* The package's variables of env.sh: its name, slot and USE. */
static void
env_package(struct bf_buf *env, json_t *job, const struct bf_cpv *cpv)
{
	struct bf_buf t = BF_BUF_INIT;

	var(env, "CATEGORY", cpv->cat);
	var(env, "PF", cpv->pf);
	var(env, "PN", cpv->pn);
	var(env, "PV", cpv->pv);
	var(env, "PR", cpv->pr);
	var(env, "PVR", cpv->pvr);
	bf_buf_addf(&t, "%s-%s", cpv->pn, cpv->pv);
	var(env, "P", t.buf);
	bf_buf_reset(&t);
	bf_buf_adds(&t, job_str(job, "slot"));
	if (strcmp(job_str(job, "subslot"), job_str(job, "slot")) != 0)
		bf_buf_addf(&t, "/%s", job_str(job, "subslot"));
	var(env, "BF_SLOT", t.buf);
	bf_buf_reset(&t);
	words(&t, json_object_get(job, "use"));
	var(env, "BF_USE", t.buf);
	bf_buf_reset(&t);
	words(&t, json_object_get(job, "iuse"));
	var(env, "BF_IUSE", t.buf);
	bf_buf_release(&t);
}

/* The hw-profile's variables of env.sh. */
static void
env_profile(struct bf_buf *env, json_t *job)
{
	struct bf_buf t = BF_BUF_INIT;
	json_t *je = json_object_get(job, "env");

	var(env, "CHOST", job_str(je, "chost"));
	var(env, "CBUILD", job_str(je, "chost"));
	var(env, "CFLAGS", job_str(je, "cflags"));
	var(env, "CXXFLAGS", job_str(je, "cxxflags"));
	var(env, "LDFLAGS", job_str(je, "ldflags"));
	var(env, "MAKEOPTS", job_str(je, "makeopts"));
	/* FEATURES: the profile's stack (a list; a string from an older
	 * builder) */
	if (json_is_array(json_object_get(je, "features")))
		words(&t, json_object_get(je, "features"));
	else
		bf_buf_adds(&t, job_str(je, "features"));
	var(env, "FEATURES", t.buf);
	bf_buf_reset(&t);
	words(&t, json_object_get(je, "iuse_implicit"));
	var(env, "BF_IUSE_IMPLICIT", t.buf);
	bf_buf_reset(&t);
	words(&t, json_object_get(job, "pkguse"));
	var(env, "BF_PKGUSE", t.buf);
	var(env, "DISTCC_HOSTS", job_str(je, "distcc_hosts"));
	var(env, "ARCH", job_str(je, "arch"));
	var(env, "BF_REPO", job_str(job, "repo"));
	var(env, "BF_PORTAGE_PROFILE", job_str(je, "portage_profile"));
	bf_buf_release(&t);
}

/* The sandbox driver's env.sh: what bf-sandbox.sh reads. */
static int
write_env(struct wk *w, json_t *job, const char *jobdir,
    const struct bf_cpv *cpv, const char *eclassdirs, const char *deps,
    struct bf_err *e)
{
	struct bf_buf env = BF_BUF_INIT, t = BF_BUF_INIT;
	json_t *tr;
	size_t i;
	int rc;

	env_package(&env, job, cpv);
	env_profile(&env, job);
	bf_buf_addf(&t, "%s/trees/%s/%s/%s/%s.ebuild", jobdir,
	    job_str(job, "repo"), cpv->cat, cpv->pn, cpv->pf);
	var(&env, "EBUILD", t.buf);
	var(&env, "BF_ECLASSDIRS", eclassdirs);
	var(&env, "BF_DEPS", deps);
	bf_buf_reset(&t);
	json_array_foreach(json_object_get(job, "trees"), i, tr)
		bf_buf_addf(&t, "%s%s", i ? " " : "", job_str(tr, "name"));
	var(&env, "BF_REPOS", t.buf);
	bf_buf_reset(&t);
	json_array_foreach(json_object_get(job, "trees"), i, tr)
		bf_buf_addf(&t, "%s%s=%s", i ? " " : "", job_str(tr, "name"),
		    job_str(tr, "commit"));
	var(&env, "BF_REPO_COMMITS", t.buf);
	bf_buf_reset(&t);
	bf_buf_addf(&t, "%s/%s", w->profiles ? w->profiles : "",
	    job_str(json_object_get(job, "env"), "profile"));
	var(&env, "BF_PROFILE_DIR", t.buf);
	var(&env, "BF_JOBDIR", jobdir);
	rc = put_file(jobdir, "env.sh", env.buf, e);
	bf_buf_release(&env);
	bf_buf_release(&t);
	return rc;
}

/* Runs bf-sandbox.sh in the job directory; 0 when it succeeded. */
static int
run_sandbox(struct wk *w, const char *jobdir, int logfd, struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT, home = BF_BUF_INIT;
	char *envp[4];
	pid_t pid;
	int rc, status;

	/* The sandbox driver's environment, made before fork(). */
	bf_buf_addf(&path, "PATH=%s", getenv("PATH") ? getenv("PATH") :
	    "/usr/local/bin:/usr/bin:/bin");
	bf_buf_addf(&home, "HOME=%s", jobdir);
	envp[0] = path.buf;
	envp[1] = home.buf;
	envp[2] = (char *)"LC_ALL=C.UTF-8";
	envp[3] = NULL;
	if ((pid = fork()) < 0) {
		rc = bf_err_errno(e, "fork");
		goto out;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		if (chdir(jobdir) < 0)
			_exit(127);
		/*
		 * A clean environment, as Portage builds in one: the
		 * worker's own (tokens, BINFARM_*, host details) must
		 * not reach the build or its environment.bz2.
		 */
		execle("/bin/bash", "bash", w->sandbox, jobdir,
		    (char *)NULL, envp);
		_exit(127);
	}
	setpgid(pid, pid);
	status = job_wait(w, pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		rc = 0;
	else if (WIFSIGNALED(status))
		rc = bf_err_set(e, EIO, "the %s driver was killed by signal %d",
		    w->driver, WTERMSIG(status));
	else
		rc = bf_err_set(e, EIO, "the %s driver exited with status %d "
		    "(see the log)", w->driver, WEXITSTATUS(status));
out:
	bf_buf_release(&path);
	bf_buf_release(&home);
	return rc;
}

int
build_job(struct wk *w, json_t *job, const char *jobdir, int logfd,
    struct bf_err *e)
{
	struct bf_buf ecl = BF_BUF_INIT, deps = BF_BUF_INIT;
	struct bf_cpv cpv = BF_CPV_INIT;
	int rc;

	if ((rc = bf_cpv_split(&cpv, job_str(job, "cpv"), e)) < 0)
		return rc;
	if ((rc = make_jobdir(job, jobdir, e)) < 0)
		goto out;
	if (strcmp(w->driver, "noop") == 0) {
		rc = noop_build(job, jobdir, &cpv, e);
		goto out;
	}
	if (strcmp(w->driver, "ebuild") == 0) {
		/* driver-ebuild.c: real Portage in a disposable root. */
		if ((rc = fetch_deps(w, job, jobdir, &deps, e)) == 0)
			rc = ebuild_job(w, job, jobdir, &cpv, logfd, e);
		goto out;
	}
	if ((rc = export_trees(w, job, jobdir, &cpv, &ecl, logfd, e)) < 0 ||
	    (rc = fetch_deps(w, job, jobdir, &deps, e)) < 0 ||
	    (rc = write_env(w, job, jobdir, &cpv, ecl.buf, deps.buf, e)) < 0)
		goto out;
	rc = run_sandbox(w, jobdir, logfd, e);
out:
	bf_cpv_release(&cpv);
	bf_buf_release(&ecl);
	bf_buf_release(&deps);
	return rc;
}
