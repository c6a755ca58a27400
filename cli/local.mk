# binfarm: the command.  binfarm.c holds the command table and main();
# each cmd-<name>.c holds a command; cli.c the messages, repocli.c
# opening and locking a repository for a command, promote.c what the
# channel commands share, farm.c the client of binfarm-builder's API
# that the farm commands share.
bin_PROGRAMS += binfarm
binfarm_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
binfarm_LDADD = $(BF_LIBS) $(JANSSON_LIBS)
binfarm_SOURCES = \
	cli/binfarm.c \
	cli/cli.c cli/cli.h cli/json.c cli/json.h \
	cli/repocli.c cli/repocli.h
# packages, indexes, trees and plans
binfarm_SOURCES += \
	cli/cmd-pack.c cli/cmd-verify.c cli/cmd-inspect.c cli/cmd-index.c \
	cli/cmd-tree.c cli/cmd-plan.c
# the repository
binfarm_SOURCES += \
	cli/cmd-repo.c cli/cmd-key.c cli/cmd-add.c cli/cmd-remove.c \
	cli/cmd-snapshot.c cli/cmd-gc.c cli/cmd-fsck.c
# channels
binfarm_SOURCES += \
	cli/promote.c cli/promote.h \
	cli/cmd-promote.c cli/cmd-rollback.c cli/cmd-history.c cli/cmd-waves.c
# the fleet: the inventory of nodes, releases in waves, what nodes fetched
binfarm_SOURCES += \
	cli/cmd-node.c \
	cli/release.h cli/release-view.c cli/cmd-release.c cli/cmd-fleet.c
# the build farm's client (binfarm-builder's API)
binfarm_SOURCES += \
	cli/farm.c cli/farm.h \
	cli/cmd-rebuild.c cli/cmd-status.c cli/cmd-log.c cli/cmd-retry.c \
	cli/cmd-cancel.c
