# binfarm-builder, binfarm-worker: the build farm (issue 5).
FARM_CFLAGS = $(AM_CFLAGS) $(BF_DEP_CFLAGS) $(JANSSON_CFLAGS) $(SQLITE_CFLAGS) \
	-DSYSCONFDIR='"$(sysconfdir)"' \
	-DBF_SANDBOX_INST='"$(pkgdatadir)/bf-sandbox.sh"' \
	-DBF_SANDBOX_SRC='"$(abs_top_srcdir)/builder/worker/bf-sandbox.sh"' \
	-DBF_EBUILD_INST='"$(pkgdatadir)/bf-ebuild.sh"' \
	-DBF_EBUILD_SRC='"$(abs_top_srcdir)/builder/worker/bf-ebuild.sh"'

sbin_PROGRAMS += binfarm-builder
binfarm_builder_CFLAGS = $(FARM_CFLAGS)
binfarm_builder_LDADD = $(BF_LIBS) $(JANSSON_LIBS) $(SQLITE_LIBS)
binfarm_builder_SOURCES = \
	builder/builder.c builder/builder.h \
	builder/api.c \
	builder/config.c \
	builder/db.c \
	builder/ingest.c \
	builder/log.c \
	builder/sched.c \
	builder/signer.c \
	builder/workers.c

sbin_PROGRAMS += binfarm-worker
binfarm_worker_CFLAGS = $(FARM_CFLAGS)
binfarm_worker_LDADD = $(BF_LIBS) $(JANSSON_LIBS)
binfarm_worker_SOURCES = \
	builder/worker/worker.c builder/worker/worker.h \
	builder/worker/build.c \
	builder/worker/driver-ebuild.c \
	builder/worker/root.c builder/worker/root.h \
	builder/worker/upload.c \
	builder/log.c
dist_pkgdata_DATA = builder/worker/bf-sandbox.sh builder/worker/bf-ebuild.sh
