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
#include "portage/tree.h"
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
	struct upload_job j;	/* the job, its plan entry and rebuild */
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
	upload_job_release(&in->j);
	free(in->worker);
	free(in->lease);
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

/* X-Binfarm-Checksum: sha256:HEX or blake2b:HEX, into in->alg, in->want. */
static int
parse_checksum(struct ingest *in, const char *checksum, struct bf_err *e)
{
	const char *colon;
	size_t hl;

	if (checksum == NULL || (colon = strpbrk(checksum, ":=")) == NULL)
		return bf_err_set(e, BF_EUSAGE, "job %lld: upload without an "
		    "X-Binfarm-Checksum: sha256:HEX or blake2b:HEX header",
		    in->job);
	if (strncasecmp(checksum, "sha256", 6) == 0 && colon == checksum + 6)
		in->alg = BF_SHA256;
	else if (strncasecmp(checksum, "blake2b", 7) == 0 &&
	    colon == checksum + 7)
		in->alg = BF_BLAKE2B;
	else
		return bf_err_set(e, BF_EUSAGE, "job %lld: unsupported checksum "
		    "'%s' (sha256:HEX or blake2b:HEX)", in->job, checksum);
	hl = strlen(colon + 1);
	if (hl != bf_digest_hexlen(in->alg) || hl >= sizeof(in->want))
		return bf_err_set(e, BF_EUSAGE, "job %lld: checksum '%s' has the "
		    "wrong length", in->job, checksum);
	memcpy(in->want, colon + 1, hl + 1);
	return 0;
}

/* The job, which must be running leased to `worker` under `lease`. */
static int
load_job(struct builder *b, struct ingest *in, const char *worker,
    const char *lease, int *http_status, struct bf_err *e)
{
	int rc = db_upload_job(b, in->job, &in->j);

	if (rc == 0) {
		*http_status = 404;
		return bf_err_set(e, BF_ENOTFOUND, "no job %lld", in->job);
	}
	if (rc < 0) {
		*http_status = 500;
		return bf_err_nomem(e);
	}
	if (job_state_parse(in->j.state) != JOB_RUNNING ||
	    in->j.worker == NULL || strcmp(in->j.worker, worker) != 0 ||
	    lease == NULL || in->j.lease == NULL ||
	    strcmp(in->j.lease, lease) != 0) {
		*http_status = 409;
		return bf_err_set(e, BF_ECONFLICT, "job %lld is %s and not "
		    "leased to %s under this lease; upload refused", in->job,
		    in->j.state, worker);
	}
	if ((in->worker = strdup(worker)) == NULL ||
	    (in->lease = strdup(lease)) == NULL) {
		*http_status = 500;
		return bf_err_nomem(e);
	}
	return 0;
}

/* The digests, and <state>/incoming/JOB.LEASE.part to write into. */
static int
open_part(struct builder *b, struct ingest *in, struct bf_err *e)
{
	int rc;

	if ((rc = bf_digest_init(&in->d, BF_DIGEST_BIT(BF_SHA256) |
	    BF_DIGEST_BIT(in->alg), e)) < 0)
		return rc;
	bf_buf_addf(&in->tmp, "%s/incoming/%lld.%s.part", b->cfg.state,
	    in->job, in->lease);
	if ((in->fd = open(in->tmp.buf, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0) {
		rc = bf_err_errno(e, "cannot create '%s'", in->tmp.buf);
		bf_buf_reset(&in->tmp);
		return rc;
	}
	return 0;
}

/* An upload's end in the counters, by its answer (with b->mu held). */
static void
count_upload(struct builder *b, int http_status)
{
	db_counter_add(b, "uploads", "", http_status == 200 ? "ok" :
	    http_status >= 500 ? "error" : "refused", 1);
}

int
ingest_start(struct builder *b, struct ingest **ip, long long job,
    const char *worker, const char *lease, const char *checksum,
    int *http_status, struct bf_err *e)
{
	struct ingest *in;
	int rc;

	*ip = NULL;
	*http_status = 400;
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return bf_err_nomem(e);
	in->fd = -1;
	bf_buf_init(&in->tmp);
	in->job = job;
	if ((rc = parse_checksum(in, checksum, e)) < 0 ||
	    (rc = load_job(b, in, worker, lease, http_status, e)) < 0)
		goto fail;
	if ((rc = open_part(b, in, e)) < 0) {
		*http_status = 500;
		goto fail;
	}
	*ip = in;
	*http_status = 0;
	return 0;
fail:
	count_upload(b, *http_status);
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

/* The USE flags of `words` that are in IUSE, as a sorted set check. */
static int
use_matches(const char *meta_use, const struct farm_spec *spec,
    struct bf_buf *why)
{
	struct bf_strv got = BF_STRV_INIT;
	size_t i;
	int ok = 1;

	bf_strv_split(&got, meta_use);
	for (i = 0; i < spec->iuse.n; i++) {
		const char *f = spec->iuse.v[i];
		int want = bf_strv_find(&spec->use, f) >= 0;
		int have = bf_strv_find(&got, f) >= 0;

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
	struct bf_strv names = BF_STRV_INIT, commits = BF_STRV_INIT;
	const char *repo = in->j.spec.repo, *pin;
	size_t i, k;
	int rc = 0;

	for (i = 0; i < in->j.ntrees; i++)
		bf_buf_addf(&pins, "%s%s=%s", i ? " " : "", in->j.trees[i].name,
		    in->j.trees[i].commit);
	if (!bf_meta_get(m, "REPO_REVISIONS", &got)) {
		rc = bf_err_set(e, BF_EMETADATA, "REPO_REVISIONS is missing: "
		    "the package does not say which trees it was built from "
		    "(the rebuild pins %s)", pins.buf);
		goto out;
	}
	if ((rc = bf_buf_error(&got)) < 0 || (rc = bf_buf_error(&pins)) < 0 ||
	    (rc = bf_repo_revisions_parse(got.buf, &names, &commits)) ==
	    -ENOMEM) {
		rc = bf_err_nomem(e);
		goto out;
	}
	if (rc < 0) {
		rc = bf_err_set(e, BF_EMETADATA, "REPO_REVISIONS is '%s', not a "
		    "JSON object (the rebuild pins %s)", got.buf, pins.buf);
		goto out;
	}
	for (k = 0; k < names.n; k++) {
		pin = NULL;
		for (i = 0; i < in->j.ntrees; i++)
			if (strcmp(in->j.trees[i].name, names.v[k]) == 0)
				pin = in->j.trees[i].commit;
		if (pin == NULL) {
			rc = bf_err_set(e, BF_EMETADATA, "REPO_REVISIONS is "
			    "'%s', the rebuild pins %s: repository '%s' is not "
			    "a tree of the rebuild", got.buf, pins.buf,
			    names.v[k]);
			goto out;
		}
		if (strcmp(commits.v[k], pin) != 0) {
			rc = bf_err_set(e, BF_EMETADATA, "REPO_REVISIONS is "
			    "'%s', the rebuild pins %s: %s is not at the pinned "
			    "commit %s", got.buf, pins.buf, names.v[k], pin);
			goto out;
		}
	}
	if (bf_strv_find(&names, repo) < 0)
		rc = bf_err_set(e, BF_EMETADATA, "REPO_REVISIONS is '%s', the "
		    "rebuild pins %s: the package's repository '%s' is not "
		    "named", got.buf, pins.buf, repo);
out:
	bf_strv_release(&names);
	bf_strv_release(&commits);
	bf_buf_release(&got);
	bf_buf_release(&pins);
	return rc;
}

/* CATEGORY/PF, BUILD_ID and CHOST: the job's package for the profile. */
static int
check_identity(struct ingest *in, const struct bf_meta *m, struct bf_err *e)
{
	struct bf_buf cat = BF_BUF_INIT, pf = BF_BUF_INIT, v = BF_BUF_INIT;
	const char *cpv = in->j.spec.cpv, *chost = in->j.env.chost;
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
	if (!bf_meta_get(m, "CHOST", &v) || strcmp(v.buf, chost) != 0)
		rc = bf_err_set(e, BF_EMETADATA, "CHOST is '%s', the profile "
		    "builds for '%s'", v.buf, chost);
out:
	bf_buf_release(&cat);
	bf_buf_release(&pf);
	bf_buf_release(&v);
	return rc;
}

static int
check_meta(struct ingest *in, const struct bf_meta *m, struct bf_err *e)
{
	struct bf_buf v = BF_BUF_INIT, why = BF_BUF_INIT;
	const struct farm_env *env = &in->j.env;
	int rc;

	if ((rc = check_identity(in, m, e)) < 0)
		return rc;
	bf_meta_get(m, "USE", &v);
	if (!use_matches(v.buf, &in->j.spec, &why)) {
		rc = bf_err_set(e, BF_EMETADATA, "USE differs from the plan: "
		    "%s", why.buf);
		goto out;
	}
	if ((rc = flags_match(m, "CFLAGS", env->cflags, e)) < 0 ||
	    (rc = flags_match(m, "CXXFLAGS", env->cxxflags, e)) < 0 ||
	    (rc = flags_match(m, "LDFLAGS", env->ldflags, e)) < 0)
		goto out;
	/* Portage writes it when the ebuild came from a repository. */
	bf_buf_reset(&v);
	if (bf_meta_get(m, "repository", &v) &&
	    strcmp(v.buf, in->j.spec.repo) != 0) {
		rc = bf_err_set(e, BF_EMETADATA, "repository is '%s', the plan "
		    "builds %s from '%s'", v.buf, in->j.spec.cpv,
		    in->j.spec.repo);
		goto out;
	}
	rc = revisions_match(in, m, e);
out:
	bf_buf_release(&v);
	bf_buf_release(&why);
	return rc;
}

/*
 * The upload as received: its checksum, durable, a valid gpkg whose
 * metadata matches the job.  *reject when the package itself is bad.
 */
static int
verify(struct ingest *in, int *http_status, int *reject, struct bf_err *e)
{
	struct bf_gpkg_verify_result vr;
	int rc;

	if ((rc = bf_digest_final(&in->d, e)) < 0)
		return rc;
	if (strcasecmp(in->d.hex[in->alg], in->want) != 0) {
		*http_status = 400;
		return bf_err_set(e, BF_EDIGEST, "checksum mismatch: the header "
		    "says %s %s, the %llu bytes received have %s",
		    bf_digest_name(in->alg), in->want,
		    (unsigned long long)in->size, in->d.hex[in->alg]);
	}
	if (fsync(in->fd) < 0)
		return bf_err_errno(e, "cannot write '%s'", in->tmp.buf);
	memset(&vr, 0, sizeof(vr));
	if ((rc = bf_gpkg_verify(in->fd, in->tmp.buf, 0, &vr, e)) < 0)
		bf_err_prefix(e, "verification failed");
	else
		rc = check_meta(in, &vr.meta, e);
	bf_gpkg_verify_result_release(&vr);
	*reject = rc < 0;
	return rc;
}

/*
 * Renames the verified upload to <cat>/<pn>/<pf>-<job>.gpkg.tar in the
 * profile's working set; `rel` that path, `dst` the whole one.
 */
static int
place(struct builder *b, struct ingest *in, struct bf_buf *rel,
    struct bf_buf *dst, int *reject, struct bf_err *e)
{
	struct bf_buf dir = BF_BUF_INIT;
	struct bf_cpv cpv = BF_CPV_INIT;
	int rc;

	if ((rc = bf_cpv_split(&cpv, in->j.spec.cpv, e)) < 0) {
		*reject = 1;
		goto out;
	}
	bf_buf_addf(rel, "%s/%s/%s-%lld.gpkg.tar", cpv.cat, cpv.pn, cpv.pf,
	    in->job);
	bf_buf_addf(&dir, "%s/pkgdir/%s/%s/%s", b->cfg.state, in->j.profile,
	    cpv.cat, cpv.pn);
	bf_buf_addf(dst, "%s/pkgdir/%s/%s", b->cfg.state, in->j.profile,
	    rel->buf);
	if ((rc = mkdirs(dir.buf, e)) < 0)
		goto out;
	if (rename(in->tmp.buf, dst->buf) < 0) {
		rc = bf_err_errno(e, "cannot rename into '%s'", dst->buf);
		goto out;
	}
	bf_buf_reset(&in->tmp);
	rc = bf_fsync_dir(AT_FDCWD, dst->buf, e);
out:
	bf_cpv_release(&cpv);
	bf_buf_release(&dir);
	return rc;
}

/* A refused upload: logged; a bad package fails the attempt. b->mu held. */
static void
refused(struct builder *b, struct ingest *in, int reject, int *http_status,
    int rc, struct bf_err *e)
{
	struct bf_buf why = BF_BUF_INIT;

	log_warnx("job %lld: upload from %s rejected: %s", in->job,
	    in->worker, bf_err_msg(e, rc));
	job_log(b, in->job, "upload rejected: %s", bf_err_msg(e, rc));
	bf_buf_addf(&why, "upload rejected: %s", bf_err_msg(e, rc));
	if (reject) {
		*http_status = 422;
		sched_fail(b, in->job, in->worker, in->lease, why.buf, 1);
	} else if (*http_status == 400)
		db_job_set_error(b, in->job, why.buf);
	bf_buf_release(&why);
}

int
ingest_finish(struct builder *b, struct ingest *in, int *http_status,
    struct bf_err *e)
{
	struct bf_buf rel = BF_BUF_INIT, dst = BF_BUF_INIT;
	uint64_t t0 = mono_ns();
	int rc, reject = 0;

	*http_status = 500;
	if ((rc = verify(in, http_status, &reject, e)) == 0 &&
	    (rc = place(b, in, &rel, &dst, &reject, e)) == 0) {
		pthread_mutex_lock(&b->mu);
		rc = sched_done(b, in->job, rel.buf, in->d.hex[BF_SHA256],
		    (long long)in->size);
		b->ingest_ns += mono_ns() - t0;
		b->ingested++;
		if (rc == 0)
			count_upload(b, 200);
		pthread_mutex_unlock(&b->mu);
		if (rc < 0) {
			unlink(dst.buf);
			*http_status = 409;
			rc = bf_err_set(e, BF_ECONFLICT, "job %lld is no longer "
			    "leased to %s; upload dropped", in->job, in->worker);
		} else
			*http_status = 200;
	}
	if (rc < 0) {
		pthread_mutex_lock(&b->mu);
		refused(b, in, reject, http_status, rc, e);
		count_upload(b, *http_status);
		pthread_mutex_unlock(&b->mu);
	}
	bf_buf_release(&rel);
	bf_buf_release(&dst);
	return rc < 0 ? rc : 0;
}
