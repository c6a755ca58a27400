/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The release console (binfarm-builder(8), CONSOLE): HTML pages under
 * /console/, for engineers.  A browser cannot send the API's bearer
 * header when it follows a link, so the console has a login page: the
 * engineer pastes the engineer token and a name (recorded as who did
 * an action), and gets a cookie holding a random session id (never the
 * token: console-session.c).  Every POST but the login's carries the
 * session's CSRF token; every page is sent with a strict
 * Content-Security-Policy (scripts and styles only from the console's
 * own two files below), no framing and no caching.
 *
 * The pages are a route table: one with a `nav` label is in the menu,
 * so a section (Releases) is one more entry and its handler.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>

#include "base/buf.h"
#include "base/log.h"
#include "builder.h"
#include "console.h"
#include "base/banned.h"

#define COOKIE		"bf_console"
#define SESSION_TTL	(12 * 3600)

struct console {
	struct csess_table sessions;
};

struct croute {
	const char	*method;
	const char	*path;
	int		 prefix;	/* path is a prefix (ends in '/') */
	const char	*nav;		/* the menu's label; NULL: none */
	void		(*fn)(struct cpage *);
};

static const struct croute routes[] = {
	{ "GET", "/console/", 0, "Queue", console_overview },
	{ "GET", "/console/jobs/", 1, NULL, console_job },
	{ "GET", "/console/rebuilds", 0, "Rebuilds", console_rebuilds },
	{ "GET", "/console/rebuilds/", 1, NULL, console_rebuild },
	{ "GET", "/console/snapshots", 0, "Snapshots", console_snapshots },
	{ "GET", "/console/diff", 0, NULL, console_diff },
	{ "POST", "/console/promote", 0, NULL, console_promote },
	{ "GET", "/console/releases", 0, "Releases", console_releases },
	{ "POST", "/console/release", 0, NULL, console_release_action },
	/*
	 * A section is an entry with a label and its handler filling a
	 * cpage (cp_addf()); a POST gets the session and CSRF checks of
	 * authorized() before its handler.
	 */
};

static const char css[] =
    "body{font:14px/1.4 sans-serif;margin:0;color:#222}"
    "header{background:#223;color:#fff;padding:.5em 1em;display:flex;"
    "gap:1.2em;align-items:center}"
    "header a{color:#fff}header .who{margin-left:auto}"
    "header form{display:inline}main{padding:1em}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;"
    "vertical-align:top}th{background:#eee}"
    "pre.log{background:#111;color:#ddd;padding:.5em;max-height:40em;"
    "overflow:auto;white-space:pre-wrap}"
    ".error{color:#a00;font-weight:bold}.state-failed{color:#a00}"
    ".state-done,.state-complete{color:#070}"
    ".added{color:#070}.removed,.downgraded{color:#a00}"
    "form.inline{display:inline}label{margin-right:1em}";

static const char js[] =
    "\"use strict\";\n"
    "(function () {\n"
    "  var pre = document.getElementById(\"log\");\n"
    "  if (!pre) return;\n"
    "  var src = pre.getAttribute(\"data-src\"), off = 0;\n"
    "  var st = document.getElementById(\"log-state\");\n"
    "  var ends = [\"done\", \"failed\", \"blocked\", \"cancelled\"];\n"
    "  var dec = new TextDecoder();\n"
    "  function poll() {\n"
    "    fetch(src + \"?offset=\" + off, {credentials: \"same-origin\",\n"
    "        cache: \"no-store\"}).then(function (r) {\n"
    "      if (!r.ok) throw new Error(\"HTTP \" + r.status);\n"
    "      var size = parseInt(r.headers.get(\"X-Binfarm-Log-Size\") ||"
    " \"0\", 10);\n"
    "      var state = r.headers.get(\"X-Binfarm-Job-State\") || \"\";\n"
    "      return r.arrayBuffer().then(function (b) {\n"
    "        var t = dec.decode(b, {stream: true});\n"
    "        if (t.length) pre.appendChild(document.createTextNode(t));\n"
    "        off = size;\n"
    "        st.textContent = state;\n"
    "        if (ends.indexOf(state) < 0) setTimeout(poll, 1000);\n"
    "        else pre.setAttribute(\"data-complete\", \"1\");\n"
    "      });\n"
    "    }).catch(function (e) {\n"
    "      st.textContent = \"error: \" + e.message;\n"
    "      setTimeout(poll, 3000);\n"
    "    });\n"
    "  }\n"
    "  poll();\n"
    "})();\n";

struct console *
console_new(void)
{
	struct console *co = calloc(1, sizeof(*co));

	if (co != NULL)
		csess_init(&co->sessions, SESSION_TTL);
	return co;
}

void
console_free(struct console *co)
{
	if (co == NULL)
		return;
	csess_destroy(&co->sessions);
	free(co);
}

/*
 * One conversion of cp_addf() (after its '%'): %s escaped; %d, %u,
 * %lld, %zu and %% as printf has them.  Returns what follows it.
 */
static const char *
addf_one(struct cpage *p, const char *f, va_list *ap)
{
	char num[32];
	int n = 0;

	if (f[0] == 's')
		html_esc(p->out, va_arg(*ap, const char *));
	else if (f[0] == '%')
		bf_buf_addch(p->out, '%');
	else if (f[0] == 'd')
		n = snprintf(num, sizeof(num), "%d", va_arg(*ap, int));
	else if (f[0] == 'u')
		n = snprintf(num, sizeof(num), "%u", va_arg(*ap, unsigned));
	else if (strncmp(f, "lld", 3) == 0) {
		n = snprintf(num, sizeof(num), "%lld", va_arg(*ap, long long));
		f += 2;
	} else if (strncmp(f, "zu", 2) == 0) {
		n = snprintf(num, sizeof(num), "%zu", va_arg(*ap, size_t));
		f++;
	} else
		abort();	/* a conversion the console does not use */
	if (n > 0)
		bf_buf_add(p->out, num, (size_t)n);
	return f + 1;
}

void
cp_addf(struct cpage *p, const char *fmt, ...)
{
	const char *run = fmt;
	va_list ap;

	va_start(ap, fmt);
	while (*fmt != '\0') {
		if (*fmt != '%') {
			fmt++;
			continue;
		}
		bf_buf_add(p->out, run, (size_t)(fmt - run));
		fmt = run = addf_one(p, fmt + 1, &ap);
	}
	bf_buf_add(p->out, run, (size_t)(fmt - run));
	va_end(ap);
}

const char *
cp_arg(struct cpage *p, const char *key)
{
	return MHD_lookup_connection_value(p->c, MHD_GET_ARGUMENT_KIND, key);
}

int
cp_form(struct cpage *p, const char *key, struct bf_buf *out)
{
	return form_get(p->body, p->len, key, out);
}

const char *
cp_u(struct cpage *p, const char *s)
{
	struct bf_buf b = BF_BUF_INIT;

	url_esc(&b, s);
	if (bf_strv_push(&p->tmp, b.buf) < 0) {
		bf_buf_release(&b);
		return "";
	}
	bf_buf_release(&b);
	return p->tmp.v[p->tmp.n - 1];
}

void
cp_csrf_input(struct cpage *p)
{
	cp_addf(p, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">",
	    p->s.csrf);
}

void
cp_time(struct cpage *p, long long t)
{
	char s[64];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		bf_buf_adds(p->out, "-");
	else if (strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S UTC", &tm) > 0)
		bf_buf_adds(p->out, s);
}

void
cp_error(struct cpage *p, unsigned status, const char *msg)
{
	p->status = status;
	p->title = "Error";
	bf_buf_reset(p->out);
	cp_addf(p, "<p class=\"error\" id=\"error\">%s</p>", msg);
}

static void
security_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Content-Security-Policy",
	    "default-src 'none'; script-src 'self'; style-src 'self'; "
	    "connect-src 'self'; img-src 'self'; form-action 'self'; "
	    "base-uri 'none'; frame-ancestors 'none'");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "same-origin");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
}

/* Sends `body` (taken) with `type`, `status` and, if set, a cookie. */
static int
send_body(struct MHD_Connection *c, unsigned status, const char *type,
    struct bf_buf *body, const char *cookie, const char *location)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t n;
	char *s = bf_buf_detach(body, &n);

	if (s == NULL)
		return MHD_NO;
	r = MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	security_headers(r);
	if (cookie != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	if (location != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, location);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static int
redirect(struct MHD_Connection *c, const char *to, const char *cookie)
{
	struct bf_buf b = BF_BUF_INIT;

	bf_buf_adds(&b, "see other\n");
	return send_body(c, 303, "text/plain; charset=utf-8", &b, cookie, to);
}

/* The menu: every route with a label, and who is logged in. */
static void
nav(struct cpage *p, struct bf_buf *h)
{
	struct cpage np = *p;
	size_t i;

	np.out = h;
	bf_buf_adds(h, "<header><strong>binfarm</strong>");
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (routes[i].nav != NULL)
			cp_addf(&np, "<a href=\"%s\">%s</a>", routes[i].path,
			    routes[i].nav);
	if (p->s.id[0] != '\0') {
		cp_addf(&np, "<span class=\"who\" id=\"who\">%s</span>"
		    "<form method=\"post\" action=\"/console/logout\">",
		    p->s.name);
		cp_csrf_input(&np);
		bf_buf_adds(h, "<button>Log out</button></form>");
	}
	bf_buf_adds(h, "</header>");
}

static int
send_page(struct cpage *p)
{
	struct bf_buf h = BF_BUF_INIT;
	struct cpage hp = *p;

	hp.out = &h;
	cp_addf(&hp, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>%s - binfarm console</title>"
	    "<link rel=\"stylesheet\" href=\"/console/static/console.css\">"
	    "<script src=\"/console/static/console.js\" defer></script>"
	    "</head><body>", p->title ? p->title : "binfarm");
	nav(p, &h);
	bf_buf_adds(&h, "<main>");
	bf_buf_add(&h, p->out->buf, p->out->len);
	bf_buf_adds(&h, "</main></body></html>\n");
	return send_body(p->c, p->status ? p->status : 200,
	    "text/html; charset=utf-8", &h, NULL, NULL);
}

static int
send_static(struct MHD_Connection *c, const char *url)
{
	struct bf_buf b = BF_BUF_INIT;
	int is_js = strcmp(url, "/console/static/console.js") == 0;

	if (!is_js && strcmp(url, "/console/static/console.css") != 0) {
		bf_buf_adds(&b, "no such file\n");
		return send_body(c, 404, "text/plain; charset=utf-8", &b, NULL,
		    NULL);
	}
	bf_buf_adds(&b, is_js ? js : css);
	return send_body(c, 200, is_js ? "text/javascript; charset=utf-8" :
	    "text/css; charset=utf-8", &b, NULL, NULL);
}

static void
login_form(struct cpage *p, const char *error)
{
	p->title = "Log in";
	if (error != NULL)
		cp_addf(p, "<p class=\"error\" id=\"error\">%s</p>", error);
	cp_addf(p, "<h1>binfarm console</h1>"
	    "<form method=\"post\" action=\"/console/login\">"
	    "<p><label>Engineer token <input type=\"password\" name=\"token\" "
	    "id=\"token\" autocomplete=\"off\" required></label></p>"
	    "<p><label>Your name <input name=\"name\" id=\"name\" "
	    "maxlength=\"%d\" required></label> (recorded with what you do)"
	    "</p><p><button id=\"login\">Log in</button></p></form>",
	    CSESS_NAME);
}

/* POST /console/login: a new session (never one the client names). */
static int
login(struct cpage *p)
{
	struct bf_buf tok = BF_BUF_INIT, name = BF_BUF_INIT, ck = BF_BUF_INIT;
	struct console *co = p->b->console;
	const char *why = NULL;
	struct csess s;
	char ip[64], pen[128];
	unsigned left;
	int ok, ret, status = 403;

	ok = cp_form(p, "token", &tok) && cp_form(p, "name", &name);
	if ((left = auth_penalty_left(p->b, p->c)) > 0) {
		/* The token is not even compared. */
		snprintf(pen, sizeof(pen), "too many wrong tokens from this "
		    "address: try again in %u s", left);
		why = pen;
		status = 429;
	} else if (!ok || !csess_name_valid(name.buf))
		why = "give the engineer token and a name of letters, digits, "
		    "spaces and ._@+- (up to 64)";
	else if (!console_str_eq(tok.buf, p->b->cfg.engineer_token)) {
		why = "wrong token";
		auth_penalty_fail(p->b, p->c, "wrong console logins");
	} else if (csess_create(&co->sessions, name.buf, now_s(), &s) < 0)
		why = "cannot make a session (no random bytes)";
	explicit_bzero(tok.buf, tok.len);
	bf_buf_release(&tok);
	if (why != NULL) {
		if (status != 429)	/* not a line per try of a penalty */
			log_warnx("console: refused a login as '%s' from "
			    "%s: %s", csess_name_valid(name.buf) ? name.buf :
			    "(bad name)", auth_client_str(p->c, ip, sizeof(ip)),
			    why);
		bf_buf_release(&name);
		login_form(p, why);
		p->status = status;
		return send_page(p);
	}
	log_info("console: %s logged in from %s", s.name,
	    auth_client_str(p->c, ip, sizeof(ip)));
	bf_buf_addf(&ck, COOKIE "=%s; Path=/console/; HttpOnly; "
	    "SameSite=Strict; Max-Age=%d%s", s.id, SESSION_TTL,
	    p->b->cfg.tls_cert != NULL ? "; Secure" : "");
	ret = redirect(p->c, "/console/", ck.buf);
	explicit_bzero(&s, sizeof(s));
	bf_buf_release(&ck);
	bf_buf_release(&name);
	return ret;
}

static int
logout(struct cpage *p)
{
	csess_delete(&p->b->console->sessions, p->s.id);
	log_info("console: %s logged out", p->s.name);
	return redirect(p->c, "/console/login", COOKIE "=; Path=/console/; "
	    "HttpOnly; SameSite=Strict; Max-Age=0");
}

/*
 * A POST from another site: its Origin (when the browser sends one)
 * names another host.  SameSite=Strict keeps the cookie from such a
 * request already; this refuses it before the session is looked at.
 */
static int
cross_origin(struct cpage *p)
{
	const char *o = MHD_lookup_connection_value(p->c, MHD_HEADER_KIND,
	    "Origin");
	const char *h = MHD_lookup_connection_value(p->c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_HOST);
	const char *rest;

	if (o == NULL)
		return 0;
	if (h == NULL)
		return 1;
	rest = strncmp(o, "https://", 8) == 0 ? o + 8 :
	    strncmp(o, "http://", 7) == 0 ? o + 7 : NULL;
	return rest == NULL || strcmp(rest, h) != 0;
}

/* A POST's CSRF token is the session's. */
static int
csrf_ok(struct cpage *p)
{
	struct bf_buf t = BF_BUF_INIT;
	int ok = cp_form(p, "csrf", &t) && console_str_eq(t.buf, p->s.csrf);

	bf_buf_release(&t);
	return ok;
}

static const struct croute *
route_find(const char *method, const char *url)
{
	size_t i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct croute *r = &routes[i];

		if (strcmp(r->method, method) != 0)
			continue;
		if (r->prefix ? strncmp(url, r->path, strlen(r->path)) == 0 &&
		    url[strlen(r->path)] != '\0' : strcmp(url, r->path) == 0)
			return r;
	}
	return NULL;
}

/* Who asks: their session into p->s, 1; else 0. */
static int
session(struct cpage *p)
{
	const char *id = MHD_lookup_connection_value(p->c, MHD_COOKIE_KIND,
	    COOKIE);

	return csess_lookup(&p->b->console->sessions, id, now_s(), &p->s);
}

/* A page behind the login: the session, then the CSRF token of a POST. */
static int
authorized(struct cpage *p)
{
	const struct croute *r;
	int post = strcmp(p->method, "POST") == 0;
	char ip[64];

	if (!session(p)) {
		if (!post && strcmp(p->method, "GET") == 0 &&
		    strstr(p->url, "/log") == NULL)
			return redirect(p->c, "/console/login", NULL);
		cp_error(p, 401, "not logged in: log in at /console/login");
		return send_page(p);
	}
	if (post && (cross_origin(p) || !csrf_ok(p))) {
		log_warnx("console: refused %s %s of %s from %s: bad CSRF "
		    "token or origin", p->method, p->url, p->s.name,
		    auth_client_str(p->c, ip, sizeof(ip)));
		cp_error(p, 403, "refused: the form's CSRF token is not this "
		    "session's (reload the page and try again)");
		return send_page(p);
	}
	if (post && strcmp(p->url, "/console/logout") == 0)
		return logout(p);
	if ((r = route_find(p->method, p->url)) == NULL)
		cp_error(p, 404, "no such page");
	else
		r->fn(p);
	return p->sent ? p->ret : send_page(p);
}

/* Before any session: the console's two files and the login page. */
static int
public_page(struct cpage *p)
{
	if (strcmp(p->url, "/console") == 0)
		return redirect(p->c, "/console/", NULL);
	if (strcmp(p->method, "GET") == 0 &&
	    strncmp(p->url, "/console/static/", 16) == 0)
		return send_static(p->c, p->url);
	if (strcmp(p->url, "/console/login") != 0)
		return -1;
	if (strcmp(p->method, "POST") != 0) {
		login_form(p, NULL);
		return send_page(p);
	}
	if (!cross_origin(p))
		return login(p);
	cp_error(p, 403, "refused: a login from another site");
	return send_page(p);
}

int
console_handle(struct builder *b, struct MHD_Connection *c,
    const char *method, const char *url, const char *body, size_t len)
{
	struct bf_buf out = BF_BUF_INIT;
	struct cpage p;
	int ret;

	memset(&p, 0, sizeof(p));
	p.b = b;
	p.c = c;
	p.url = url;
	p.method = method;
	p.body = body;
	p.len = len;
	p.out = &out;
	if ((ret = public_page(&p)) < 0)
		ret = authorized(&p);
	bf_buf_release(&out);
	bf_strv_release(&p.tmp);
	return ret;
}
