/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ingest: an upload is streamed into <state>/incoming/, hashed on the
 * way, then verified (the checksum the worker sent, every check of
 * bf_gpkg_verify(), and metadata matching the job: CATEGORY/PF, BUILD_ID,
 * CHOST, USE, the machine flags of CFLAGS/CXXFLAGS/LDFLAGS, repository
 * and REPO_REVISIONS) before it is renamed into the profile's working set,
 * <state>/pkgdir/<profile>/<cat>/<pn>/<pf>-<build_id>.gpkg.tar, and the
 * job is marked done in one transaction.  Nothing unverified is ever
 * placed there.
 *
 * When a rebuild completes, publish.c takes its packages to the
 * repository.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "portage/atom.h"
#include "base/buf.h"
#include "base/digest.h"
#include "base/err.h"
#include "format/gpkg.h"
#include "base/lockfile.h"
#include "format/meta.h"
#include "format/pkgdir.h"
#include "format/pkgindex.h"
#include "store/promote.h"
#include "store/recover.h"
#include "store/repo.h"
#include "builder.h"
#include "base/banned.h"

struct ingest {
	long long	 job;
	char		*worker;
	char		*lease;
	char		*profile;
	json_t		*spec;
	json_t		*env;
	json_t		*trees;		/* the rebuild's pins [{name, commit}] */
	int		 alg;		/* BF_SHA256 or BF_BLAKE2B */
	char		 want[BF_DIGEST_HEXMAX];
	struct bf_digest d;
	int		 fd;
	struct bf_buf	 tmp;
	uint64_t	 size;
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
mkdirs(const char *path, struct bf_err *e)
{
	struct bf_buf b = BF_BUF_INIT;
	size_t i;
	int rc = 0;

	/* Usually there already, or only the last one is new: one call. */
	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return 0;
	bf_buf_adds(&b, path);
	for (i = 1; i <= b.len && rc == 0; i++) {
		if (b.buf[i] != '/' && b.buf[i] != '\0')
			continue;
		b.buf[i] = '\0';
		if (mkdir(b.buf, 0755) < 0 && errno != EEXIST)
			rc = bf_err_errno(e, "cannot create '%s'", b.buf);
		if (i < b.len)
			b.buf[i] = '/';
	}
	bf_buf_release(&b);
	return rc;
}

void
ingest_free(struct ingest *in)
{
	if (in == NULL)
		return;
	if (in->fd >= 0)
		close(in->fd);
	if (in->tmp.len)
		unlink(in->tmp.buf);
	bf_buf_release(&in->tmp);
	bf_digest_release(&in->d);
	json_decref(in->spec);
	json_decref(in->env);
	json_decref(in->trees);
	free(in->worker);
	free(in->lease);
	free(in->profile);
	free(in);
}

void
ingest_cleanup(struct builder *b)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_buf p = BF_BUF_INIT;
	struct dirent *de;
	DIR *d;
	int dfd;

	/* Partial uploads of a killed builder: the workers upload again. */
	bf_buf_addf(&p, "%s/incoming", b->cfg.state);
	if (mkdirs(p.buf, &e) < 0)
		log_warnx("%s", bf_err_msg(&e, -EIO));
	if ((dfd = open(p.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0 &&
	    (d = fdopendir(dfd)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.' &&
			    unlinkat(dfd, de->d_name, 0) == 0)
				log_info("removed the partial upload '%s'",
				    de->d_name);
		closedir(d);
	} else if (dfd >= 0)
		close(dfd);
	bf_buf_release(&p);
}

int
ingest_start(struct builder *b, struct ingest **ip, long long job,
    const char *worker, const char *lease, const char *checksum,
    int *http_status, struct bf_err *e)
{
	struct ingest *in;
	sqlite3_stmt *st;
	const char *colon;
	size_t hl;
	int rc;

	*ip = NULL;
	*http_status = 400;
	if (checksum == NULL || (colon = strpbrk(checksum, ":=")) == NULL)
		return bf_err_set(e, BF_EUSAGE, "job %lld: upload without an "
		    "X-Binfarm-Checksum: sha256:HEX or blake2b:HEX header", job);
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return bf_err_nomem(e);
	in->fd = -1;
	bf_buf_init(&in->tmp);
	in->job = job;
	if (strncasecmp(checksum, "sha256", 6) == 0 && colon == checksum + 6)
		in->alg = BF_SHA256;
	else if (strncasecmp(checksum, "blake2b", 7) == 0 &&
	    colon == checksum + 7)
		in->alg = BF_BLAKE2B;
	else {
		rc = bf_err_set(e, BF_EUSAGE, "job %lld: unsupported checksum "
		    "'%s' (sha256:HEX or blake2b:HEX)", job, checksum);
		goto fail;
	}
	hl = strlen(colon + 1);
	if (hl != bf_digest_hexlen(in->alg) || hl >= sizeof(in->want)) {
		rc = bf_err_set(e, BF_EUSAGE, "job %lld: checksum '%s' has the "
		    "wrong length", job, checksum);
		goto fail;
	}
	memcpy(in->want, colon + 1, hl + 1);
	st = db_prep(b, "SELECT j.state, j.worker, j.lease, j.spec, r.env, "
	    "j.profile, r.trees FROM jobs j JOIN rebuilds r ON r.id = "
	    "j.rebuild WHERE j.id = ?");
	sqlite3_bind_int64(st, 1, job);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		*http_status = 404;
		rc = bf_err_set(e, BF_ENOTFOUND, "no job %lld", job);
		goto fail;
	}
	if (job_state_parse((const char *)sqlite3_column_text(st, 0)) !=
	    JOB_RUNNING ||
	    sqlite3_column_type(st, 1) == SQLITE_NULL ||
	    strcmp((const char *)sqlite3_column_text(st, 1), worker) != 0 ||
	    lease == NULL ||
	    strcmp((const char *)sqlite3_column_text(st, 2), lease) != 0) {
		*http_status = 409;
		rc = bf_err_set(e, BF_ECONFLICT, "job %lld is %s and not leased "
		    "to %s under this lease; upload refused", job,
		    sqlite3_column_text(st, 0), worker);
		sqlite3_finalize(st);
		goto fail;
	}
	in->spec = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);
	in->env = json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
	in->profile = strdup((const char *)sqlite3_column_text(st, 5));
	in->trees = json_loads((const char *)sqlite3_column_text(st, 6), 0,
	    NULL);
	sqlite3_finalize(st);
	in->worker = strdup(worker);
	in->lease = strdup(lease);
	if (in->spec == NULL || in->env == NULL || in->profile == NULL ||
	    in->trees == NULL || in->worker == NULL || in->lease == NULL) {
		*http_status = 500;
		rc = bf_err_nomem(e);
		goto fail;
	}
	if ((rc = bf_digest_init(&in->d, BF_DIGEST_BIT(BF_SHA256) |
	    BF_DIGEST_BIT(in->alg), e)) < 0) {
		*http_status = 500;
		goto fail;
	}
	bf_buf_addf(&in->tmp, "%s/incoming/%lld.%s.part", b->cfg.state, job,
	    lease);
	if ((in->fd = open(in->tmp.buf, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0) {
		*http_status = 500;
		rc = bf_err_errno(e, "cannot create '%s'", in->tmp.buf);
		bf_buf_reset(&in->tmp);
		goto fail;
	}
	*ip = in;
	*http_status = 0;
	return 0;
fail:
	ingest_free(in);
	return rc;
}

int
ingest_data(struct ingest *in, const char *data, size_t n, struct bf_err *e)
{
	int rc;

	if ((rc = bf_digest_update(&in->d, data, n, e)) < 0)
		return rc;
	if (bf_write_full(in->fd, data, n) < 0)
		return bf_err_errno(e, "cannot write '%s'", in->tmp.buf);
	in->size += n;
	return 0;
}

/* A string member of a JSON object, or "" (the builder's own JSON). */
static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* The USE flags of `words` that are in IUSE, as a sorted set check. */
static int
use_matches(const char *meta_use, json_t *spec, struct bf_buf *why)
{
	struct bf_strv got = BF_STRV_INIT;
	json_t *iuse = json_object_get(spec, "iuse");
	json_t *use = json_object_get(spec, "use");
	size_t i, j;
	json_t *v;
	int ok = 1;

	bf_strv_split(&got, meta_use);
	json_array_foreach(iuse, i, v) {
		const char *f = json_string_value(v);
		int want = 0, have = bf_strv_find(&got, f) >= 0;
		json_t *u;

		json_array_foreach(use, j, u)
			if (strcmp(json_string_value(u), f) == 0)
				want = 1;
		if (want != have) {
			bf_buf_addf(why, "%s%s%s", ok ? "" : " ", want ? "-" : "+",
			    f);
			ok = 0;
		}
	}
	bf_strv_release(&got);
	return ok;
}

/*
 * The options of a compiler or linker command line that choose the
 * instruction set, the CPU tuned for or the ABI: a package built with
 * others than the plan's may not run on the profile's machines (or not
 * as planned), whatever else an ebuild changes.
 */
static const char *const machine_opts[] = {
	"-march=", "-mtune=", "-mcpu=", "-mabi=", "-mfpu=", "-mfloat-abi=",
	NULL
};

/* The machine options of the words of `flags`, in order, space separated. */
static void
machine_words(const char *flags, struct bf_buf *out)
{
	struct bf_strv w = BF_STRV_INIT;
	size_t i, k;

	bf_strv_split(&w, flags);
	for (i = 0; i < w.n; i++)
		for (k = 0; machine_opts[k] != NULL; k++)
			if (strncmp(w.v[i], machine_opts[k],
			    strlen(machine_opts[k])) == 0) {
				bf_buf_addf(out, "%s%s", out->len ? " " : "",
				    w.v[i]);
				break;
			}
	bf_strv_release(&w);
}

/*
 * CFLAGS, CXXFLAGS, LDFLAGS: as Portage writes them (__dyn_install: the
 * words of the final value, only when not empty) they carry what the
 * ebuild did to them with flag-o-matic (append-flags, filter-flags,
 * replace-flags, filter-lto, ...), so they are not compared word for
 * word with the plan's.  The machine options (machine_opts) must be the
 * plan's, the same words in the same order: none dropped, none added,
 * none replaced.
 */
static int
flags_match(const struct bf_meta *m, const char *key, const char *plan,
    struct bf_err *e)
{
	struct bf_buf got = BF_BUF_INIT, mg = BF_BUF_INIT, mp = BF_BUF_INIT;
	int rc = 0, have;

	have = bf_meta_get(m, key, &got);
	machine_words(got.buf, &mg);
	machine_words(plan, &mp);
	if ((rc = bf_buf_error(&got)) < 0 || (rc = bf_buf_error(&mg)) < 0 ||
	    (rc = bf_buf_error(&mp)) < 0)
		rc = bf_err_nomem(e);
	else if (strcmp(mg.buf, mp.buf) != 0)
		rc = bf_err_set(e, BF_EMETADATA, "%s is %s%s%s, the plan's is "
		    "'%s': the machine flags are %s%s%s where the plan has "
		    "%s%s%s", key, have ? "'" : "", have ? got.buf : "not set",
		    have ? "'" : "", plan,
		    mg.len ? "'" : "", mg.len ? mg.buf : "none",
		    mg.len ? "'" : "", mp.len ? "'" : "",
		    mp.len ? mp.buf : "none", mp.len ? "'" : "");
	bf_buf_release(&got);
	bf_buf_release(&mg);
	bf_buf_release(&mp);
	return rc;
}

/*
 * REPO_REVISIONS, as Portage's EbuildPhase writes it: a JSON object with
 * the commit of the package's repository and of the repositories of its
 * eclasses.  Required: every repository it names is a tree the rebuild
 * pins, at the pinned commit, and the package's own repository is named.
 */
static int
revisions_match(struct ingest *in, const struct bf_meta *m, struct bf_err *e)
{
	struct bf_buf got = BF_BUF_INIT, pins = BF_BUF_INIT;
	const char *repo = jstr(in->spec, "repo");
	const char *k, *pin;
	json_t *revs = NULL, *v, *t;
	size_t i;
	int rc = 0;

	json_array_foreach(in->trees, i, t)
		bf_buf_addf(&pins, "%s%s=%s", i ? " " : "", jstr(t, "name"),
		    jstr(t, "commit"));
	if (!bf_meta_get(m, "REPO_REVISIONS", &got)) {
		rc = bf_err_set(e, BF_EMETADATA, "REPO_REVISIONS is missing: "
		    "the package does not say which trees it was built from "
		    "(the rebuild pins %s)", pins.buf);
		goto out;
	}
	if ((rc = bf_buf_error(&got)) < 0 || (rc = bf_buf_error(&pins)) < 0) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if ((revs = json_loads(got.buf, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL || !json_is_object(revs)) {
		rc = bf_err_set(e, BF_EMETADATA, "REPO_REVISIONS is '%s', not a "
		    "JSON object (the rebuild pins %s)", got.buf, pins.buf);
		goto out;
	}
	json_object_foreach(revs, k, v) {
		pin = NULL;
		json_array_foreach(in->trees, i, t)
			if (strcmp(jstr(t, "name"), k) == 0)
				pin = jstr(t, "commit");
		if (pin == NULL) {
			rc = bf_err_set(e, BF_EMETADATA, "REPO_REVISIONS is "
			    "'%s', the rebuild pins %s: repository '%s' is not "
			    "a tree of the rebuild", got.buf, pins.buf, k);
			goto out;
		}
		if (!json_is_string(v) || strcmp(json_string_value(v), pin)
		    != 0) {
			rc = bf_err_set(e, BF_EMETADATA, "REPO_REVISIONS is "
			    "'%s', the rebuild pins %s: %s is not at the pinned "
			    "commit %s", got.buf, pins.buf, k, pin);
			goto out;
		}
	}
	if (json_object_get(revs, repo) == NULL)
		rc = bf_err_set(e, BF_EMETADATA, "REPO_REVISIONS is '%s', the "
		    "rebuild pins %s: the package's repository '%s' is not "
		    "named", got.buf, pins.buf, repo);
out:
	json_decref(revs);
	bf_buf_release(&got);
	bf_buf_release(&pins);
	return rc;
}

static int
check_meta(struct ingest *in, const struct bf_meta *m, struct bf_err *e)
{
	struct bf_buf cat = BF_BUF_INIT, pf = BF_BUF_INIT, v = BF_BUF_INIT,
	    why = BF_BUF_INIT;
	const char *cpv = json_string_value(json_object_get(in->spec, "cpv"));
	const char *chost = json_string_value(json_object_get(in->env,
	    "chost"));
	int rc = 0;

	bf_meta_get(m, "CATEGORY", &cat);
	bf_meta_get(m, "PF", &pf);
	bf_buf_addf(&v, "%s/%s", cat.buf, pf.buf);
	if (strcmp(v.buf, cpv) != 0) {
		rc = bf_err_set(e, BF_EMETADATA, "package is %s, but job %lld "
		    "builds %s", v.buf, in->job, cpv);
		goto out;
	}
	bf_buf_reset(&v);
	if (!bf_meta_get(m, "BUILD_ID", &v) ||
	    strtoll(v.buf, NULL, 10) != in->job) {
		rc = bf_err_set(e, BF_EMETADATA, "BUILD_ID is '%s', expected "
		    "%lld", v.buf, in->job);
		goto out;
	}
	bf_buf_reset(&v);
	if (!bf_meta_get(m, "CHOST", &v) || strcmp(v.buf, chost) != 0) {
		rc = bf_err_set(e, BF_EMETADATA, "CHOST is '%s', the profile "
		    "builds for '%s'", v.buf, chost);
		goto out;
	}
	bf_buf_reset(&v);
	bf_meta_get(m, "USE", &v);
	if (!use_matches(v.buf, in->spec, &why)) {
		rc = bf_err_set(e, BF_EMETADATA, "USE differs from the plan: "
		    "%s", why.buf);
		goto out;
	}
	if ((rc = flags_match(m, "CFLAGS", jstr(in->env, "cflags"), e)) < 0 ||
	    (rc = flags_match(m, "CXXFLAGS", jstr(in->env, "cxxflags"), e)) < 0 ||
	    (rc = flags_match(m, "LDFLAGS", jstr(in->env, "ldflags"), e)) < 0)
		goto out;
	/* Portage writes it when the ebuild came from a repository. */
	bf_buf_reset(&v);
	if (bf_meta_get(m, "repository", &v) &&
	    strcmp(v.buf, jstr(in->spec, "repo")) != 0) {
		rc = bf_err_set(e, BF_EMETADATA, "repository is '%s', the plan "
		    "builds %s from '%s'", v.buf, cpv, jstr(in->spec, "repo"));
		goto out;
	}
	rc = revisions_match(in, m, e);
out:
	bf_buf_release(&cat);
	bf_buf_release(&pf);
	bf_buf_release(&v);
	bf_buf_release(&why);
	return rc;
}

int
ingest_finish(struct builder *b, struct ingest *in, int *http_status,
    struct bf_err *e)
{
	struct bf_gpkg_verify_result vr;
	struct bf_buf rel = BF_BUF_INIT, dst = BF_BUF_INIT, dir = BF_BUF_INIT;
	struct bf_cpv cpv = BF_CPV_INIT;
	uint64_t t0 = mono_ns();
	int rc, reject = 0;
	char sha[BF_DIGEST_HEXMAX];

	memset(&vr, 0, sizeof(vr));
	*http_status = 500;
	if ((rc = bf_digest_final(&in->d, e)) < 0)
		goto out;
	snprintf(sha, sizeof(sha), "%s", in->d.hex[BF_SHA256]);
	if (strcasecmp(in->d.hex[in->alg], in->want) != 0) {
		*http_status = 400;
		rc = bf_err_set(e, BF_EDIGEST, "checksum mismatch: the header "
		    "says %s %s, the %llu bytes received have %s",
		    bf_digest_name(in->alg), in->want,
		    (unsigned long long)in->size, in->d.hex[in->alg]);
		goto out;
	}
	if (fsync(in->fd) < 0) {
		rc = bf_err_errno(e, "cannot write '%s'", in->tmp.buf);
		goto out;
	}
	if ((rc = bf_gpkg_verify(in->fd, in->tmp.buf, 0, &vr, e)) < 0) {
		bf_err_prefix(e, "verification failed");
		reject = 1;
		goto out;
	}
	if ((rc = check_meta(in, &vr.meta, e)) < 0) {
		reject = 1;
		goto out;
	}
	if ((rc = bf_cpv_split(&cpv, json_string_value(json_object_get(
	    in->spec, "cpv")), e)) < 0) {
		reject = 1;
		goto out;
	}
	bf_buf_addf(&rel, "%s/%s/%s-%lld.gpkg.tar", cpv.cat, cpv.pn, cpv.pf,
	    in->job);
	bf_buf_addf(&dir, "%s/pkgdir/%s/%s/%s", b->cfg.state, in->profile,
	    cpv.cat, cpv.pn);
	bf_buf_addf(&dst, "%s/pkgdir/%s/%s", b->cfg.state, in->profile,
	    rel.buf);
	if ((rc = mkdirs(dir.buf, e)) < 0)
		goto out;
	if (rename(in->tmp.buf, dst.buf) < 0) {
		rc = bf_err_errno(e, "cannot rename into '%s'", dst.buf);
		goto out;
	}
	bf_buf_reset(&in->tmp);
	if ((rc = bf_fsync_dir(AT_FDCWD, dst.buf, e)) < 0)
		goto out;
	pthread_mutex_lock(&b->mu);
	rc = sched_done(b, in->job, rel.buf, sha, (long long)in->size);
	b->ingest_ns += mono_ns() - t0;
	b->ingested++;
	pthread_mutex_unlock(&b->mu);
	if (rc < 0) {
		unlink(dst.buf);
		*http_status = 409;
		rc = bf_err_set(e, BF_ECONFLICT, "job %lld is no longer leased "
		    "to %s; upload dropped", in->job, in->worker);
		goto out;
	}
	*http_status = 200;
	rc = 0;
out:
	if (rc < 0) {
		pthread_mutex_lock(&b->mu);
		log_warnx("job %lld: upload from %s rejected: %s", in->job,
		    in->worker, bf_err_msg(e, rc));
		job_log(b, in->job, "upload rejected: %s", bf_err_msg(e, rc));
		if (reject) {
			struct bf_buf why = BF_BUF_INIT;

			*http_status = 422;
			bf_buf_addf(&why, "upload rejected: %s",
			    bf_err_msg(e, rc));
			sched_fail(b, in->job, in->worker, in->lease, why.buf, 1);
			bf_buf_release(&why);
		} else if (*http_status == 400) {
			sqlite3_stmt *st = db_prep(b, "UPDATE jobs SET error=? "
			    "WHERE id=? AND state='running'");
			struct bf_buf why = BF_BUF_INIT;

			bf_buf_addf(&why, "upload rejected: %s",
			    bf_err_msg(e, rc));
			sqlite3_bind_text(st, 1, why.buf, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 2, in->job);
			sqlite3_step(st);
			sqlite3_finalize(st);
			bf_buf_release(&why);
		}
		pthread_mutex_unlock(&b->mu);
	}
	bf_gpkg_verify_result_release(&vr);
	bf_cpv_release(&cpv);
	bf_buf_release(&rel);
	bf_buf_release(&dst);
	bf_buf_release(&dir);
	return rc;
}
