EXTRA_DIST += bench/RESULTS.md bench/bench-binhost.sh
bench: all
	$(SHELL) $(top_srcdir)/bench/bench-pack.sh
	$(SHELL) $(top_srcdir)/bench/bench-binhost.sh
.PHONY: bench
