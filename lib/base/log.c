/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/banned.h"

/*
 * Set once in main() before threads start, read afterwards: the one
 * piece of process-wide state lib/ keeps (style.md, rule 13).
 */
static int log_foreground = 1;
static int log_verbose;
static int log_stamped;
static const char *log_ident = "binfarm";

void
log_init(int foreground, int verbose, const char *ident)
{
	log_foreground = foreground;
	log_verbose = verbose;
	if (ident != NULL)
		log_ident = ident;
	if (!foreground)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

void
log_stamp(int on)
{
	log_stamped = on;
}

int
log_getverbose(void)
{
	return log_verbose;
}

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char ts[32], raw[2048], msg[sizeof(raw) * 4];
	struct tm tm;
	time_t t;
	size_t n;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	if (suffix != NULL) {
		n = strlen(raw);
		snprintf(raw + n, sizeof(raw) - n, ": %s", suffix);
	}
	bf_escape_line(msg, sizeof(msg), raw);
	if (log_foreground && log_stamped) {
		t = time(NULL);
		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(stderr, "%s %s%s\n", ts,
		    pri <= LOG_WARNING ? "warning: " : "", msg);
		fflush(stderr);
	} else if (log_foreground) {
		/* One fprintf per line: stdio locks the stream. */
		fprintf(stderr, "%s: %s\n", log_ident, msg);
		fflush(stderr);
	} else
		syslog(pri, "%s", msg);
}

void
log_warn(const char *fmt, ...)
{
	char eb[256];
	int saved = errno;
	va_list ap;

	/* GNU strerror_r returns the string, XSI fills the buffer. */
#if defined(_GNU_SOURCE)
	const char *es = strerror_r(saved, eb, sizeof(eb));
#else
	const char *es = strerror_r(saved, eb, sizeof(eb)) == 0 ? eb : "error";
#endif
	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, es);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}
