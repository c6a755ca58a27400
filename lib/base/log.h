/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_LOG_H
#define BF_LOG_H

/*
 * The daemons' message log, after OpenBSD httpd's log.c: standard error
 * when running in the foreground (-d), syslog(3) otherwise.  The sink is
 * the one process-wide setting lib/ allows; set it in main() with
 * log_init() before any thread starts.  Nothing here exits: a daemon
 * that cannot go on logs and returns from main().
 *
 *   log_warn()   a failure, with ": strerror(errno)" appended
 *   log_warnx()  a failure, as given
 *   log_info()   what an operator wants to see
 *   log_debug()  only with -d or verbose
 */
void	log_init(int foreground, int verbose, const char *ident);
void	log_setverbose(int verbose);
/*
 * With `on`, each line on standard error starts with an ISO 8601 UTC
 * time stamp instead of the ident, and a failure's with "warning: ":
 * for the builder and the worker, whose standard error is their log
 * file.
 */
void	log_stamp(int on);
int	log_getverbose(void);
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
