bin_PROGRAMS += binfarm
binfarm_CFLAGS = $(AM_CFLAGS)
binfarm_LDADD = $(BF_LIBS)
binfarm_SOURCES = \
	binhost/cli.c binhost/cli.h \
	binhost/repo-main.c
binfarm_SOURCES += binhost/repo-plan.c binhost/repo-tree.c
