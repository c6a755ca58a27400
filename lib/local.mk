noinst_LIBRARIES += lib/libbinfarm.a
lib_libbinfarm_a_CFLAGS = $(AM_CFLAGS) $(BF_DEP_CFLAGS)
lib_libbinfarm_a_SOURCES = \
	lib/atom.c lib/atom.h \
	lib/banned.h \
	lib/buf.c lib/buf.h \
	lib/conf.c lib/conf.h \
	lib/digest.c lib/digest.h \
	lib/err.c lib/err.h \
	lib/gpkg.c lib/gpkg.h \
	lib/lockfile.c lib/lockfile.h \
	lib/log.c lib/log.h \
	lib/manifest.c lib/manifest.h \
	lib/meta.c lib/meta.h \
	lib/plan.c lib/plan.h \
	lib/profile.c lib/profile.h \
	lib/tree.c lib/tree.h \
	lib/zst.c lib/zst.h
