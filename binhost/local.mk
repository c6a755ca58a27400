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

# The engineers' farm commands (builder/ API client).
binfarm_SOURCES += binhost/repo-farm.c
binfarm_CFLAGS += $(JANSSON_CFLAGS)
binfarm_LDADD += $(JANSSON_LIBS)
