# binfarm-worker: runs build jobs for binfarm-builder.  The build drivers'
# scripts are found installed in pkgdatadir, else in the source tree.
sbin_PROGRAMS += binfarm-worker
binfarm_worker_CFLAGS = $(AM_CFLAGS) $(BF_DEP_CFLAGS) $(JANSSON_CFLAGS) \
	-DBF_SANDBOX_INST='"$(pkgdatadir)/bf-sandbox.sh"' \
	-DBF_SANDBOX_SRC='"$(abs_top_srcdir)/worker/bf-sandbox.sh"' \
	-DBF_EBUILD_INST='"$(pkgdatadir)/bf-ebuild.sh"' \
	-DBF_EBUILD_SRC='"$(abs_top_srcdir)/worker/bf-ebuild.sh"'
binfarm_worker_LDADD = $(BF_LIBS) $(JANSSON_LIBS)
binfarm_worker_SOURCES = \
	worker/worker.c worker/worker.h \
	worker/build.c \
	worker/driver-ebuild.c \
	worker/root.c worker/root.h \
	worker/upload.c \
	worker/job.c \
	worker/client.c
dist_pkgdata_DATA = worker/bf-sandbox.sh worker/bf-ebuild.sh
