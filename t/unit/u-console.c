/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The console's pieces without the builder: HTML escaping, URL
 * escaping, urlencoded forms, and the session table.
 */
#include "config.h"

#include <string.h>

#include "base/buf.h"
#include "builder/console.h"
#include "tap.h"

static void
esc_is(const char *in, const char *want, const char *what)
{
	struct bf_buf b = BF_BUF_INIT;

	html_esc(&b, in);
	is_str(b.buf, want, what);
	bf_buf_release(&b);
}

static void
test_html(void)
{
	esc_is("", "", "html: empty");
	esc_is("app-misc/hello-2.1", "app-misc/hello-2.1", "html: plain");
	esc_is("<script>alert(1)</script>",
	    "&lt;script&gt;alert(1)&lt;/script&gt;", "html: a script tag");
	esc_is("\"><img src=x onerror=alert(1)>",
	    "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
	    "html: out of an attribute");
	esc_is("a'b&c", "a&#39;b&amp;c", "html: quote and ampersand");
	esc_is("&amp;", "&amp;amp;", "html: an entity is escaped again");
	esc_is("caf\xc3\xa9 \x01", "caf\xc3\xa9 \x01",
	    "html: other bytes kept");
}

static void
test_url(void)
{
	struct bf_buf b = BF_BUF_INIT;

	url_esc(&b, "a b&c=d/e?f#g%\"<");
	is_str(b.buf, "a%20b%26c%3Dd%2Fe%3Ff%23g%25%22%3C", "url: reserved");
	bf_buf_reset(&b);
	url_esc(&b, "20261125T101500Z-0001");
	is_str(b.buf, "20261125T101500Z-0001", "url: an id as it is");
	bf_buf_release(&b);
}

static void
test_form(void)
{
	static const char body[] = "csrf=ab12&name=Jane+Doe&x=%3Cb%3E&"
	    "empty=&bare&nul=a%00b&bad=%zz%4";
	struct bf_buf v = BF_BUF_INIT;
	size_t n = strlen(body);

	ok(form_get(body, n, "csrf", &v) && strcmp(v.buf, "ab12") == 0,
	    "form: first field");
	ok(form_get(body, n, "name", &v) && strcmp(v.buf, "Jane Doe") == 0,
	    "form: + is a space");
	ok(form_get(body, n, "x", &v) && strcmp(v.buf, "<b>") == 0,
	    "form: percent-decoded");
	ok(form_get(body, n, "empty", &v) && v.len == 0, "form: empty value");
	ok(form_get(body, n, "bare", &v) && v.len == 0, "form: no '='");
	ok(!form_get(body, n, "nul", &v), "form: a NUL byte is refused");
	ok(form_get(body, n, "bad", &v) && strcmp(v.buf, "%zz%4") == 0,
	    "form: a bad escape is kept as it is");
	ok(!form_get(body, n, "cs", &v), "form: a prefix is not a field");
	ok(!form_get(body, n, "missing", &v), "form: absent");
	ok(!form_get(body, 4, "csrf", &v) || strcmp(v.buf, "") == 0,
	    "form: only `len` bytes are read");
	bf_buf_release(&v);
}

static void
test_sessions(void)
{
	static struct csess_table t;
	struct csess a, b, got;
	size_t i;

	csess_init(&t, 100);
	ok(csess_name_valid("jane.doe@example"), "name: valid");
	ok(!csess_name_valid(""), "name: empty");
	ok(!csess_name_valid("a\tb"), "name: a tab (history.log's separator)");
	ok(!csess_name_valid("a\nb"), "name: a newline");
	ok(!csess_name_valid("<script>"), "name: markup");
	ok(!csess_name_valid("-x"), "name: a leading dash");
	ok(csess_create(&t, "<bad>", 1000, &a) < 0, "create: bad name refused");
	ok(csess_create(&t, "jane", 1000, &a) == 0, "create");
	ok(csess_create(&t, "joe", 1000, &b) == 0, "create another");
	is_int(strlen(a.id), CSESS_HEX, "id: 64 hex digits");
	is_int(strlen(a.csrf), CSESS_HEX, "csrf: 64 hex digits");
	ok(strcmp(a.id, b.id) != 0 && strcmp(a.csrf, b.csrf) != 0 &&
	    strcmp(a.id, a.csrf) != 0, "ids and tokens all differ");
	ok(csess_lookup(&t, a.id, 1050, &got) &&
	    strcmp(got.name, "jane") == 0 && strcmp(got.csrf, a.csrf) == 0,
	    "lookup");
	ok(!csess_lookup(&t, a.id, 1100, &got), "lookup: expired");
	ok(!csess_lookup(&t, NULL, 1000, &got), "lookup: no cookie");
	ok(!csess_lookup(&t, "", 1000, &got), "lookup: empty");
	got = a;
	got.id[5] = got.id[5] == '0' ? '1' : '0';
	ok(!csess_lookup(&t, got.id, 1000, &got), "lookup: one digit off");
	csess_delete(&t, b.id);
	ok(!csess_lookup(&t, b.id, 1000, &got), "delete");
	csess_destroy(&t);
	/* Full of live sessions: the oldest makes room. */
	csess_init(&t, 1000000);
	ok(csess_create(&t, "first", 2000, &a) == 0, "the oldest");
	for (i = 1; i < CSESS_MAX + 5; i++)
		if (csess_create(&t, "many", 2000 + (long long)i, &b) < 0)
			break;
	is_int(i, CSESS_MAX + 5, "many sessions");
	is_int(t.n, CSESS_MAX, "the table stays bounded");
	ok(!csess_lookup(&t, a.id, 3000, &got), "the oldest made room");
	ok(csess_lookup(&t, b.id, 3000, &got), "the newest is kept");
	csess_destroy(&t);
}

int
main(void)
{
	test_html();
	test_url();
	test_form();
	test_sessions();
	ok(console_str_eq("abc", "abc") && !console_str_eq("abc", "abd") &&
	    !console_str_eq("abc", "ab") && !console_str_eq("", ""),
	    "constant-time comparison");
	return tap_done();
}
