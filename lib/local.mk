# libbinfarm in layers, lowest first.  A file includes only headers of
# its own layer or a lower one, and no include cycle (t/t0005-layers.sh).
noinst_LIBRARIES += lib/libbinfarm.a
lib_libbinfarm_a_CFLAGS = $(AM_CFLAGS) $(BF_DEP_CFLAGS)
lib_libbinfarm_a_SOURCES =
# base: memory, errors, logs, files, atomic writes, config, digests, zstd
lib_libbinfarm_a_SOURCES += \
	lib/base/banned.h \
	lib/base/buf.c lib/base/buf.h \
	lib/base/conf.c lib/base/conf.h \
	lib/base/digest.c lib/base/digest.h \
	lib/base/err.c lib/base/err.h \
	lib/base/fsutil.c lib/base/fsutil.h \
	lib/base/lockfile.c lib/base/lockfile.h \
	lib/base/log.c lib/base/log.h \
	lib/base/map.c lib/base/map.h \
	lib/base/zst.c lib/base/zst.h
# net: the HTTP client (libcurl) and request-head checks
lib_libbinfarm_a_SOURCES += \
	lib/net/http.c lib/net/http.h \
	lib/net/httpcheck.c lib/net/httpcheck.h \
	lib/net/penalty.c lib/net/penalty.h
# portage: atoms, dependency strings, profiles, trees, the planner
lib_libbinfarm_a_SOURCES += \
	lib/portage/atom.c lib/portage/atom.h \
	lib/portage/baseprof.c lib/portage/baseprof.h \
	lib/portage/depstr.c lib/portage/depstr.h \
	lib/portage/groups.c lib/portage/groups.h \
	lib/portage/plan.c lib/portage/plan.h \
	lib/portage/profile.c lib/portage/profile.h \
	lib/portage/tree.c lib/portage/tree.h
# format: GPKG, XPAK, Manifest, the Packages index, PKGDIR
lib_libbinfarm_a_SOURCES += \
	lib/format/dircache.c lib/format/dircache.h \
	lib/format/gpkg.c lib/format/gpkg.h \
	lib/format/manifest.c lib/format/manifest.h \
	lib/format/meta.c lib/format/meta.h \
	lib/format/pkgdir.c lib/format/pkgdir.h \
	lib/format/pkgindex.c lib/format/pkgindex.h \
	lib/format/pystr.c lib/format/pystr.h \
	lib/format/reindex.c lib/format/reindex.h \
	lib/format/xpak.c lib/format/xpak.h
# store: the repository, snapshots, channels, promotion, gc, keys, signing,
# the inventory of nodes
lib_libbinfarm_a_SOURCES += \
	lib/store/channel.c lib/store/channel.h \
	lib/store/chgen.c lib/store/chgen.h \
	lib/store/fsck.c lib/store/fsck.h \
	lib/store/gc.c lib/store/gc.h \
	lib/store/gpkgsign.c lib/store/gpkgsign.h \
	lib/store/keys.c lib/store/keys.h \
	lib/store/nodes.c lib/store/nodes.h \
	lib/store/fleet.c lib/store/fleet.h \
	lib/store/release.c lib/store/release.h \
	lib/store/promote.c lib/store/promote.h \
	lib/store/recover.c lib/store/recover.h \
	lib/store/repo.c lib/store/repo.h \
	lib/store/sign.c lib/store/sign.h \
	lib/store/treesnap.c lib/store/treesnap.h
