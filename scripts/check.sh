#!/bin/sh
# The README's test command: build (installing dependencies if needed)
# and run the whole test suite.
set -eu
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh --enable-werror
make -s -j"$(nproc)" check
