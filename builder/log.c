/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging for the daemons (OpenBSD httpd's log.c): stderr with a time
 * stamp in the foreground (-d) or when stderr is a file, else syslog.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/banned.h"

void	log_init(int foreground, const char *prog);
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));


static int log_stderr = 1;
static int log_verbose;

void
log_init(int foreground, const char *prog)
{
	log_stderr = foreground || !isatty(2);
	log_verbose = getenv("BINFARM_DEBUG") != NULL;
	if (!log_stderr)
		openlog(prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void
vlog(int pri, const char *fmt, va_list ap)
{
	char ts[32], raw[2048], msg[sizeof(raw) * 4];
	struct tm tm;
	time_t t;

	/* Names, URLs and gpg's output come from outside: one line each. */
	vsnprintf(raw, sizeof(raw), fmt, ap);
	bf_escape_line(msg, sizeof(msg), raw);
	if (!log_stderr) {
		syslog(pri, "%s", msg);
		return;
	}
	t = time(NULL);
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	flockfile(stderr);
	fprintf(stderr, "%s %s", ts, pri == LOG_WARNING ? "warning: " : "");
	fputs(msg, stderr);
	fputc('\n', stderr);
	funlockfile(stderr);
	fflush(stderr);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}
