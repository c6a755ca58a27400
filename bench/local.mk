EXTRA_DIST += bench/RESULTS.md bench/bench-pack.sh bench/bench-index.sh \
	bench/bench-plan.sh bench/gen-tree.py bench/bench-repo.sh bench/bench-binhost.sh \
	bench/bench-root.sh bench/bench-wave.sh bench/lib-serve.sh \
	bench/wave-client.c bench/bench-fleet.sh
bench: all
	$(SHELL) $(top_srcdir)/bench/bench-pack.sh
	BF_BUILD_DIR=$(abs_top_builddir) $(SHELL) $(top_srcdir)/bench/bench-index.sh
	BF_BUILD_DIR=$(abs_top_builddir) bash $(top_srcdir)/bench/bench-plan.sh
	BF_BUILD_DIR=$(abs_top_builddir) $(SHELL) $(top_srcdir)/bench/bench-repo.sh
	$(SHELL) $(top_srcdir)/bench/bench-binhost.sh
	BF_BUILD_DIR=$(abs_top_builddir) $(SHELL) $(top_srcdir)/bench/bench-sched.sh
	$(SHELL) $(top_srcdir)/bench/bench-fleet.sh
.PHONY: bench
EXTRA_DIST += bench/bench-sched.sh
