/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Packs a finished build (image/ and build-info/ of the job directory)
 * with bf_gpkg_pack() and uploads it to the builder with its SHA-256,
 * retrying with backoff when the builder is away or the bytes arrived
 * damaged.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/digest.h"
#include "base/err.h"
#include "format/gpkg.h"
#include "base/log.h"
#include "worker.h"
#include "base/banned.h"

static void	say(int logfd, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

static void
say(int logfd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdprintf(logfd, fmt, ap);
	va_end(ap);
}

/* Packs image/ and build-info/ into jobdir/package.gpkg.tar; *fd is open
 * on it and `d` its SHA-256. */
static int
pack(json_t *job, const char *jobdir, int logfd, int *fd,
    struct bf_digest *d, struct bf_err *e)
{
	struct bf_gpkg_pack_opts po;
	struct bf_gpkg_pack_result pr;
	struct bf_buf img = BF_BUF_INIT, bi = BF_BUF_INIT, out = BF_BUF_INIT;
	const char *tamper = getenv("BINFARM_WORKER_TAMPER");
	int rc;

	bf_buf_addf(&img, "%s/image", jobdir);
	bf_buf_addf(&bi, "%s/build-info", jobdir);
	bf_buf_addf(&out, "%s/package.gpkg.tar", jobdir);
	if ((*fd = open(out.buf, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0) {
		rc = bf_err_errno(e, "cannot create '%s'", out.buf);
		goto out;
	}
	memset(&po, 0, sizeof(po));
	po.level = 3;
	po.threads = 1;
	po.build_id = json_integer_value(json_object_get(job, "job"));
	po.mtime = -1;
	if ((rc = bf_gpkg_pack(img.buf, bi.buf, *fd, &po, &pr, e)) < 0) {
		bf_err_prefix(e, "cannot pack");
		goto out;
	}
	/* Tests: a hook that damages the package after packing. */
	if (tamper != NULL && *tamper != '\0') {
		struct bf_buf cmd = BF_BUF_INIT;

		bf_buf_addf(&cmd, "%s '%s'", tamper, out.buf);
		if (system(cmd.buf) != 0)
			say(logfd, "binfarm-worker: tamper hook failed\n");
		bf_buf_release(&cmd);
		close(*fd);
		if ((*fd = open(out.buf, O_RDONLY | O_CLOEXEC)) < 0) {
			rc = bf_err_errno(e, "cannot open '%s'", out.buf);
			goto out;
		}
	}
	if ((rc = bf_digest_fd(d, BF_DIGEST_BIT(BF_SHA256), *fd, 0, -1,
	    e)) < 0)
		goto out;
	say(logfd, "binfarm-worker: packed %s (%llu bytes), uploading\n",
	    pr.basename, (unsigned long long)pr.file_bytes);
out:
	bf_buf_release(&img);
	bf_buf_release(&bi);
	bf_buf_release(&out);
	return rc;
}

/* PUTs the package (fd), five times at the most, with backoff. */
static int
send_package(struct wk *w, json_t *job, int fd, const struct bf_digest *d,
    int logfd, struct bf_err *e)
{
	struct bf_buf path = BF_BUF_INIT, h1 = BF_BUF_INIT, h2 = BF_BUF_INIT,
	    h3 = BF_BUF_INIT;
	struct bf_http_req rq = BF_HTTP_REQ_INIT;
	struct bf_http_resp resp;
	const char *hdrs[4];
	long long id = json_integer_value(json_object_get(job, "job"));
	int rc, attempt, delay = 1;

	bf_http_resp_init(&resp);
	bf_buf_addf(&h1, "X-Binfarm-Checksum: sha256:%s",
	    getenv("BINFARM_WORKER_BAD_CHECKSUM") ?
	    "0000000000000000000000000000000000000000000000000000000000000000" :
	    d->hex[BF_SHA256]);
	bf_buf_addf(&h2, "X-Binfarm-Worker: %s", w->name);
	bf_buf_addf(&h3, "X-Binfarm-Lease: %s",
	    json_string_value(json_object_get(job, "lease")));
	hdrs[0] = h1.buf;
	hdrs[1] = h2.buf;
	hdrs[2] = h3.buf;
	hdrs[3] = NULL;
	bf_buf_addf(&path, "/v1/jobs/%lld/package", id);
	for (attempt = 1; attempt <= 5; attempt++) {
		struct bf_err ue = BF_ERR_INIT;

		rq.method = "PUT";
		rq.path = path.buf;
		rq.bearer = w->token;
		rq.content_type = "application/x-tar";
		rq.headers = hdrs;
		rq.body_fd = fd;
		rq.timeout_ms = 120000;
		rq.conn = &w->conn;
		rc = bf_http_request(&w->url, &rq, &resp, &ue);
		if (rc == 0 && resp.status == 200) {
			say(logfd, "binfarm-worker: upload accepted\n");
			goto out;
		}
		if (rc == 0 && (resp.status == 409 || resp.status == 422 ||
		    resp.status == 401 || resp.status == 403 ||
		    resp.status == 404)) {
			rc = bf_err_set(e, BF_ECONFLICT, "upload refused (HTTP "
			    "%d): %s", resp.status, resp.body.buf);
			say(logfd, "binfarm-worker: %s\n", e->msg);
			goto out;
		}
		if (rc == 0)
			bf_err_set(&ue, EIO, "HTTP %d: %s", resp.status,
			    resp.body.buf);
		say(logfd, "binfarm-worker: upload failed: %s; retrying\n",
		    bf_err_msg(&ue, rc ? rc : -EIO));
		log_warnx("job %lld: upload attempt %d failed: %s; retrying in "
		    "%d s", id, attempt, bf_err_msg(&ue, rc ? rc : -EIO), delay);
		sleep((unsigned)delay);
		delay *= 2;
		wk_refresh_url(w);
	}
	rc = bf_err_set(e, EIO, "upload failed 5 times; giving up");
out:
	bf_http_resp_release(&resp);
	bf_buf_release(&path);
	bf_buf_release(&h1);
	bf_buf_release(&h2);
	bf_buf_release(&h3);
	return rc;
}

int
upload_job(struct wk *w, json_t *job, const char *jobdir, int logfd,
    struct bf_err *e)
{
	struct bf_digest d;
	int fd = -1, rc;

	if ((rc = pack(job, jobdir, logfd, &fd, &d, e)) == 0)
		rc = send_package(w, job, fd, &d, logfd, e);
	if (fd >= 0)
		close(fd);
	return rc;
}
