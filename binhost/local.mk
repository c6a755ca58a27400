bin_PROGRAMS += binfarm
binfarm_CFLAGS = $(AM_CFLAGS)
binfarm_LDADD = $(BF_LIBS)
binfarm_SOURCES = \
	binhost/cli.c binhost/cli.h \
	binhost/repo-main.c \
	binhost/repo-index.c \
	binhost/repo-inspect.c \
	binhost/repo-pack.c \
	binhost/repo-plan.c \
	binhost/repo-tree.c \
	binhost/repo-verify.c
# repository commands
binfarm_SOURCES += binhost/repocli.c binhost/repocli.h \
	binhost/repo-repo.c binhost/repo-key.c binhost/repo-add.c \
	binhost/repo-remove.c binhost/repo-snapshot.c binhost/repo-promote.c \
	binhost/repo-gc.c binhost/repo-fsck.c
