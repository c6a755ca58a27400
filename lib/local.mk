noinst_LIBRARIES += lib/libbinfarm.a
lib_libbinfarm_a_CFLAGS = $(AM_CFLAGS) $(BF_DEP_CFLAGS)
lib_libbinfarm_a_SOURCES = \
	lib/atom.c lib/atom.h \
	lib/baseprof.c lib/baseprof.h \
	lib/banned.h \
	lib/buf.c lib/buf.h \
	lib/conf.c lib/conf.h \
	lib/depstr.c lib/depstr.h \
	lib/digest.c lib/digest.h \
	lib/dircache.c lib/dircache.h \
	lib/err.c lib/err.h \
	lib/fsutil.c lib/fsutil.h \
	lib/gpkg.c lib/gpkg.h \
	lib/gpkgsign.c lib/gpkgsign.h \
	lib/http.c lib/http.h \
	lib/keys.c lib/keys.h \
	lib/httpcheck.c lib/httpcheck.h \
	lib/lockfile.c lib/lockfile.h \
	lib/log.c lib/log.h \
	lib/manifest.c lib/manifest.h \
	lib/meta.c lib/meta.h \
	lib/pkgdir.c lib/pkgdir.h \
	lib/pkgindex.c lib/pkgindex.h \
	lib/plan.c lib/plan.h \
	lib/profile.c lib/profile.h \
	lib/promote.c lib/promote.h \
	lib/pystr.c lib/pystr.h \
	lib/recover.c lib/recover.h \
	lib/repo.c lib/repo.h \
	lib/sign.c lib/sign.h \
	lib/strmap.c lib/strmap.h \
	lib/tree.c lib/tree.h \
	lib/xpak.c lib/xpak.h \
	lib/zst.c lib/zst.h
