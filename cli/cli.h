/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_CLI_H
#define BF_CLI_H

#include <stdio.h>

struct bf_err;

/*
 * The binfarm command-line front end: one cmd_<name>() per subcommand
 * file (cli/cmd-<name>.c), listed in cli/binfarm.c's commands[].
 * Exit codes: 0 success, 1 the operation found a problem (a package
 * failed verification, an index differs, a rebuild failed), 2 usage or
 * system error, 3 a wait ran out of time (rebuild --wait --timeout).
 */
#define BF_EXIT_OK	0
#define BF_EXIT_FAIL	1
#define BF_EXIT_ERROR	2
#define BF_EXIT_TIMEOUT	3

struct bf_cli {
	const char	*progname;	/* "binfarm" */
	const char	*cmdname;	/* "pack" */
	int		 verbose;
	int		 quiet;
	int		 tty;		/* stderr is a terminal: progress output */
};

typedef int (*bf_cmd_fn)(struct bf_cli *cli, int argc, char **argv);

struct bf_cmd {
	const char	*name;
	bf_cmd_fn	 fn;
	const char	*summary;
};

void	cli_error(const struct bf_cli *cli, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	cli_warn(const struct bf_cli *cli, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	cli_info(const struct bf_cli *cli, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Prints "usage: binfarm <cmd> <usage>" to stderr and returns BF_EXIT_ERROR. */
int	cli_usage(const struct bf_cli *cli, const char *usage);
/* Prints usage to stdout for --help; returns BF_EXIT_OK. */
int	cli_help(const struct bf_cli *cli, const char *usage, const char *text);
/* Parses a decimal in [min, max]; returns 0 or -1 after printing an error. */
int	cli_parse_ll(const struct bf_cli *cli, const char *opt, const char *s,
	    long long min, long long max, long long *out);
/*
 * The default directory of the git mirrors (binfarm-tree(1)):
 * $BINFARM_MIRRORS, else $XDG_CACHE_HOME/binfarm/mirrors, else
 * ~/.cache/binfarm/mirrors (made in `b` when needed).
 */
struct bf_buf;
const char *cli_mirrors_dir(struct bf_buf *b);
/* SOURCE_DATE_EPOCH from the environment, or -1; -2 if it is invalid. */
long long cli_source_date_epoch(const struct bf_cli *cli);

int	cmd_pack(struct bf_cli *cli, int argc, char **argv);
int	cmd_verify(struct bf_cli *cli, int argc, char **argv);
int	cmd_inspect(struct bf_cli *cli, int argc, char **argv);
int	cmd_tree(struct bf_cli *cli, int argc, char **argv);
int	cmd_plan(struct bf_cli *cli, int argc, char **argv);
int	cmd_index(struct bf_cli *cli, int argc, char **argv);
int	cmd_rebuild(struct bf_cli *cli, int argc, char **argv);
int	cmd_status(struct bf_cli *cli, int argc, char **argv);
int	cmd_log(struct bf_cli *cli, int argc, char **argv);
int	cmd_retry(struct bf_cli *cli, int argc, char **argv);
int	cmd_cancel(struct bf_cli *cli, int argc, char **argv);

#endif
