# binfarm-builder: the build farm's scheduler and API (binfarm-worker: worker/).
sbin_PROGRAMS += binfarm-builder
binfarm_builder_CFLAGS = $(AM_CFLAGS) $(BF_DEP_CFLAGS) $(JANSSON_CFLAGS) \
	$(SQLITE_CFLAGS) -DSYSCONFDIR='"$(sysconfdir)"'
binfarm_builder_LDADD = $(BF_LIBS) $(JANSSON_LIBS) $(SQLITE_LIBS)
binfarm_builder_SOURCES = \
	builder/builder.c builder/builder.h \
	builder/api.c \
	builder/api-farm.c \
	builder/api-jobs.c \
	builder/auth.c \
	builder/config.c \
	builder/console.c builder/console.h \
	builder/console-html.c \
	builder/console-pages.c \
	builder/console-rebuilds.c \
	builder/console-repo.c \
	builder/console-releases.c \
	builder/console-session.c \
	builder/console-why.c \
	builder/db.c \
	builder/db-farm.c \
	builder/db-jobs.c builder/db-jobs.h builder/jobs.h \
	builder/db-rebuilds.c \
	builder/db-metrics.c \
	builder/ingest.c \
	builder/metrics.c \
	builder/pin.c \
	builder/publish.c \
	builder/rebuild.c \
	builder/sched.c \
	builder/signer.c \
	builder/workers.c

