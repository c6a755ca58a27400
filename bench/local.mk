EXTRA_DIST += bench/RESULTS.md
bench: all
	$(SHELL) $(top_srcdir)/bench/bench-pack.sh
.PHONY: bench
