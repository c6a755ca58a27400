/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_CLI_JSON_H
#define BF_CLI_JSON_H

#include <jansson.h>

#include "cli.h"

struct bf_diff;

/*
 * The --json output the commands share (json.c), one shape for all:
 * an object whose lists are arrays of objects, snake_case keys, numbers
 * as JSON numbers, an absent value as null, and each time twice: KEY in
 * unix seconds and KEY_utc as "YYYY-MM-DDTHH:MM:SSZ".  The JSON goes
 * to standard output, alone; messages stay on standard error, and the
 * exit status is the one the command has without --json.
 */

/*
 * Prints `j` (NULL: out of memory) to standard output, indented, with
 * a final newline, and drops it; BF_EXIT_OK or BF_EXIT_ERROR after
 * printing why.
 */
int	cli_json_print(const struct bf_cli *cli, json_t *j);
/* Sets o[key] to `t` and o[key + "_utc"] to its UTC time; 0 or -1. */
int	cli_json_set_time(json_t *o, const char *key, long long t);
/* A string, or null for NULL or "". */
json_t *cli_json_str_or_null(const char *s);
/*
 * A diff: {"changes": [{"change", "key", "old_cpv", "old_build",
 * "new_cpv", "new_build"}...], "counts": {"added", "removed",
 * "upgraded", "downgraded", "rebuilt"}}; NULL if out of memory.
 */
json_t *cli_json_diff(const struct bf_diff *d);

#endif
