/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the build drivers (build.c, driver-ebuild.c) share: reading the
 * job, writing its directory, waiting for the driver's process.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "worker.h"
#include "base/banned.h"

const char *
job_str(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

void
sh_quote(struct bf_buf *b, const char *s)
{
	bf_buf_addch(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			bf_buf_adds(b, "'\\''");
		else
			bf_buf_addch(b, *s);
	}
	bf_buf_addch(b, '\'');
}

int
write_text(const char *path, const char *text, struct bf_err *e)
{
	int fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0 || bf_write_full(fd, text, strlen(text)) < 0)
		rc = bf_err_errno(e, "cannot write '%s'", path);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
job_wait(struct wk *w, pid_t pid)
{
	int status = 127 << 8;	/* exit 127, should waitpid() fail */

	pthread_mutex_lock(&w->mu);
	w->child = pid;
	pthread_mutex_unlock(&w->mu);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&w->mu);
	w->child = 0;
	pthread_mutex_unlock(&w->mu);
	return status;
}
