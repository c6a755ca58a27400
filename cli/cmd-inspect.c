/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm inspect: a package's metadata, or its contents; reading the
 * metadata never decompresses the image.
 */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "cli.h"
#include "base/err.h"
#include "format/gpkg.h"
#include "format/meta.h"
#include "base/banned.h"

static const char inspect_usage[] = "[--list | --key KEY] FILE";

static const char inspect_help[] =
    "Prints the metadata of a .gpkg.tar as 'KEY: value' lines, values with\n"
    "white space collapsed as Portage reads them; binary members such as\n"
    "environment.bz2 are shown by size.\n"
    "\n"
    "  -l, --list         list the image contents instead (like tar -tv)\n"
    "  -k, --key KEY      print the raw value of one metadata key\n";

static int
is_text(const struct bf_meta_item *it)
{
	size_t i;

	for (i = 0; i < it->len; i++) {
		unsigned char c = (unsigned char)it->val[i];

		if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
			return 0;
	}
	return 1;
}

static void
mode_string(unsigned mode, char *s)
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	switch (mode & S_IFMT) {
	case S_IFDIR: s[0] = 'd'; break;
	case S_IFLNK: s[0] = 'l'; break;
	default: s[0] = '-'; break;
	}
	for (i = 0; i < 9; i++)
		s[i + 1] = (mode & (1u << (8 - i))) ? rwx[i] : '-';
	if (mode & S_ISUID)
		s[3] = (mode & S_IXUSR) ? 's' : 'S';
	if (mode & S_ISGID)
		s[6] = (mode & S_IXGRP) ? 's' : 'S';
	if (mode & S_ISVTX)
		s[9] = (mode & S_IXOTH) ? 't' : 'T';
	s[10] = '\0';
}

static int
list_cb(void *arg, const struct bf_gpkg_entry *ent)
{
	char mode[11], when[32];
	struct tm tm;
	time_t t = (time_t)ent->mtime;

	(void)arg;
	mode_string(ent->mode, mode);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	printf("%s %s/%s %10" PRId64 " %s %s", mode,
	    ent->uname && *ent->uname ? ent->uname : "-",
	    ent->gname && *ent->gname ? ent->gname : "-", ent->size, when, ent->path);
	if (ent->linkname != NULL)
		printf(" -> %s", ent->linkname);
	if (ent->hardlink != NULL)
		printf(" link to %s", ent->hardlink);
	putchar('\n');
	return 0;
}

int
cmd_inspect(struct bf_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "list", no_argument, NULL, 'l' },
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bf_meta meta = BF_META_INIT;
	struct bf_err e = BF_ERR_INIT;
	struct bf_buf v = BF_BUF_INIT;
	const char *key = NULL, *file;
	char *base = NULL;
	size_t i;
	int c, fd = -1, list = 0, rc, ret = BF_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "lk:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			list = 1;
			break;
		case 'k':
			key = optarg;
			break;
		case 'h':
			return cli_help(cli, inspect_usage, inspect_help);
		default:
			return cli_usage(cli, inspect_usage);
		}
	}
	if (optind + 1 != argc || (list && key != NULL))
		return cli_usage(cli, inspect_usage);
	file = argv[optind];
	if ((fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		rc = bf_err_errno(&e, "cannot open '%s'", file);
		cli_error(cli, "%s", e.msg);
		return BF_EXIT_ERROR;
	}
	if (list) {
		rc = bf_gpkg_list(fd, file, list_cb, NULL, &e);
		if (rc < 0) {
			cli_error(cli, "'%s': %s", file, bf_err_msg(&e, rc));
			goto out;
		}
		ret = BF_EXIT_OK;
		goto out;
	}
	if ((rc = bf_gpkg_read_metadata(fd, file, &meta, &base, &e)) < 0) {
		cli_error(cli, "'%s': %s", file, bf_err_msg(&e, rc));
		goto out;
	}
	bf_meta_sort(&meta);
	if (key != NULL) {
		const struct bf_meta_item *it = bf_meta_find(&meta, key);

		if (it == NULL) {
			cli_error(cli, "'%s' has no metadata key '%s'", file, key);
			ret = BF_EXIT_FAIL;
			goto out;
		}
		fwrite(it->val, 1, it->len, stdout);
		ret = BF_EXIT_OK;
		goto out;
	}
	for (i = 0; i < meta.n; i++) {
		if (!is_text(&meta.v[i])) {
			printf("%s: (binary, %zu bytes)\n", meta.v[i].key, meta.v[i].len);
			continue;
		}
		bf_buf_reset(&v);
		bf_meta_get(&meta, meta.v[i].key, &v);
		if (strchr(meta.v[i].val, '\n') != NULL &&
		    strchr(meta.v[i].val, '\n') < meta.v[i].val + meta.v[i].len - 1)
			printf("%s: (text, %zu bytes)\n", meta.v[i].key, meta.v[i].len);
		else
			printf("%s: %s\n", meta.v[i].key, v.buf);
	}
	ret = BF_EXIT_OK;
out:
	free(base);
	bf_buf_release(&v);
	bf_meta_release(&meta);
	if (fd >= 0)
		close(fd);
	return ret;
}
