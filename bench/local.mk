EXTRA_DIST += bench/RESULTS.md
EXTRA_DIST += bench/bench-index.sh
bench: all
	$(SHELL) $(top_srcdir)/bench/bench-pack.sh
	BF_BUILD_DIR=$(abs_top_builddir) $(SHELL) $(top_srcdir)/bench/bench-index.sh
	BF_BUILD_DIR=$(abs_top_builddir) $(SHELL) $(top_srcdir)/bench/bench-sched.sh
.PHONY: bench
EXTRA_DIST += bench/bench-sched.sh
