/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/conf.h"
#include "base/err.h"
#include "tap.h"

static int
parse(struct bf_conf *c, const char *text, struct bf_err *e)
{
	bf_conf_release(c);
	bf_err_clear(e);
	return bf_conf_parse_shell(c, "make.conf", text, strlen(text), e);
}

static void
test_shell(void)
{
	struct bf_conf c = BF_CONF_INIT;
	struct bf_err e = BF_ERR_INIT;
	int rc;

	rc = parse(&c,
	    "# comment\n"
	    "CHOST=\"x86_64-pc-linux-gnu\"\n"
	    "COMMON_FLAGS='-O2 -pipe'\n"
	    "CFLAGS=\"${COMMON_FLAGS} -march=x86-64-v3\"\n"
	    "CXXFLAGS=\"$CFLAGS\"\n"
	    "LDFLAGS=-Wl,-O1\n"
	    "USE=\"ssl \\\n  threads\"\n"
	    "MULTI=\"a\nb\"\n"
	    "export MAKEOPTS=\"-j8\"\n"
	    "SINGLE='${CFLAGS} $x'\n"
	    "ESC=\"a\\\"b\\$c\\\\d\\e\"\n"
	    "UNQ=a\\ b\n"
	    "EMPTY=\n"
	    "EMPTYQ=\"\"\n"
	    "CONCAT=\"a\"'b'c\n"
	    "UNSET=\"[${NOPE}]\"\n"
	    "DOLLAR=\"a$ b\"\n"
	    "SPACED = value\n"
	    "TWO=1 THREE=2 # trailing comment\n"
	    "USE=\"${USE} -X\"\n"
	    "CONT=one\\\ntwo\n", &e);
	is_int(rc, 0, "make.conf parses");
	is_str(bf_conf_get(&c, "CHOST"), "x86_64-pc-linux-gnu", "double quotes");
	is_str(bf_conf_get(&c, "COMMON_FLAGS"), "-O2 -pipe", "single quotes");
	is_str(bf_conf_get(&c, "CFLAGS"), "-O2 -pipe -march=x86-64-v3", "${VAR} expands");
	is_str(bf_conf_get(&c, "CXXFLAGS"), "-O2 -pipe -march=x86-64-v3", "$VAR expands");
	is_str(bf_conf_get(&c, "LDFLAGS"), "-Wl,-O1", "unquoted value");
	is_str(bf_conf_get(&c, "USE"), "ssl   threads -X", "continuation in quotes, then self-reference");
	is_str(bf_conf_get(&c, "MULTI"), "a\nb", "a value may span lines in quotes");
	is_str(bf_conf_get(&c, "MAKEOPTS"), "-j8", "export is accepted");
	is_str(bf_conf_get(&c, "SINGLE"), "${CFLAGS} $x", "no expansion in single quotes");
	is_str(bf_conf_get(&c, "ESC"), "a\"b$c\\d\\e", "backslash escapes in double quotes");
	is_str(bf_conf_get(&c, "UNQ"), "a b", "backslash escapes a space");
	is_str(bf_conf_get(&c, "EMPTY"), "", "empty unquoted value");
	is_str(bf_conf_get(&c, "EMPTYQ"), "", "empty quoted value");
	is_str(bf_conf_get(&c, "CONCAT"), "abc", "quoted parts concatenate");
	is_str(bf_conf_get(&c, "UNSET"), "[]", "an unset variable expands to nothing");
	is_str(bf_conf_get(&c, "DOLLAR"), "a$ b", "a lone $ is literal");
	is_str(bf_conf_get(&c, "SPACED"), "value", "spaces around = (as Portage)");
	is_str(bf_conf_get(&c, "TWO"), "1", "two assignments on a line");
	is_str(bf_conf_get(&c, "THREE"), "2", "... the second");
	is_str(bf_conf_get(&c, "CONT"), "onetwo", "unquoted continuation");
	ok(bf_conf_get(&c, "NOPE") == NULL, "unset is NULL");
	is_int(bf_conf_find(&c, "MAKEOPTS")->line, 11, "line of an assignment");
	is_int(bf_conf_find(&c, "CONT")->line, 23, "lines count through continuations and quotes");
	is_str(bf_conf_find(&c, "CHOST")->file, "make.conf", "file of an assignment");

	rc = parse(&c, "A=1\nB=\"x\ny\nC=2\n", &e);
	is_int(rc, -BF_ECONFIG, "unterminated double quote");
	is_str(e.msg, "make.conf:2: unterminated double quote", "... names where it started");
	rc = parse(&c, "A=1\n\nB='x\n", &e);
	is_str(e.msg, "make.conf:3: unterminated single quote", "unterminated single quote");
	rc = parse(&c, "A=1\nB c\n", &e);
	is_str(e.msg, "make.conf:2: expected '=' after 'B'", "missing =");
	rc = parse(&c, "A=1 b\n", &e);
	is_str(e.msg, "make.conf:1: expected '=' after 'b'", "stray word after a value");
	rc = parse(&c, "1A=1\n", &e);
	is_str(e.msg, "make.conf:1: invalid variable name '1A'", "bad name");
	rc = parse(&c, "A-B=1\n", &e);
	is_str(e.msg, "make.conf:1: invalid variable name 'A-B'", "hyphen in a name");
	rc = parse(&c, "\n\nA=\"${B:-x}\"\n", &e);
	is_str(e.msg, "make.conf:3: invalid expansion '${B:-x}'", "unsupported expansion");
	rc = parse(&c, "A=${B\n", &e);
	is_int(rc, -BF_ECONFIG, "unterminated ${");
	rc = bf_conf_parse_shell(&c, "x", "A=\0", 3, &e);
	is_int(rc, -BF_ECONFIG, "NUL byte refused");

	/* Pre-set variables expand (a profile's make.defaults, say). */
	bf_conf_release(&c);
	bf_conf_set(&c, "USE", "a b", "make.defaults", 1);
	rc = bf_conf_parse_shell(&c, "make.conf", "USE=\"$USE c\"\n", 13, &e);
	is_str(bf_conf_get(&c, "USE"), "a b c", "expansion from earlier files");
	bf_conf_release(&c);
}

struct seen {
	struct bf_buf	b;
};

static int
ini_cb(void *ctx, const char *file, unsigned line, const char *section,
    const char *key, const char *value, struct bf_err *e)
{
	struct seen *s = ctx;

	bf_buf_addf(&s->b, "%u[%s]%s=%s;", line, section, key,
	    value ? value : "(null)");
	if (strcmp(key, "stop") == 0)
		return bf_err_set(e, BF_ECONFIG, "%s:%u: stop", file, line);
	return 0;
}

static int
line_cb(void *ctx, const char *file, unsigned line, char *text,
    struct bf_err *e)
{
	struct seen *s = ctx;

	bf_buf_addf(&s->b, "%u:%s;", line, text);
	return 0;
}

static void
test_ini_lines(void)
{
	struct seen s = { BF_BUF_INIT };
	struct bf_err e = BF_ERR_INIT;
	const char *t;
	int rc;

	t = "# c\ntop = 1\n[profile]\n  key =  a b  # note\nflag\n\n[repo x]\nuri=u#v\n";
	rc = bf_conf_parse_ini("p.conf", t, strlen(t), ini_cb, &s, &e);
	is_int(rc, 0, "INI parses");
	is_str(s.b.buf, "2[]top=1;4[profile]key=a b;5[profile]flag=(null);8[repo x]uri=u#v;",
	    "sections, keys, values, comments");
	bf_buf_reset(&s.b);
	t = "[a]\n[b\n";
	rc = bf_conf_parse_ini("p.conf", t, strlen(t), ini_cb, &s, &e);
	is_str(e.msg, "p.conf:2: invalid section header '[b'", "bad section header");
	bf_err_clear(&e);
	t = "a=1\nstop=1\nb=2\n";
	rc = bf_conf_parse_ini("p.conf", t, strlen(t), ini_cb, &s, &e);
	ok(rc == -BF_ECONFIG && strcmp(e.msg, "p.conf:2: stop") == 0,
	    "a callback error stops the parse");
	bf_err_clear(&e);
	t = " = 1\n";
	rc = bf_conf_parse_ini("p.conf", t, strlen(t), ini_cb, &s, &e);
	is_str(e.msg, "p.conf:1: missing key before '='", "missing key");

	bf_buf_reset(&s.b);
	t = "# header\ndev-libs/foo ssl # why\n\n  app-misc/bar  \nfoo#bar\n";
	rc = bf_conf_parse_lines("package.use", t, strlen(t), line_cb, &s, &e);
	is_int(rc, 0, "line file parses");
	is_str(s.b.buf, "2:dev-libs/foo ssl;4:app-misc/bar;5:foo#bar;",
	    "comments and blank lines go, line numbers stay");
	bf_buf_release(&s.b);
}

static void
test_strv(void)
{
	struct bf_strv sv = BF_STRV_INIT;

	bf_strv_split(&sv, "  a b\tc\n");
	is_int(sv.n, 3, "split");
	bf_strv_remove(&sv, 1);
	ok(sv.n == 2 && strcmp(sv.v[1], "c") == 0 && sv.v[2] == NULL,
	    "remove keeps order and the NULL end");
	is_int(bf_strv_find(&sv, "c"), 1, "find");
	is_int(bf_strv_find(&sv, "b"), -1, "find missing");
	bf_strv_release(&sv);
}

int
main(void)
{
	test_shell();
	test_ini_lines();
	test_strv();
	return tap_done();
}
