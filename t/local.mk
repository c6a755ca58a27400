# Tests: TAP, run by automake's tap-driver.sh.  Shell tests follow git's
# t/test-lib.sh; unit tests are small C programs printing TAP.
TEST_EXTENSIONS = .sh
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
SH_LOG_DRIVER = $(LOG_DRIVER)
AM_TESTS_ENVIRONMENT = \
	BF_BUILD_DIR='$(abs_top_builddir)'; BF_SRC_DIR='$(abs_top_srcdir)'; \
	export BF_BUILD_DIR BF_SRC_DIR;

check_PROGRAMS += t/helper/bf-test-tool
t_helper_bf_test_tool_SOURCES = t/helper/bf-test-tool.c
t_helper_bf_test_tool_LDADD = $(BF_LIBS)
check_PROGRAMS += t/helper/bf-index-tool
t_helper_bf_index_tool_SOURCES = t/helper/bf-index-tool.c
t_helper_bf_index_tool_LDADD = $(BF_LIBS)

UNIT_TESTS = \
	t/unit/u-atom \
	t/unit/u-buf \
	t/unit/u-conf \
	t/unit/u-console \
	t/unit/u-depstr \
	t/unit/u-digest \
	t/unit/u-farm \
	t/unit/u-groups \
	t/unit/u-map \
	t/unit/u-nodes \
	t/unit/u-penalty \
	t/unit/u-release \
	t/unit/u-metrics \
	t/unit/u-pkgindex \
	t/unit/u-sched \
	t/unit/u-store \
	t/unit/u-xpak \
	t/unit/u-zst
check_PROGRAMS += $(UNIT_TESTS)
t_unit_u_atom_SOURCES = t/unit/u-atom.c t/unit/tap.h
t_unit_u_atom_LDADD = $(BF_LIBS)
t_unit_u_console_SOURCES = t/unit/u-console.c t/unit/tap.h \
	builder/console-html.c builder/console-session.c
t_unit_u_console_CFLAGS = $(binfarm_builder_CFLAGS)
t_unit_u_console_LDADD = $(BF_LIBS)
t_unit_u_buf_SOURCES = t/unit/u-buf.c t/unit/tap.h
t_unit_u_buf_LDADD = $(BF_LIBS)
t_unit_u_conf_SOURCES = t/unit/u-conf.c t/unit/tap.h
t_unit_u_conf_LDADD = $(BF_LIBS)
t_unit_u_depstr_SOURCES = t/unit/u-depstr.c t/unit/tap.h
t_unit_u_depstr_LDADD = $(BF_LIBS)
t_unit_u_digest_SOURCES = t/unit/u-digest.c t/unit/tap.h
t_unit_u_digest_LDADD = $(BF_LIBS)
# The farm's rows and JSON with the builder's database layer.
t_unit_u_farm_SOURCES = t/unit/u-farm.c t/unit/tap.h \
	builder/api-farm.c builder/db.c builder/db-farm.c builder/db-jobs.c \
	builder/workers.c
t_unit_u_farm_CFLAGS = $(binfarm_builder_CFLAGS)
t_unit_u_farm_LDADD = $(binfarm_builder_LDADD)
t_unit_u_groups_SOURCES = t/unit/u-groups.c t/unit/tap.h
t_unit_u_groups_LDADD = $(BF_LIBS)
t_unit_u_penalty_SOURCES = t/unit/u-penalty.c t/unit/tap.h
t_unit_u_penalty_LDADD = $(BF_LIBS)
t_unit_u_map_SOURCES = t/unit/u-map.c t/unit/tap.h
t_unit_u_map_LDADD = $(BF_LIBS)
# The builder's /metrics: rendering, and reading it from a database.
t_unit_u_metrics_SOURCES = t/unit/u-metrics.c t/unit/tap.h \
	builder/db.c builder/db-farm.c builder/db-jobs.c builder/db-rebuilds.c \
	builder/db-metrics.c builder/metrics.c builder/workers.c
t_unit_u_metrics_CFLAGS = $(binfarm_builder_CFLAGS)
t_unit_u_metrics_LDADD = $(binfarm_builder_LDADD)
t_unit_u_nodes_SOURCES = t/unit/u-nodes.c t/unit/tap.h
t_unit_u_nodes_LDADD = $(BF_LIBS)
t_unit_u_release_SOURCES = t/unit/u-release.c t/unit/tap.h
t_unit_u_release_LDADD = $(BF_LIBS)
t_unit_u_pkgindex_SOURCES = t/unit/u-pkgindex.c t/unit/tap.h
t_unit_u_pkgindex_LDADD = $(BF_LIBS)
# The scheduler with the builder's own sources (builder.c's main aside).
t_unit_u_sched_SOURCES = t/unit/u-sched.c t/unit/tap.h \
	builder/api.c builder/api-jobs.c builder/auth.c builder/config.c \
	builder/db.c builder/db-jobs.c builder/db-rebuilds.c builder/ingest.c \
	builder/pin.c builder/publish.c builder/rebuild.c builder/sched.c \
	builder/signer.c builder/workers.c \
	builder/api-farm.c builder/db-farm.c \
	builder/db-metrics.c builder/metrics.c \
	builder/console.c builder/console-html.c builder/console-pages.c \
	builder/console-rebuilds.c builder/console-repo.c builder/console-releases.c \
	builder/console-session.c builder/console-why.c
t_unit_u_sched_CFLAGS = $(binfarm_builder_CFLAGS)
t_unit_u_sched_LDADD = $(binfarm_builder_LDADD)
t_unit_u_store_SOURCES = t/unit/u-store.c t/unit/tap.h
t_unit_u_store_LDADD = $(BF_LIBS)
t_unit_u_xpak_SOURCES = t/unit/u-xpak.c t/unit/tap.h
t_unit_u_xpak_LDADD = $(BF_LIBS)
t_unit_u_zst_SOURCES = t/unit/u-zst.c t/unit/tap.h
t_unit_u_zst_LDADD = $(BF_LIBS)

SHELL_TESTS = \
	t/t0000-basic.sh \
	t/t0005-layers.sh \
	t/t0010-vercmp.sh \
	t/t0020-profile.sh \
	t/t0030-tree.sh \
	t/t0040-plan.sh \
	t/t0050-sample.sh \
	t/t0060-portage-profile.sh \
	t/t0070-license-required-use.sh \
	t/t0090-http-client.sh \
	t/t1000-pack.sh \
	t/t1100-verify.sh \
	t/t1110-verify-big.sh \
	t/t1200-inspect.sh \
	t/t2000-index.sh \
	t/t2001-index-incremental.sh \
	t/t2002-index-bad.sh \
	t/t2003-index-dircache.sh \
	t/t2004-index-usereduce.sh \
	t/t2005-index-add.sh \
	t/t2006-index-kill.sh
SHELL_TESTS += \
	t/t3000-repo.sh \
	t/t3100-sign.sh \
	t/t3110-key-home.sh \
	t/t3200-promote.sh \
	t/t3210-promote-waves.sh \
	t/t3300-gc-fsck.sh \
	t/t3400-kill.sh \
	t/t3500-json.sh
SHELL_TESTS += \
	t/t4000-binhost-serve.sh \
	t/t4010-binhost-conditional.sh \
	t/t4020-binhost-range.sh \
	t/t4030-binhost-hostile.sh \
	t/t4040-binhost-auth-tls.sh \
	t/t4042-binhost-auth-penalty.sh \
	t/t4050-binhost-daemon.sh \
	t/t4060-binhost-allowlist.sh \
	t/t4062-http-framing.sh \
	t/t4065-binhost-conf-twice.sh \
	t/t4070-binhost-slow-clients.sh \
	t/t4080-service-files.sh \
	t/t4090-binhost-wave.sh \
	t/t4095-binhost-file-loop.sh \
	t/t4096-binhost-file-cache.sh \
	t/t5000-farm.sh \
	t/t5001-farm-faults.sh \
	t/t5002-farm-sched.sh \
	t/t5003-farm-trust.sh \
	t/t5004-builder-auth-penalty.sh \
	t/t5010-farm-sample.sh \
	t/t5020-builder-hostile.sh \
	t/t5030-ingest-fidelity.sh \
	t/t5050-builder-signer.sh \
	t/t5060-builder-metrics.sh \
	t/t5065-farm-wait.sh \
	t/t5070-builder-console.sh \
	t/t5071-builder-console-chromium.sh \
	t/t5072-builder-console-release.sh \
	t/t5100-ebuild-driver.sh \
	t/t5101-ebuild-distfiles.sh \
	t/t5102-sandbox-fidelity.sh \
	t/t5103-build-root-path.sh \
	t/t5104-checkout-cache.sh
SHELL_TESTS += \
	t/t6000-node-inventory.sh \
	t/t6010-release.sh
# binfarm-node (node/): the node's side; t6110 with real Portage
SHELL_TESTS += \
	t/t6100-node-setup.sh \
	t/t6110-node-portage.sh

TESTS += $(UNIT_TESTS) $(SHELL_TESTS)
EXTRA_DIST += $(SHELL_TESTS) t/test-lib.sh t/lib-gpkg.sh t/helper/gpkg-tamper.py \
	t/lib-tree.sh t/lsan-libgit2.supp profiles sample \
	t/lib-httpd.sh t/helper/raw-http.py t/helper/per-ip.py t/helper/http-frame.py \
	t/helper/slowloris.py t/helper/unit-exec.py t/helper/wave.py \
	t/helper/http-peer.py t/helper/conns.py t/helper/keepalive.py
EXTRA_DIST += t/lib-index.sh
EXTRA_DIST += t/lib-repo.sh
EXTRA_DIST += t/lib-farm.sh
EXTRA_DIST += t/lib-console.sh t/helper/console-chromium.py t/helper/console-release-chromium.py t/helper/console_browser.py
EXTRA_DIST += t/lib-portage.sh
EXTRA_DIST += t/lib-binhost-files.sh
EXTRA_DIST += t/README
# Packages headers written by real Portage (a20ef27af) for the sample tree
EXTRA_DIST += t/golden

check-local: check-man

# A trash may be a link to a short directory in /tmp (see t/test-lib.sh).
clean-local:
	-for l in t/trash.*; do \
		if test -L "$$l"; then rm -rf "$$(readlink "$$l")"; fi; \
	done
	-rm -rf t/trash.* t/.binhost-pids.*
