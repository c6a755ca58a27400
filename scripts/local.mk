EXTRA_DIST += scripts/bootstrap.sh scripts/demo.sh scripts/check.sh \
	scripts/md5-cache.sh scripts/sample-tree.sh scripts/emerge-check.sh \
	scripts/portage-layer.sh scripts/stage3-root.sh scripts/check-layers.sh
