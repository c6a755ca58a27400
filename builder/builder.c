/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm-builder: the build farm's coordinator.  See binfarm-builder(8).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "portage/profile.h"
#include "store/keys.h"
#include "store/repo.h"
#include "store/sign.h"
#include "builder.h"
#include "base/banned.h"

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: binfarm-builder [-dt] [-f FILE | -s STATEDIR] [-l HOST:PORT] [-u USER]\n"
	    "       binfarm-builder --init STATEDIR [-l HOST:PORT] [-P PROFILEDIR]...\n"
	    "                       [-r NAME=URI[@REF]]... [--unsigned]\n\n"
	    "  -f FILE       configuration (binfarm-builder.conf(5))\n"
	    "  -s STATEDIR   use STATEDIR/builder.conf, generating it (with fresh\n"
	    "                tokens) when it does not exist\n"
	    "  -t            check the configuration and the profiles, then exit\n"
	    "  -d            stay in the foreground, log to stderr\n"
	    "  -l HOST:PORT  listen there (port 0: any free port; the URL is\n"
	    "                written to STATE/builder.url)\n"
	    "  -u USER       started as root: serve as USER, the signing key\n"
	    "                staying with the signing process (builder.conf user)\n"
	    "  --init DIR    write DIR/builder.conf with fresh tokens, make the\n"
	    "                repository DIR/repo (signed, with a new key), exit\n"
	    "  --unsigned    with --init: an unsigned repository (not for nodes\n"
	    "                with Portage's default signature verification)\n"
	    "  -P DIR        a hw-profile for --init or a generated config\n"
	    "  -r SPEC       an ebuild repository NAME=URI[@REF] for --init\n");
}

/* Loads every profile: checks it, and takes its worker tags. */
static int
load_profiles(struct bcfg *c, struct bf_err *e)
{
	size_t i, j;
	int rc;

	for (i = 0; i < c->nprofiles; i++) {
		struct bf_profile p;

		if ((rc = bf_profile_load(&p, c->profiles[i].dir, e)) < 0) {
			bf_err_prefix(e, "%s:%u: profile '%s'", c->file,
			    c->profiles[i].line, c->profiles[i].name);
			return rc;
		}
		for (j = 0; j < p.worker_tags.n; j++)
			bf_strv_push(&c->profiles[i].tags, p.worker_tags.v[j]);
		bf_profile_release(&p);
	}
	return 0;
}

static int
write_file(const char *dir, const char *name, const char *text,
    struct bf_err *e)
{
	struct bf_lockfile lf = BF_LOCKFILE_INIT;
	struct bf_buf p = BF_BUF_INIT;
	int rc;

	bf_buf_addf(&p, "%s/%s", dir, name);
	if ((rc = bf_lockfile_open(&lf, AT_FDCWD, p.buf, 0644, e)) == 0) {
		bf_lockfile_write(&lf, text, strlen(text));
		rc = bf_lockfile_commit(&lf, -1, e);
	}
	bf_lockfile_rollback(&lf);
	bf_buf_release(&p);
	return rc;
}

static int
append_repos(const char *state, char **repos, size_t n, struct bf_err *e)
{
	struct bf_buf p = BF_BUF_INIT, t = BF_BUF_INIT;
	size_t i;
	int rc = 0;

	if (n == 0)
		return 0;
	bf_buf_addf(&p, "%s/builder.conf", state);
	if ((rc = bf_conf_read_file(p.buf, &t, e)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		char *eq = strchr(repos[i], '='), *at;

		if (eq == NULL) {
			rc = bf_err_set(e, BF_EUSAGE, "-r %s: expected "
			    "NAME=URI[@REF]", repos[i]);
			goto out;
		}
		at = strrchr(eq, '@');
		if (at != NULL && (strchr(at, '/') || strchr(at, ':')))
			at = NULL;
		bf_buf_addf(&t, "\n[repo %.*s]\nuri = %.*s\n", (int)(eq - repos[i]),
		    repos[i], (int)(at ? at - eq - 1 : (long)strlen(eq + 1)),
		    eq + 1);
		if (at != NULL)
			bf_buf_addf(&t, "ref = %s\n", at + 1);
	}
	rc = write_file(state, "builder.conf", t.buf, e);
out:
	bf_buf_release(&p);
	bf_buf_release(&t);
	return rc;
}

/* The command line. */
struct opts {
	const char	*file, *statedir, *init, *listen, *user;
	char		**profiles, **repos;	/* -P, -r */
	size_t		 nprofiles, nrepos;
	int		 check, fg, unsig;
};

/* -1 to go on, else the exit status. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "init", required_argument, NULL, 'I' },
		{ "unsigned", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	if ((o->profiles = calloc((size_t)argc, sizeof(char *))) == NULL ||
	    (o->repos = calloc((size_t)argc, sizeof(char *))) == NULL)
		return 2;
	while ((c = getopt_long(argc, argv, "f:s:tdl:P:r:u:h", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'f': o->file = optarg; break;
		case 's': o->statedir = optarg; break;
		case 't': o->check = 1; break;
		case 'd': o->fg = 1; break;
		case 'l': o->listen = optarg; break;
		case 'P': o->profiles[o->nprofiles++] = optarg; break;
		case 'r': o->repos[o->nrepos++] = optarg; break;
		case 'u': o->user = optarg; break;
		case 'I': o->init = optarg; break;
		case 'U': o->unsig = 1; break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (o->file && o->statedir) || (o->init &&
	    (o->file || o->statedir))) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/*
 * --init DIR, or -s DIR without a builder.conf yet: writes one (with
 * a CA, a certificate and tokens).  -1 to go on (o->file set to it),
 * else the exit status.
 */
static int
init_state(struct opts *o, struct bf_buf *cf)
{
	const char *dir = o->init ? o->init : o->statedir;
	struct bf_err e = BF_ERR_INIT;
	struct stat st;
	int rc;

	if (dir == NULL)
		return -1;
	bf_buf_addf(cf, "%s/builder.conf", dir);
	if (o->init != NULL || stat(cf->buf, &st) < 0) {
		if ((rc = bcfg_generate(dir, o->listen ? o->listen :
		    "127.0.0.1:8470", o->profiles, o->nprofiles, o->unsig,
		    &e)) < 0 ||
		    (rc = append_repos(dir, o->repos, o->nrepos, &e)) < 0) {
			fprintf(stderr, "binfarm-builder: %s\n",
			    bf_err_msg(&e, rc));
			return 2;
		}
		if (o->init != NULL) {
			printf("wrote %s\n", cf->buf);
			return 0;
		}
	}
	o->file = cf->buf;
	return -1;
}

/* builder.conf, the profiles, the repository, the user to run as. */
static int
load(struct builder *b, struct opts *o, uid_t *uid, gid_t *gid, char **uhome,
    struct bf_err *e)
{
	int rc;

	if (o->file == NULL &&
	    (o->file = getenv("BINFARM_BUILDER_CONF")) == NULL)
		o->file = SYSCONFDIR "/binfarm/builder.conf";
	if ((rc = bcfg_load(&b->cfg, o->file, e)) < 0 ||
	    (rc = load_profiles(&b->cfg, e)) < 0)
		return rc;
	if (o->listen != NULL) {
		free(b->cfg.listen);
		if ((b->cfg.listen = strdup(o->listen)) == NULL)
			return bf_err_nomem(e);
	}
	if ((rc = builder_open_repo(b, e)) < 0)
		return rc;
	if (o->user == NULL)
		o->user = b->cfg.user;
	if (o->user != NULL)
		return privsep_lookup(o->user, uid, gid, uhome, e);
	return 0;
}

/* -t: the configuration, and that the signing key works (here). */
static int
check_config(struct builder *b, const char *file, struct bf_err *e)
{
	struct bf_signer *s = NULL;
	int rc;

	if (b->repo->signed_repo) {
		rc = bf_repo_signer_open(b->repo, &s, e);
		bf_signer_free(s);
		if (rc < 0)
			return rc;
	}
	printf("%s: configuration OK (%zu profiles, %zu repositories, "
	    "publishing to %s)\n", file, b->cfg.nprofiles, b->cfg.nrepos,
	    b->cfg.repository);
	return 0;
}

/*
 * The signing process is forked by the process that stays (after
 * daemon(): it dies with its parent), before any thread and before the
 * network; the TLS key is read; then this process drops to USER.
 */
static int
privileged_start(struct builder *b, const struct opts *o, uid_t uid,
    gid_t gid, const char *uhome, struct bf_err *e)
{
	struct sigaction sa;
	int rc;

	if (!o->fg && daemon(1, 0) < 0) {
		/* Still on the terminal. */
		fprintf(stderr, "binfarm-builder: daemon: %s\n",
		    strerror(errno));
		return -errno;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if ((b->repo->signed_repo && (rc = signer_start(b, e)) < 0) ||
	    (rc = api_init(b, e)) < 0)
		return rc;
	if (o->user != NULL) {
		if ((rc = privsep_drop(uid, gid, uhome, e)) < 0)
			return rc;
		log_info("serving as user %s (uid %lu); the signing key stays "
		    "with the signing process", o->user, (unsigned long)uid);
	} else if (geteuid() == 0 && b->repo->signed_repo)
		log_warnx("running as root without -u USER: the process that "
		    "serves HTTP could read the signing key itself (see "
		    "binfarm-builder(8), TRUST MODEL)");
	return 0;
}

/* The state directory, the database, the API; builder.url written. */
static int
serve_start(struct builder *b, struct bf_err *e)
{
	struct bf_buf url = BF_BUF_INIT;
	const char *colon;
	char host[256];
	int rc;

	if (mkdir(b->cfg.state, 0755) < 0 && errno != EEXIST)
		return bf_err_errno(e, "cannot create '%s'", b->cfg.state);
	bf_buf_addf(&url, "%s/logs", b->cfg.state);
	mkdir(url.buf, 0755);
	pthread_mutex_init(&b->mu, NULL);
	pthread_mutex_init(&b->plan_mu, NULL);
	if ((rc = db_open(b, e)) < 0)
		goto out;
	ingest_cleanup(b);
	if ((rc = api_start(b, e)) < 0)
		goto out;
	colon = strrchr(b->cfg.listen, ':');
	snprintf(host, sizeof(host), "%.*s", (int)(colon - b->cfg.listen),
	    b->cfg.listen);
	bf_buf_reset(&url);
	bf_buf_addf(&url, "%s://%s:%d\n", b->cfg.tls_cert != NULL ? "https" :
	    "http", strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0 ?
	    "127.0.0.1" : host, b->port);
	if ((rc = write_file(b->cfg.state, "builder.url", url.buf, e)) < 0) {
		log_warnx("%s", bf_err_msg(e, rc));
		bf_err_clear(e);
	}
	bf_buf_rtrim(&url);
	log_info("binfarm-builder listening on %s (state %s, %zu profiles)",
	    url.buf, b->cfg.state, b->cfg.nprofiles);
	rc = 0;
out:
	bf_buf_release(&url);
	return rc;
}

/* Resume: finish what a killed builder left half done. */
static void
resume(struct builder *b)
{
	long long ids[64];
	size_t n, i;

	pthread_mutex_lock(&b->mu);
	n = db_rebuilds_running(b, ids, sizeof(ids) / sizeof(ids[0]));
	for (i = 0; i < n; i++) {
		log_info("resuming rebuild %lld", ids[i]);
		sched_check_rebuild(b, ids[i]);
	}
	pthread_mutex_unlock(&b->mu);
}

/* Until a signal: expire leases, publish complete rebuilds.  0 or 1. */
static int
run(struct builder *b)
{
	while (!quit) {
		struct timespec ts = { 0, 250 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		if (!signer_alive(b))
			return 1;
		pthread_mutex_lock(&b->mu);
		sched_expire(b);
		pthread_mutex_unlock(&b->mu);
		publish_pending(b);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct bf_err e = BF_ERR_INIT;
	struct builder b;
	struct opts o;
	struct bf_buf cf = BF_BUF_INIT;
	char *uhome = NULL;
	uid_t uid = 0;
	gid_t gid = 0;
	int rc, ret;

	memset(&b, 0, sizeof(b));
	memset(&o, 0, sizeof(o));
	b.signer_pid = -1;
	if ((ret = parse_opts(argc, argv, &o)) >= 0)
		goto out;
	/* The log: standard error when it is a file (not a terminal). */
	log_init(o.fg || o.check || o.init || !isatty(2),
	    getenv("BINFARM_DEBUG") != NULL, "binfarm-builder");
	log_stamp(1);
	if ((ret = init_state(&o, &cf)) >= 0)
		goto out;
	ret = 2;
	if ((rc = load(&b, &o, &uid, &gid, &uhome, &e)) < 0 ||
	    (o.check && (rc = check_config(&b, o.file, &e)) < 0)) {
		fprintf(stderr, "binfarm-builder: %s\n", bf_err_msg(&e, rc));
		goto out;
	}
	if (o.check) {
		ret = 0;
		goto out;
	}
	if ((rc = privileged_start(&b, &o, uid, gid, uhome, &e)) < 0 ||
	    (rc = serve_start(&b, &e)) < 0) {
		if (e.code != 0)
			log_warnx("%s", bf_err_msg(&e, rc));
		goto out;
	}
	resume(&b);
	ret = run(&b);
	log_info("binfarm-builder stopping");
out:
	api_stop(&b);
	db_close(&b);
	signer_stop(&b);
	bf_repo_free(b.repo);
	bcfg_release(&b.cfg);
	bf_buf_release(&cf);
	free(o.profiles);
	free(o.repos);
	free(uhome);
	return ret;
}
