EXTRA_DIST += scripts/bootstrap.sh scripts/demo.sh scripts/check.sh
