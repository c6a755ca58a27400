dist_man_MANS += \
	man/binfarm.1 \
	man/binfarm-index.1 \
	man/binfarm-inspect.1 \
	man/binfarm-pack.1 \
	man/binfarm-plan.1 \
	man/binfarm-profile.5 \
	man/binfarm-tree.1 \
	man/binfarm-verify.1 \
	man/binfarm-binhost.8 \
	man/binfarm-binhost.conf.5 \
	man/gpkg.5 \
	man/Packages.5
dist_man_MANS += \
	man/binfarm-add.1 \
	man/binfarm-fsck.1 \
	man/binfarm-gc.1 \
	man/binfarm-key.1 \
	man/binfarm-promote.1 \
	man/binfarm-remove.1 \
	man/binfarm-repo.1 \
	man/binfarm-snapshot.1 \
	man/binfarm-repository.5 \
	man/binfarm-node.1 \
	man/binfarm-nodes.conf.5 \
	man/binfarm-release.1 \
	man/binfarm-builder.8 \
	man/binfarm-builder.conf.5 \
	man/binfarm-worker.8 \
	man/binfarm-rebuild.1

check-man:
	@if command -v mandoc >/dev/null 2>&1; then \
		cd $(top_srcdir) && out=$$(mandoc -Tlint -Wwarning $(dist_man_MANS) 2>&1); \
		if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
		echo "man pages: mandoc -Tlint clean"; \
	else echo "mandoc not installed; man pages not linted"; fi

# 'man binfarm-<command>' for the commands documented on a shared page
# (binfarm(1) sends users there): links installed beside the page.
BF_MAN_LINKS = \
	binfarm-promote.1:binfarm-rollback.1 \
	binfarm-promote.1:binfarm-history.1 \
	binfarm-promote.1:binfarm-waves.1 \
	binfarm-rebuild.1:binfarm-status.1 \
	binfarm-rebuild.1:binfarm-log.1 \
	binfarm-rebuild.1:binfarm-retry.1 \
	binfarm-rebuild.1:binfarm-cancel.1 \
	binfarm-release.1:binfarm-fleet.1

install-data-hook: install-man-links
install-man-links:
	@for l in $(BF_MAN_LINKS); do \
		t=$${l%%:*}; n=$${l#*:}; \
		echo " ln -sf $$t '$(DESTDIR)$(man1dir)/$$n'"; \
		ln -sf "$$t" "$(DESTDIR)$(man1dir)/$$n" || exit 1; \
	done

uninstall-hook: uninstall-man-links
uninstall-man-links:
	@for l in $(BF_MAN_LINKS); do \
		rm -f "$(DESTDIR)$(man1dir)/$${l#*:}"; \
	done

.PHONY: install-man-links uninstall-man-links
