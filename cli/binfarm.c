/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * binfarm: the command a person types.  One subcommand per file, listed
 * in commands[] (git's builtin table).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "release.h"
#include "repocli.h"
#include "base/banned.h"

static const struct bf_cmd commands[] = {
	{ "pack", cmd_pack, "create a GLEP 78 binary package (.gpkg.tar)" },
	{ "verify", cmd_verify, "check binary packages as Portage does, and more" },
	{ "inspect", cmd_inspect, "print a binary package's metadata or contents" },
	{ "tree", cmd_tree, "pin ebuild repositories to commits" },
	{ "plan", cmd_plan, "plan a hw-profile's builds" },
	{ "index", cmd_index, "write or check a PKGDIR's Packages index as Portage does" },
	{ "repo", cmd_repo, "create a repository (repo init DIR)" },
	{ "key", cmd_key, "make or export the repository's signing key" },
	{ "add", cmd_add, "verify, sign and stage packages in a profile" },
	{ "remove", cmd_remove, "take packages out of a profile's working set" },
	{ "snapshot", cmd_snapshot, "create, list, show and diff snapshots" },
	{ "promote", cmd_promote, "move a channel to a snapshot" },
	{ "rollback", cmd_rollback, "return a channel to its previous snapshot" },
	{ "history", cmd_history, "show every channel move" },
	{ "waves", cmd_waves, "show where each wave of a channel stands" },
	{ "gc", cmd_gc, "delete what no retained snapshot references" },
	{ "fsck", cmd_fsck, "check the repository" },
	{ "node", cmd_node, "add, list, show and remove the inventory's nodes" },
	{ "release", cmd_release, "release a snapshot to a channel's nodes in waves" },
	{ "fleet", cmd_fleet, "show what every node fetched and its wave" },
	{ "rebuild", cmd_rebuild, "ask the builder to rebuild a hw-profile" },
	{ "status", cmd_status, "show the build farm's queue, jobs and workers" },
	{ "log", cmd_log, "print and follow a package's build log" },
	{ "retry", cmd_retry, "retry failed build jobs" },
	{ "cancel", cmd_cancel, "cancel build jobs or a rebuild" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: binfarm [--version] [--help] [-R DIR] <command> [<args>]\n\n"
	    "commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "   %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nSee 'binfarm <command> --help' or 'man binfarm-<command>'.\n");
}

int
main(int argc, char **argv)
{
	struct bf_cli cli = { "binfarm", NULL, 0, 0, 0 };
	size_t i;

	cli.tty = isatty(STDERR_FILENO);
	/* binfarm -R DIR <command>: the repository for every command. */
	while (argc >= 3 && strcmp(argv[1], "-R") == 0) {
		if (setenv("BINFARM_REPO", argv[2], 1) < 0) {
			perror("binfarm: setenv");
			return BF_EXIT_ERROR;
		}
		argc -= 2;
		argv += 2;
	}
	if (argc < 2) {
		usage(stderr);
		return BF_EXIT_ERROR;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return BF_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("binfarm %s\n", PACKAGE_VERSION);
		return BF_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			cli.cmdname = commands[i].name;
			return commands[i].fn(&cli, argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "binfarm: '%s' is not a binfarm command; see 'binfarm --help'\n",
	    argv[1]);
	return BF_EXIT_ERROR;
}
