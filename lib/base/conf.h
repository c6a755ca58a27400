/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_CONF_H
#define BF_CONF_H

#include <stddef.h>

struct bf_err;

/* A growable vector of owned strings. */
struct bf_strv {
	char	**v;
	size_t	  n;
	size_t	  alloc;
};

#define BF_STRV_INIT { NULL, 0, 0 }

/* Appends a copy of `s` (or of its first `len` bytes); 0 or -ENOMEM. */
int	bf_strv_push(struct bf_strv *sv, const char *s);
int	bf_strv_pushn(struct bf_strv *sv, const char *s, size_t len);
/* Index of `s`, or -1. */
long	bf_strv_find(const struct bf_strv *sv, const char *s);
/* Sorts by strcmp. */
void	bf_strv_sort(struct bf_strv *sv);
/* Is `s` in `sv`, which must be sorted?  (Binary search.) */
int	bf_strv_has_sorted(const struct bf_strv *sv, const char *s);
/*
 * A stable copy of `s` for messages that outlive the caller's buffer:
 * reuses the last element when equal, else appends.  "?" on ENOMEM.
 */
const char *bf_strv_keep(struct bf_strv *sv, const char *s);
/* Removes element `i`, keeping the order. */
void	bf_strv_remove(struct bf_strv *sv, size_t i);
/* Appends the white-space separated words of `s`. */
int	bf_strv_split(struct bf_strv *sv, const char *s);
void	bf_strv_release(struct bf_strv *sv);

/*
 * Shell-style variable files as Portage reads them (make.conf,
 * make.defaults: portage.util.getconfig): `[export] KEY=value` with
 * single quotes (literal), double quotes (with ${VAR} and $VAR expansion
 * and backslash escapes), unquoted words (expansion and escapes),
 * backslash-newline continuations, values spanning lines inside quotes,
 * and # comments.  Variables expand from those already set in the same
 * struct bf_conf (the file itself, or what the caller set first); an
 * unset variable expands to "".  Errors name file:line.  A value may not
 * grow beyond BF_CONF_VALUE_MAX bytes by expansion (doubling a variable
 * on each of a few lines would otherwise eat all memory).
 */
#define BF_CONF_VALUE_MAX	(1u << 20)

struct bf_conf_var {
	char		*key;
	char		*val;
	const char	*file;		/* borrowed from the struct's file list */
	unsigned	 line;		/* where the assignment starts */
};

struct bf_conf {
	struct bf_conf_var	*v;
	size_t			 n;
	size_t			 alloc;
	struct bf_strv		 files;	/* names of the files read */
};

#define BF_CONF_INIT { NULL, 0, 0, BF_STRV_INIT }

void	bf_conf_release(struct bf_conf *c);
/* Sets `key` (copied), replacing any earlier value. */
int	bf_conf_set(struct bf_conf *c, const char *key, const char *val,
	    const char *file, unsigned line);
/* The value of `key` (borrowed), or NULL when it is not set. */
const char *bf_conf_get(const struct bf_conf *c, const char *key);
const struct bf_conf_var *bf_conf_find(const struct bf_conf *c,
	    const char *key);
/*
 * Parses `len` bytes of `text` as a shell variable file named `name`
 * (used in messages) into `c`.  Returns 0, -BF_ECONFIG or -ENOMEM.
 */
int	bf_conf_parse_shell(struct bf_conf *c, const char *name,
	    const char *text, size_t len, struct bf_err *e);
/* Reads the file at `path` and parses it as above. */
int	bf_conf_load_shell(struct bf_conf *c, const char *path,
	    struct bf_err *e);

/*
 * INI files (pacman's ini.c): "[section]" lines and "key = value" lines,
 * # comments, blank lines.  The callback gets each pair, with the
 * section ("" before the first) and where it was; a nonzero return stops
 * the parse and is returned.  Errors name file:line.
 */
typedef int (*bf_ini_cb)(void *ctx, const char *file, unsigned line,
    const char *section, const char *key, const char *value,
    struct bf_err *e);
int	bf_conf_parse_ini(const char *name, const char *text, size_t len,
	    bf_ini_cb cb, void *ctx, struct bf_err *e);
int	bf_conf_load_ini(const char *path, bf_ini_cb cb, void *ctx,
	    struct bf_err *e);

/*
 * Line files (package.use, package.mask, world, ...): calls `cb` for each
 * line with its comment removed and white space trimmed, skipping empty
 * ones.  When `path` is a directory, its files are read in name order,
 * skipping names starting with '.' or ending in '~' (as Portage does).
 * A missing path is not an error when `optional` is set.
 */
typedef int (*bf_line_cb)(void *ctx, const char *file, unsigned line,
    char *text, struct bf_err *e);
int	bf_conf_load_lines(const char *path, int optional, bf_line_cb cb,
	    void *ctx, struct bf_err *e);
int	bf_conf_parse_lines(const char *name, const char *text, size_t len,
	    bf_line_cb cb, void *ctx, struct bf_err *e);

/* Reads a whole file into `out`; -errno with a message. */
struct bf_buf;
int	bf_conf_read_file(const char *path, struct bf_buf *out,
	    struct bf_err *e);
/*
 * A one-line file (a URL, a token) without its trailing white space,
 * malloc'd; NULL when it cannot be read.
 */
char	*bf_conf_read_line(const char *path);

#endif
