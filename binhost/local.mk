# binfarm-binhost: the read-only HTTP server of a repository.
sbin_PROGRAMS += binfarm-binhost
binfarm_binhost_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(CRYPTO_CFLAGS)
binfarm_binhost_LDADD = $(BF_LIBS)
binfarm_binhost_SOURCES = \
	binhost/binhost.h \
	binhost/binhostd.c \
	binhost/auth.c \
	binhost/fcache.c \
	binhost/http.c \
	binhost/metrics.c \
	binhost/fleet.c \
	binhost/serve.c

