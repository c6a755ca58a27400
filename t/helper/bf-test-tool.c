/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bf-test-tool: exposes library calls to the shell tests (git's
 * t/helper/test-tool).  Not installed.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portage/atom.h"
#include "base/buf.h"
#include "portage/depstr.h"
#include "base/digest.h"
#include "base/err.h"
#include "net/http.h"
#include "portage/profile.h"
#include "store/chgen.h"
#include "base/banned.h"

static int
cmd_digest(int argc, char **argv)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_digest d;
	int alg, fd, rc;

	if (argc != 3 || (alg = bf_digest_byname(argv[1])) < 0) {
		fprintf(stderr, "usage: bf-test-tool digest MD5|SHA1|BLAKE2B|SHA512 FILE\n");
		return 2;
	}
	if ((fd = open(argv[2], O_RDONLY)) < 0) {
		perror(argv[2]);
		return 2;
	}
	rc = bf_digest_fd(&d, BF_DIGEST_BIT(alg), fd, 0, -1, &e);
	close(fd);
	if (rc < 0) {
		fprintf(stderr, "%s\n", bf_err_msg(&e, rc));
		return 1;
	}
	printf("%s\n", d.hex[alg]);
	return 0;
}

/* chgen-bump ROOT: a channel moved (as bf_channel_set() says it). */
static int
cmd_chgen_bump(int argc, char **argv)
{
	int fd, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: bf-test-tool chgen-bump ROOT\n");
		return 2;
	}
	if ((fd = open(argv[1], O_RDONLY | O_DIRECTORY)) < 0) {
		perror(argv[1]);
		return 2;
	}
	rc = bf_chgen_bump(fd);
	close(fd);
	if (rc < 0) {
		fprintf(stderr, "bf-test-tool: cannot increment %s/%s\n",
		    argv[1], BF_CHGEN_PATH);
		return 1;
	}
	return 0;
}

static int
cmd_vercmp(int argc, char **argv)
{
	struct bf_err e = BF_ERR_INIT;
	int rc, c;

	if (argc != 3) {
		fprintf(stderr, "usage: bf-test-tool vercmp A B\n");
		return 2;
	}
	if ((rc = bf_vercmp(argv[1], argv[2], &c, &e)) < 0) {
		fprintf(stderr, "%s\n", bf_err_msg(&e, rc));
		return 1;
	}
	printf("%d\n", c);
	return 0;
}

static void
print_list(const char *what, const struct bf_pkglist *l)
{
	struct bf_buf b = BF_BUF_INIT;
	size_t i, j;

	for (i = 0; i < l->n; i++) {
		bf_buf_reset(&b);
		bf_atom_format(&l->v[i].atom, &b);
		printf("%s %s", what, b.buf);
		for (j = 0; j < l->v[i].words.n; j++)
			printf(" %s", l->v[i].words.v[j]);
		printf(" (%s:%u)\n", l->v[i].file, l->v[i].line);
	}
	bf_buf_release(&b);
}

static int
cmd_profile(int argc, char **argv)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_profile p;
	size_t i;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: bf-test-tool profile DIR\n");
		return 2;
	}
	if ((rc = bf_profile_load(&p, argv[1], &e)) < 0) {
		fprintf(stderr, "%s\n", bf_err_msg(&e, rc));
		return 1;
	}
	printf("name %s\nCHOST %s\nCFLAGS %s\nCXXFLAGS %s\nLDFLAGS %s\n"
	    "arch %s\n", p.name, p.chost, p.cflags, p.cxxflags, p.ldflags,
	    p.arch);
	printf("ACCEPT_KEYWORDS");
	for (i = 0; i < p.accept_keywords.n; i++)
		printf(" %s", p.accept_keywords.v[i]);
	printf("\nUSE");
	for (i = 0; i < p.use.n; i++)
		printf(" %s", p.use.v[i]);
	printf("\nportage-profile %s\nworker-tags", p.portage_profile ?
	    p.portage_profile : "(none)");
	for (i = 0; i < p.worker_tags.n; i++)
		printf(" %s", p.worker_tags.v[i]);
	printf("\nx86-64-level %s\n", p.x86_64_level[0] ? p.x86_64_level :
	    "(none)");
	for (i = 0; i < p.nrepos; i++)
		printf("repo %s %s %s\n", p.repos[i].name, p.repos[i].uri,
		    p.repos[i].ref);
	print_list("world", &p.world);
	print_list("package.use", &p.package_use);
	print_list("package.accept_keywords", &p.package_keywords);
	print_list("package.mask", &p.package_mask);
	bf_profile_release(&p);
	return 0;
}

/*
 * depstr: reads "KEY<TAB>USE<TAB>VALUE" lines and prints the reduced
 * value, or "ERROR: message", one line each.
 */
static int
cmd_depstr(int argc, char **argv)
{
	struct bf_buf out = BF_BUF_INIT;
	struct bf_useset u;
	struct bf_err e;
	char line[65536], *use, *val, *nl;
	int f, rc;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: bf-test-tool depstr < KEY<TAB>USE<TAB>VALUE\n");
		return 2;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if ((use = strchr(line, '\t')) == NULL ||
		    (val = strchr(use + 1, '\t')) == NULL) {
			fprintf(stderr, "bad line: %s\n", line);
			return 2;
		}
		*use++ = '\0';
		*val++ = '\0';
		if ((f = bf_depstr_key_flags(line)) < 0)
			f = 0;
		if (bf_useset_init(&u, use, strlen(use)) < 0)
			return 1;
		bf_err_clear(&e);
		bf_buf_reset(&out);
		rc = bf_depstr_reduce(val, strlen(val), &u, (unsigned)f, &out, &e);
		if (rc < 0)
			printf("ERROR: %s\n", bf_err_msg(&e, rc));
		else
			printf("%.*s\n", (int)out.len, out.len ? out.buf : "");
		bf_useset_release(&u);
	}
	bf_buf_release(&out);
	return 0;
}

/*
 * http URL N PATH...: N rounds of GET (or POST of the path's own name
 * when the path starts with "post:") of each PATH over one kept-alive
 * struct bf_http_conn; prints "STATUS BODY" per request.  An https:// URL
 * is verified against $BF_TEST_CACERT when set.
 */
static int
cmd_http(int argc, char **argv)
{
	struct bf_http_conn conn = BF_HTTP_CONN_INIT;
	struct bf_url u;
	struct bf_err e = BF_ERR_INIT;
	int i, n, round, rc = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: bf-test-tool http URL ROUNDS PATH...\n");
		return 2;
	}
	if (bf_url_parse(&u, argv[1], &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 2;
	}
	u.cacert = getenv("BF_TEST_CACERT");	/* for https:// */
	n = atoi(argv[2]);
	for (round = 0; round < n && rc == 0; round++) {
		for (i = 3; i < argc; i++) {
			struct bf_http_req rq = BF_HTTP_REQ_INIT;
			struct bf_http_resp resp;
			int post = strncmp(argv[i], "post:", 5) == 0;

			bf_http_resp_init(&resp);
			rq.method = post ? "POST" : "GET";
			rq.path = post ? argv[i] + 5 : argv[i];
			if (post) {
				rq.body = rq.path;
				rq.body_len = strlen(rq.path);
			}
			rq.timeout_ms = 5000;
			rq.conn = &conn;
			if ((rc = bf_http_request(&u, &rq, &resp, &e)) < 0)
				fprintf(stderr, "%s\n", e.msg);
			else
				printf("%d %.*s\n", resp.status,
				    (int)resp.body.len,
				    resp.body.len ? resp.body.buf : "");
			bf_http_resp_release(&resp);
			if (rc < 0)
				break;
		}
	}
	bf_http_conn_close(&conn);
	return rc < 0 ? 1 : 0;
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
} tools[] = {
	{ "chgen-bump", cmd_chgen_bump },
	{ "digest", cmd_digest },
	{ "vercmp", cmd_vercmp },
	{ "profile", cmd_profile },
	{ "depstr", cmd_depstr },
	{ "http", cmd_http },
};

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "usage: bf-test-tool <tool> [args]\n");
		return 2;
	}
	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (strcmp(argv[1], tools[i].name) == 0)
			return tools[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "bf-test-tool: unknown tool '%s'\n", argv[1]);
	return 2;
}
