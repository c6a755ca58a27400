# binfarm-node: the node's side (POSIX shell, binfarm-node(8)), made from
# node/binfarm-node.in with the version.
sbin_SCRIPTS = binfarm-node
EXTRA_DIST += node/binfarm-node.in
CLEANFILES += binfarm-node
dist_man_MANS += man/binfarm-node.8

binfarm-node: $(srcdir)/node/binfarm-node.in Makefile
	$(AM_V_GEN)rm -f $@ $@.tmp && \
	sed -e 's|@VERSION[@]|$(VERSION)|g' $(srcdir)/node/binfarm-node.in >$@.tmp && \
	chmod +x $@.tmp && mv $@.tmp $@
