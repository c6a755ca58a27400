# Helpers for tests that make packages.  Source after test-lib.sh.

TAMPER="$TEST_DIRECTORY/helper/gpkg-tamper.py"

# make_image DIR: a small ${D} with the things an image must keep.
make_image() {
	mkdir -p "$1/usr/bin" "$1/usr/lib" "$1/usr/share/doc/foo-1.0" "$1/etc/empty" &&
	printf '#!/bin/sh\necho hello\n' >"$1/usr/bin/foo" &&
	chmod 755 "$1/usr/bin/foo" &&
	ln -s foo "$1/usr/bin/foo-link" &&
	ln "$1/usr/bin/foo" "$1/usr/bin/foo-hard" &&
	ln -s /usr/lib/libfoo.so.1 "$1/usr/lib/libfoo.so" &&
	printf 'library\n' >"$1/usr/lib/libfoo.so.1" &&
	echo "read me" >"$1/usr/share/doc/foo-1.0/README" &&
	chmod 4755 "$1/usr/bin/foo"
}

# make_build_info DIR CATEGORY PF [SLOT]
make_build_info() {
	mkdir -p "$1" &&
	echo "$2" >"$1/CATEGORY" &&
	echo "$3" >"$1/PF" &&
	echo "${4-0}" >"$1/SLOT" &&
	echo 8 >"$1/EAPI" &&
	echo "amd64" >"$1/KEYWORDS" &&
	echo "MIT" >"$1/LICENSE" &&
	echo "x86_64-pc-linux-gnu" >"$1/CHOST" &&
	echo "-O2 -pipe" >"$1/CFLAGS" &&
	echo "abi_x86_64 amd64" >"$1/USE" &&
	echo "install" >"$1/DEFINED_PHASES" &&
	echo "gentoo" >"$1/repository" &&
	echo "1700000000" >"$1/BUILD_TIME"
}

# make_pkg OUT [CATEGORY PF [BUILD_ID]]: a good package.
make_pkg() {
	rm -rf mkpkg.img mkpkg.info &&
	make_image mkpkg.img &&
	make_build_info mkpkg.info "${2-app-misc}" "${3-foo-1.0}" &&
	binfarm pack -q --image mkpkg.img --build-info mkpkg.info \
		--build-id "${4-1}" -o "$1" &&
	rm -rf mkpkg.img mkpkg.info
}
