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

# binfarm-binhost: the read-only HTTP server of a repository.
sbin_PROGRAMS += binfarm-binhost
binfarm_binhost_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(CRYPTO_CFLAGS)
binfarm_binhost_LDADD = $(BF_LIBS)
binfarm_binhost_SOURCES = \
	binhost/binhost.h \
	binhost/binhostd.c \
	binhost/auth.c \
	binhost/http.c \
	binhost/metrics.c \
	binhost/serve.c

# The engineers' farm commands (builder/ API client).
binfarm_SOURCES += binhost/repo-farm.c
binfarm_CFLAGS += $(JANSSON_CFLAGS)
binfarm_LDADD += $(JANSSON_LIBS)
