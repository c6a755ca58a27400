/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "base/banned.h"

#define ISSPACE(c)	((c) == ' ' || (c) == '\t' || (c) == '\n' || \
			 (c) == '\r' || (c) == '\f' || (c) == '\v')
#define ISBLANK(c)	((c) == ' ' || (c) == '\t' || (c) == '\r')
#define ISNAME1(c)	(((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z') || \
			 (c) == '_')
#define ISNAME(c)	(ISNAME1(c) || ((c) >= '0' && (c) <= '9'))

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
bf_strv_sort(struct bf_strv *sv)
{
	if (sv->n > 1)
		qsort(sv->v, sv->n, sizeof(*sv->v), strp_cmp);
}

int
bf_strv_has_sorted(const struct bf_strv *sv, const char *s)
{
	size_t lo = 0, hi = sv->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(sv->v[mid], s);

		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

const char *
bf_strv_keep(struct bf_strv *sv, const char *s)
{
	if (sv->n > 0 && strcmp(sv->v[sv->n - 1], s) == 0)
		return sv->v[sv->n - 1];
	if (bf_strv_push(sv, s) < 0)
		return "?";
	return sv->v[sv->n - 1];
}

int
bf_strv_pushn(struct bf_strv *sv, const char *s, size_t len)
{
	char *p;

	/* Room for it and the NULL after it. */
	if (bf_grow(&sv->v, &sv->alloc, sv->n + 2, sizeof(*sv->v), 16) < 0)
		return -ENOMEM;
	if ((p = malloc(len + 1)) == NULL)
		return -ENOMEM;
	memcpy(p, s, len);
	p[len] = '\0';
	sv->v[sv->n++] = p;
	sv->v[sv->n] = NULL;
	return 0;
}

int
bf_strv_push(struct bf_strv *sv, const char *s)
{
	return bf_strv_pushn(sv, s, strlen(s));
}

long
bf_strv_find(const struct bf_strv *sv, const char *s)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return (long)i;
	return -1;
}

void
bf_strv_remove(struct bf_strv *sv, size_t i)
{
	if (i >= sv->n)
		return;
	free(sv->v[i]);
	memmove(sv->v + i, sv->v + i + 1, (sv->n - i) * sizeof(*sv->v));
	sv->n--;
}

int
bf_strv_split(struct bf_strv *sv, const char *s)
{
	const char *w;
	int rc;

	for (;;) {
		while (ISSPACE(*s))
			s++;
		if (*s == '\0')
			return 0;
		w = s;
		while (*s != '\0' && !ISSPACE(*s))
			s++;
		if ((rc = bf_strv_pushn(sv, w, (size_t)(s - w))) < 0)
			return rc;
	}
}

void
bf_strv_release(struct bf_strv *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->alloc = 0;
}

void
bf_conf_release(struct bf_conf *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].key);
		free(c->v[i].val);
	}
	free(c->v);
	c->v = NULL;
	c->n = c->alloc = 0;
	bf_strv_release(&c->files);
}

const struct bf_conf_var *
bf_conf_find(const struct bf_conf *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].key, key) == 0)
			return &c->v[i];
	return NULL;
}

const char *
bf_conf_get(const struct bf_conf *c, const char *key)
{
	const struct bf_conf_var *v = bf_conf_find(c, key);

	return v != NULL ? v->val : NULL;
}

int
bf_conf_set(struct bf_conf *c, const char *key, const char *val,
    const char *file, unsigned line)
{
	struct bf_conf_var *v = (struct bf_conf_var *)bf_conf_find(c, key);
	char *nv;

	if ((nv = strdup(val)) == NULL)
		return -ENOMEM;
	if (v == NULL) {
		if (bf_grow(&c->v, &c->alloc, c->n + 1,
		    sizeof(*c->v), 32) < 0) {
			free(nv);
			return -ENOMEM;
		}
		v = &c->v[c->n];
		if ((v->key = strdup(key)) == NULL) {
			free(nv);
			return -ENOMEM;
		}
		c->n++;
	} else
		free(v->val);
	v->val = nv;
	v->file = file;
	v->line = line;
	return 0;
}

struct lexer {
	const char	*p;
	const char	*end;
	const char	*name;
	unsigned	 line;
	struct bf_conf	*conf;
	struct bf_err	*e;
};

static int
lex_err(struct lexer *lx, unsigned line, const char *what, const char *arg)
{
	if (arg != NULL)
		return bf_err_set(lx->e, BF_ECONFIG, "%s:%u: %s '%s'", lx->name,
		    line, what, arg);
	return bf_err_set(lx->e, BF_ECONFIG, "%s:%u: %s", lx->name, line, what);
}

/* Skips white space, newlines, continuations and comments. */
static void
lex_skip(struct lexer *lx)
{
	while (lx->p < lx->end) {
		if (*lx->p == '\n') {
			lx->line++;
			lx->p++;
		} else if (ISSPACE(*lx->p))
			lx->p++;
		else if (*lx->p == '\\' && lx->p + 1 < lx->end &&
		    lx->p[1] == '\n') {
			lx->line++;
			lx->p += 2;
		} else if (*lx->p == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else
			break;
	}
}

/* Expands the $NAME or ${NAME} at lx->p (pointing at '$') into out. */
static int
lex_expand(struct lexer *lx, struct bf_buf *out)
{
	const char *s = lx->p + 1, *n;
	char name[256];
	const char *val;
	size_t len;

	if (s < lx->end && *s == '{') {
		n = ++s;
		while (s < lx->end && ISNAME(*s))
			s++;
		len = (size_t)(s - n);
		if (s >= lx->end || *s != '}' || len == 0 || !ISNAME1(*n) ||
		    len >= sizeof(name)) {
			const char *q = n;

			while (q < lx->end && *q != '}' && *q != '\n' &&
			    q - n < 64)
				q++;
			len = (size_t)(q - n);
			return bf_err_set(lx->e, BF_ECONFIG,
			    "%s:%u: invalid expansion '${%.*s}'", lx->name,
			    lx->line, (int)len, n);
		}
		s++;
	} else if (s < lx->end && ISNAME1(*s)) {
		n = s;
		while (s < lx->end && ISNAME(*s))
			s++;
		len = (size_t)(s - n);
		if (len >= sizeof(name))
			return lex_err(lx, lx->line, "variable name too long",
			    NULL);
	} else {
		/* A lone '$' is literal, as in the shell. */
		bf_buf_addch(out, '$');
		lx->p++;
		return 0;
	}
	memcpy(name, n, len);
	name[len] = '\0';
	if ((val = bf_conf_get(lx->conf, name)) != NULL) {
		/*
		 * A few lines of A1="${A0}${A0}" double a value each time;
		 * a real make.conf never comes near this.
		 */
		if (out->len > BF_CONF_VALUE_MAX ||
		    strlen(val) > BF_CONF_VALUE_MAX - out->len)
			return bf_err_set(lx->e, BF_ECONFIG,
			    "%s:%u: value longer than %u MiB after expanding "
			    "'%s'", lx->name, lx->line, BF_CONF_VALUE_MAX >> 20,
			    name);
		bf_buf_adds(out, val);
	}
	lx->p = s;
	return 0;
}

/* Reads one shell word (quotes, escapes, expansions) into out. */
static int
lex_word(struct lexer *lx, struct bf_buf *out)
{
	unsigned start;
	int rc;

	while (lx->p < lx->end && !ISSPACE(*lx->p)) {
		char c = *lx->p;

		if (c == '\'') {
			start = lx->line;
			lx->p++;
			while (lx->p < lx->end && *lx->p != '\'') {
				if (*lx->p == '\n')
					lx->line++;
				bf_buf_addch(out, *lx->p++);
			}
			if (lx->p >= lx->end)
				return lex_err(lx, start,
				    "unterminated single quote", NULL);
			lx->p++;
		} else if (c == '"') {
			start = lx->line;
			lx->p++;
			while (lx->p < lx->end && *lx->p != '"') {
				c = *lx->p;
				if (c == '\\' && lx->p + 1 < lx->end) {
					char d = lx->p[1];

					if (d == '\n') {
						lx->line++;
						lx->p += 2;
					} else if (d == '"' || d == '\\' ||
					    d == '$' || d == '`') {
						bf_buf_addch(out, d);
						lx->p += 2;
					} else {
						bf_buf_addch(out, c);
						lx->p++;
					}
				} else if (c == '$') {
					if ((rc = lex_expand(lx, out)) < 0)
						return rc;
				} else {
					if (c == '\n')
						lx->line++;
					bf_buf_addch(out, c);
					lx->p++;
				}
			}
			if (lx->p >= lx->end)
				return lex_err(lx, start,
				    "unterminated double quote", NULL);
			lx->p++;
		} else if (c == '\\') {
			if (lx->p + 1 >= lx->end) {
				lx->p++;
				break;
			}
			if (lx->p[1] == '\n')
				lx->line++;
			else
				bf_buf_addch(out, lx->p[1]);
			lx->p += 2;
		} else if (c == '$') {
			if ((rc = lex_expand(lx, out)) < 0)
				return rc;
		} else {
			bf_buf_addch(out, c);
			lx->p++;
		}
	}
	return bf_buf_error(out);
}

static int
valid_name(const char *s)
{
	if (!ISNAME1(*s))
		return 0;
	while (*++s != '\0')
		if (!ISNAME(*s))
			return 0;
	return 1;
}

int
bf_conf_parse_shell(struct bf_conf *c, const char *name, const char *text,
    size_t len, struct bf_err *e)
{
	struct lexer lx = { text, text + len, NULL, 1, c, e };
	struct bf_buf key = BF_BUF_INIT, val = BF_BUF_INIT;
	const char *k;
	unsigned line;
	int rc;

	if ((rc = bf_strv_push(&c->files, name)) < 0)
		return bf_err_nomem(e);
	lx.name = c->files.v[c->files.n - 1];
	if (memchr(text, '\0', len) != NULL)
		return bf_err_set(e, BF_ECONFIG, "%s: NUL byte in file", name);
	for (;;) {
		lex_skip(&lx);
		if (lx.p >= lx.end)
			break;
		line = lx.line;
		bf_buf_reset(&key);
		/* The key: a name, up to '=' or white space. */
		k = lx.p;
		while (lx.p < lx.end && !ISSPACE(*lx.p) && *lx.p != '=')
			lx.p++;
		bf_buf_add(&key, k, (size_t)(lx.p - k));
		if (strcmp(key.buf, "export") == 0 && lx.p < lx.end &&
		    *lx.p != '=') {
			while (lx.p < lx.end && ISBLANK(*lx.p))
				lx.p++;
			bf_buf_reset(&key);
			k = lx.p;
			while (lx.p < lx.end && !ISSPACE(*lx.p) && *lx.p != '=')
				lx.p++;
			bf_buf_add(&key, k, (size_t)(lx.p - k));
		}
		if ((rc = bf_buf_error(&key)) < 0)
			goto out;
		if (!valid_name(key.buf)) {
			rc = lex_err(&lx, line, "invalid variable name",
			    key.buf);
			goto out;
		}
		while (lx.p < lx.end && ISBLANK(*lx.p))
			lx.p++;
		if (lx.p >= lx.end || *lx.p != '=') {
			rc = lex_err(&lx, line, "expected '=' after", key.buf);
			goto out;
		}
		lx.p++;
		while (lx.p < lx.end && ISBLANK(*lx.p))
			lx.p++;
		bf_buf_reset(&val);
		if (lx.p < lx.end && *lx.p != '#' && *lx.p != '\n' &&
		    (rc = lex_word(&lx, &val)) < 0)
			goto out;
		if ((rc = bf_conf_set(c, key.buf, val.buf, lx.name, line)) < 0) {
			bf_err_nomem(e);
			goto out;
		}
	}
	rc = 0;
out:
	bf_buf_release(&key);
	bf_buf_release(&val);
	return rc;
}

int
bf_conf_read_file(const char *path, struct bf_buf *out, struct bf_err *e)
{
	char tmp[8192];
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	/* O_NONBLOCK: a FIFO must not block the open before we refuse it. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return bf_err_errno(e, "cannot open '%s'", path);
	if (fstat(fd, &st) == -1) {
		rc = bf_err_errno(e, "cannot stat '%s'", path);
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return bf_err_set(e, BF_ECONFIG, "'%s' is not a regular file",
		    path);
	}
	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = bf_err_errno(e, "cannot read '%s'", path);
			break;
		}
		if (n == 0)
			break;
		bf_buf_add(out, tmp, (size_t)n);
	}
	close(fd);
	if (rc == 0 && (rc = bf_buf_error(out)) < 0)
		bf_err_set(e, -rc, "out of memory reading '%s'", path);
	return rc;
}

int
bf_conf_load_shell(struct bf_conf *c, const char *path, struct bf_err *e)
{
	struct bf_buf b = BF_BUF_INIT;
	int rc;

	if ((rc = bf_conf_read_file(path, &b, e)) == 0)
		rc = bf_conf_parse_shell(c, path, b.buf, b.len, e);
	bf_buf_release(&b);
	return rc;
}

static char *
trim(char *s)
{
	char *t;

	while (ISSPACE(*s))
		s++;
	t = s + strlen(s);
	while (t > s && ISSPACE(t[-1]))
		*--t = '\0';
	return s;
}

int
bf_conf_parse_ini(const char *name, const char *text, size_t len,
    bf_ini_cb cb, void *ctx, struct bf_err *e)
{
	struct bf_buf sect = BF_BUF_INIT, ln = BF_BUF_INIT;
	const char *p = text, *end = text + len, *nl;
	unsigned line = 0;
	char *s, *eq, *hash;
	int rc = 0;

	while (p < end) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		bf_buf_reset(&ln);
		bf_buf_add(&ln, p, (size_t)(nl - p));
		p = nl + 1;
		if ((rc = bf_buf_error(&ln)) < 0)
			goto out;
		if (memchr(ln.buf, '\0', ln.len) != NULL) {
			rc = bf_err_set(e, BF_ECONFIG, "%s:%u: NUL byte", name,
			    line);
			goto out;
		}
		s = trim(ln.buf);
		if (*s == '#' || *s == '\0')
			continue;
		if (*s == '[') {
			size_t n = strlen(s);

			if (s[n - 1] != ']' || n < 3) {
				rc = bf_err_set(e, BF_ECONFIG,
				    "%s:%u: invalid section header '%s'", name,
				    line, s);
				goto out;
			}
			s[n - 1] = '\0';
			bf_buf_reset(&sect);
			bf_buf_adds(&sect, trim(s + 1));
			if ((rc = bf_buf_error(&sect)) < 0)
				goto out;
			continue;
		}
		/* Comments start at a '#' after white space. */
		for (hash = s; (hash = strchr(hash, '#')) != NULL; hash++)
			if (hash > s && ISBLANK(hash[-1])) {
				*hash = '\0';
				break;
			}
		if ((eq = strchr(s, '=')) == NULL) {
			rc = cb(ctx, name, line, sect.buf, trim(s), NULL, e);
		} else {
			*eq = '\0';
			if (*trim(s) == '\0') {
				rc = bf_err_set(e, BF_ECONFIG,
				    "%s:%u: missing key before '='", name, line);
				goto out;
			}
			rc = cb(ctx, name, line, sect.buf, trim(s),
			    trim(eq + 1), e);
		}
		if (rc != 0)
			goto out;
	}
out:
	bf_buf_release(&sect);
	bf_buf_release(&ln);
	return rc;
}

int
bf_conf_load_ini(const char *path, bf_ini_cb cb, void *ctx, struct bf_err *e)
{
	struct bf_buf b = BF_BUF_INIT;
	int rc;

	if ((rc = bf_conf_read_file(path, &b, e)) == 0)
		rc = bf_conf_parse_ini(path, b.buf, b.len, cb, ctx, e);
	bf_buf_release(&b);
	return rc;
}

int
bf_conf_parse_lines(const char *name, const char *text, size_t len,
    bf_line_cb cb, void *ctx, struct bf_err *e)
{
	struct bf_buf ln = BF_BUF_INIT;
	const char *p = text, *end = text + len, *nl;
	unsigned line = 0;
	char *s, *hash;
	int rc = 0;

	while (p < end) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		bf_buf_reset(&ln);
		bf_buf_add(&ln, p, (size_t)(nl - p));
		p = nl + 1;
		if ((rc = bf_buf_error(&ln)) < 0)
			break;
		for (hash = ln.buf; (hash = strchr(hash, '#')) != NULL; hash++)
			if (hash == ln.buf || ISSPACE(hash[-1])) {
				*hash = '\0';
				break;
			}
		s = trim(ln.buf);
		if (*s == '\0')
			continue;
		if ((rc = cb(ctx, name, line, s, e)) != 0)
			break;
	}
	bf_buf_release(&ln);
	return rc;
}

static int
namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
bf_conf_load_lines(const char *path, int optional, bf_line_cb cb, void *ctx,
    struct bf_err *e)
{
	struct bf_strv names = BF_STRV_INIT;
	struct bf_buf b = BF_BUF_INIT, sub = BF_BUF_INIT;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	size_t i, n;
	int rc = 0;

	if (stat(path, &st) == -1) {
		if (errno == ENOENT && optional)
			return 0;
		return bf_err_errno(e, "cannot read '%s'", path);
	}
	if (!S_ISDIR(st.st_mode)) {
		if ((rc = bf_conf_read_file(path, &b, e)) == 0)
			rc = bf_conf_parse_lines(path, b.buf, b.len, cb, ctx, e);
		goto out;
	}
	if ((d = opendir(path)) == NULL) {
		rc = bf_err_errno(e, "cannot open directory '%s'", path);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (de->d_name[0] == '.' || de->d_name[n - 1] == '~')
			continue;
		if ((rc = bf_strv_push(&names, de->d_name)) < 0) {
			bf_err_nomem(e);
			goto out;
		}
	}
	if (names.n > 1)
		qsort(names.v, names.n, sizeof(*names.v), namecmp);
	for (i = 0; i < names.n; i++) {
		bf_buf_reset(&sub);
		bf_buf_addf(&sub, "%s/%s", path, names.v[i]);
		if ((rc = bf_buf_error(&sub)) < 0)
			goto out;
		if ((rc = bf_conf_load_lines(sub.buf, 0, cb, ctx, e)) != 0)
			goto out;
	}
out:
	if (d != NULL)
		closedir(d);
	bf_strv_release(&names);
	bf_buf_release(&b);
	bf_buf_release(&sub);
	return rc;
}

char *
bf_conf_read_line(const char *path)
{
	struct bf_buf b = BF_BUF_INIT;

	if (bf_conf_read_file(path, &b, NULL) < 0) {
		bf_buf_release(&b);
		return NULL;
	}
	bf_buf_rtrim(&b);
	return bf_buf_detach(&b, NULL);
}
