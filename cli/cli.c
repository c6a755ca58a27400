/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "cli.h"
#include "base/banned.h"

static void
vmsg(const struct bf_cli *cli, const char *level, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s", cli->progname);
	if (cli->cmdname != NULL)
		fprintf(stderr, " %s", cli->cmdname);
	fprintf(stderr, ": %s", level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
cli_error(const struct bf_cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(cli, "error: ", fmt, ap);
	va_end(ap);
}

void
cli_warn(const struct bf_cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(cli, "warning: ", fmt, ap);
	va_end(ap);
}

void
cli_info(const struct bf_cli *cli, const char *fmt, ...)
{
	va_list ap;

	if (cli->quiet)
		return;
	va_start(ap, fmt);
	vmsg(cli, "", fmt, ap);
	va_end(ap);
}

int
cli_usage(const struct bf_cli *cli, const char *usage)
{
	fprintf(stderr, "usage: %s %s %s\n", cli->progname, cli->cmdname, usage);
	fprintf(stderr, "Try '%s %s --help' or 'man %s-%s'.\n", cli->progname,
	    cli->cmdname, cli->progname, cli->cmdname);
	return BF_EXIT_ERROR;
}

int
cli_help(const struct bf_cli *cli, const char *usage, const char *text)
{
	printf("usage: %s %s %s\n\n%s", cli->progname, cli->cmdname, usage, text);
	return BF_EXIT_OK;
}

int
cli_parse_ll(const struct bf_cli *cli, const char *opt, const char *s,
    long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		cli_error(cli, "%s: '%s' is not a number from %lld to %lld",
		    opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

long long
cli_source_date_epoch(const struct bf_cli *cli)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	if (cli_parse_ll(cli, "SOURCE_DATE_EPOCH", s, 0, 253402300799LL, &v) < 0)
		return -2;
	return v;
}

const char *
cli_mirrors_dir(struct bf_buf *b)
{
	const char *s;

	if ((s = getenv("BINFARM_MIRRORS")) != NULL && *s != '\0')
		return s;
	if ((s = getenv("XDG_CACHE_HOME")) != NULL && *s != '\0')
		bf_buf_addf(b, "%s/binfarm/mirrors", s);
	else
		bf_buf_addf(b, "%s/.cache/binfarm/mirrors",
		    (s = getenv("HOME")) != NULL ? s : ".");
	return b->buf;
}
