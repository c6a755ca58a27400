# binfarm: the command.  binfarm.c holds the command table and main();
# each cmd-<name>.c holds a command (cmd-promote.c also rollback, history
# and waves; cmd-farm.c the builder's client commands rebuild, status,
# log, retry and cancel); cli.c the messages, repocli.c opening and
# locking a repository for a command.
bin_PROGRAMS += binfarm
binfarm_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
binfarm_LDADD = $(BF_LIBS) $(JANSSON_LIBS)
binfarm_SOURCES = \
	cli/binfarm.c \
	cli/cli.c cli/cli.h \
	cli/repocli.c cli/repocli.h
# packages, indexes, trees and plans
binfarm_SOURCES += \
	cli/cmd-pack.c cli/cmd-verify.c cli/cmd-inspect.c cli/cmd-index.c \
	cli/cmd-tree.c cli/cmd-plan.c
# the repository
binfarm_SOURCES += \
	cli/cmd-repo.c cli/cmd-key.c cli/cmd-add.c cli/cmd-remove.c \
	cli/cmd-snapshot.c cli/cmd-promote.c cli/cmd-gc.c cli/cmd-fsck.c
# the build farm's client (binfarm-builder's API)
binfarm_SOURCES += cli/cmd-farm.c
