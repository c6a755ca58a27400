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

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "init", required_argument, NULL, 'I' },
		{ "unsigned", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_err e = BF_ERR_INIT;
	struct builder b;
	struct bf_buf cf = BF_BUF_INIT, url = BF_BUF_INIT;
	struct sigaction sa;
	const char *file = NULL, *statedir = NULL, *init = NULL, *listen = NULL;
	const char *user = NULL;
	char *uhome = NULL;
	uid_t uid = 0;
	gid_t gid = 0;
	char **profiles = NULL, **repos = NULL;
	size_t nprofiles = 0, nrepos = 0;
	int c, check = 0, fg = 0, rc, ret = 2, loaded = 0, unsig = 0;
	struct stat st;

	memset(&b, 0, sizeof(b));
	b.signer_pid = -1;
	profiles = calloc((size_t)argc, sizeof(*profiles));
	repos = calloc((size_t)argc, sizeof(*repos));
	while ((c = getopt_long(argc, argv, "f:s:tdl:P:r:u:h", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'f':
			file = optarg;
			break;
		case 's':
			statedir = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'd':
			fg = 1;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'P':
			profiles[nprofiles++] = optarg;
			break;
		case 'r':
			repos[nrepos++] = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'I':
			init = optarg;
			break;
		case 'U':
			unsig = 1;
			break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind != argc || (file && statedir) || (init && (file ||
	    statedir))) {
		usage(stderr);
		goto out;
	}
	/* The log: standard error when it is a file (not a terminal). */
	log_init(fg || check || init || !isatty(2),
	    getenv("BINFARM_DEBUG") != NULL, "binfarm-builder");
	log_stamp(1);
	if (init != NULL || (statedir != NULL)) {
		const char *dir = init ? init : statedir;

		bf_buf_addf(&cf, "%s/builder.conf", dir);
		if (init != NULL || stat(cf.buf, &st) < 0) {
			if ((rc = bcfg_generate(dir, listen ? listen :
			    "127.0.0.1:8470", profiles, nprofiles, unsig,
			    &e)) < 0 ||
			    (rc = append_repos(dir, repos, nrepos, &e)) < 0) {
				fprintf(stderr, "binfarm-builder: %s\n",
				    bf_err_msg(&e, rc));
				goto out;
			}
			if (init != NULL) {
				printf("wrote %s\n", cf.buf);
				ret = 0;
				goto out;
			}
		}
		file = cf.buf;
	}
	if (file == NULL && (file = getenv("BINFARM_BUILDER_CONF")) == NULL)
		file = SYSCONFDIR "/binfarm/builder.conf";
	if ((rc = bcfg_load(&b.cfg, file, &e)) < 0 ||
	    (loaded = 1, rc = load_profiles(&b.cfg, &e)) < 0) {
		fprintf(stderr, "binfarm-builder: %s\n", bf_err_msg(&e, rc));
		goto out;
	}
	loaded = 1;
	if (listen != NULL) {
		free(b.cfg.listen);
		b.cfg.listen = strdup(listen);
	}
	if ((rc = builder_open_repo(&b, &e)) < 0) {
		fprintf(stderr, "binfarm-builder: %s\n", bf_err_msg(&e, rc));
		goto out;
	}
	if (user == NULL)
		user = b.cfg.user;
	if (user != NULL && (rc = privsep_lookup(user, &uid, &gid, &uhome, &e)) < 0) {
		fprintf(stderr, "binfarm-builder: %s\n", bf_err_msg(&e, rc));
		goto out;
	}
	if (check) {
		/* The signing key works (here, not in a signing process). */
		if (b.repo->signed_repo) {
			struct bf_signer *s = NULL;

			rc = bf_repo_signer_open(b.repo, &s, &e);
			bf_signer_free(s);
			if (rc < 0) {
				fprintf(stderr, "binfarm-builder: %s\n",
				    bf_err_msg(&e, rc));
				goto out;
			}
		}
		printf("%s: configuration OK (%zu profiles, %zu repositories, "
		    "publishing to %s)\n", file, b.cfg.nprofiles, b.cfg.nrepos,
		    b.cfg.repository);
		ret = 0;
		goto out;
	}
	/*
	 * The signing process is forked by the process that stays (after
	 * daemon(): it dies with its parent), before any thread and before
	 * the network; then this process drops to USER, and creates its
	 * state as USER.
	 */
	if (!fg && daemon(1, 0) < 0) {
		fprintf(stderr, "binfarm-builder: daemon: %s\n", strerror(errno));
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (b.repo->signed_repo && (rc = signer_start(&b, &e)) < 0) {
		log_warnx("%s", bf_err_msg(&e, rc));
		goto out;
	}
	/* The TLS key is read while we may still read it. */
	if ((rc = api_init(&b, &e)) < 0) {
		log_warnx("%s", bf_err_msg(&e, rc));
		goto out;
	}
	if (user != NULL) {
		if ((rc = privsep_drop(uid, gid, uhome, &e)) < 0) {
			log_warnx("%s", bf_err_msg(&e, rc));
			goto out;
		}
		log_info("serving as user %s (uid %lu); the signing key stays "
		    "with the signing process", user, (unsigned long)uid);
	} else if (geteuid() == 0 && b.repo->signed_repo)
		log_warnx("running as root without -u USER: the process that "
		    "serves HTTP could read the signing key itself (see "
		    "binfarm-builder(8), TRUST MODEL)");
	if (mkdir(b.cfg.state, 0755) < 0 && errno != EEXIST) {
		log_warnx("cannot create '%s': %s", b.cfg.state,
		    strerror(errno));
		goto out;
	}
	bf_buf_reset(&url);
	bf_buf_addf(&url, "%s/logs", b.cfg.state);
	mkdir(url.buf, 0755);
	pthread_mutex_init(&b.mu, NULL);
	pthread_mutex_init(&b.plan_mu, NULL);
	if ((rc = db_open(&b, &e)) < 0) {
		log_warnx("%s", bf_err_msg(&e, rc));
		goto out;
	}
	ingest_cleanup(&b);
	if ((rc = api_start(&b, &e)) < 0) {
		log_warnx("%s", bf_err_msg(&e, rc));
		goto out;
	}
	bf_buf_reset(&url);
	{
		char host[256];
		const char *colon = strrchr(b.cfg.listen, ':');

		snprintf(host, sizeof(host), "%.*s", (int)(colon -
		    b.cfg.listen), b.cfg.listen);
		bf_buf_addf(&url, "%s://%s:%d\n", b.cfg.tls_cert != NULL ?
		    "https" : "http", strcmp(host, "*") == 0 ||
		    strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1" : host, b.port);
	}
	if ((rc = write_file(b.cfg.state, "builder.url", url.buf, &e)) < 0)
		log_warnx("%s", bf_err_msg(&e, rc));
	bf_buf_rtrim(&url);
	log_info("binfarm-builder listening on %s (state %s, %zu profiles)",
	    url.buf, b.cfg.state, b.cfg.nprofiles);

	/* Resume: finish what a killed builder left half done. */
	pthread_mutex_lock(&b.mu);
	{
		sqlite3_stmt *s = db_prep(&b, "SELECT id FROM rebuilds WHERE "
		    "state='running'");
		long long ids[64];
		size_t n = 0, i;

		while (s != NULL && sqlite3_step(s) == SQLITE_ROW && n < 64)
			ids[n++] = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
		for (i = 0; i < n; i++) {
			log_info("resuming rebuild %lld", ids[i]);
			sched_check_rebuild(&b, ids[i]);
		}
	}
	pthread_mutex_unlock(&b.mu);

	while (!quit) {
		struct timespec ts = { 0, 250 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		if (!signer_alive(&b)) {
			ret = 1;
			break;
		}
		pthread_mutex_lock(&b.mu);
		sched_expire(&b);
		pthread_mutex_unlock(&b.mu);
		publish_pending(&b);
	}
	log_info("binfarm-builder stopping");
	api_stop(&b);
	if (!quit)
		goto out;
	ret = 0;
out:
	api_stop(&b);	/* again: an api_init() before a failed start */
	db_close(&b);
	signer_stop(&b);
	bf_repo_free(b.repo);
	if (loaded)
		bcfg_release(&b.cfg);
	bf_buf_release(&cf);
	bf_buf_release(&url);
	free(profiles);
	free(repos);
	free(uhome);
	return ret;
}
