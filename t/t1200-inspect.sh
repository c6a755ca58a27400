#!/bin/sh
test_description='binfarm inspect: metadata without the image, and --list'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-gpkg.sh"

test_expect_success 'setup' '
	make_pkg foo.gpkg.tar app-misc foo-1.0 2
'

test_expect_success 'metadata as sorted KEY: value lines' '
	binfarm inspect foo.gpkg.tar >out &&
	test_grep "^CATEGORY: app-misc$" out &&
	test_grep "^PF: foo-1.0$" out &&
	test_grep "^BUILD_ID: 2$" out &&
	test_grep "^USE: abi_x86_64 amd64$" out &&
	cut -d: -f1 out >keys &&
	LC_ALL=C sort keys >sorted &&
	test_cmp sorted keys
'

test_expect_success '--key prints one raw value' '
	binfarm inspect --key CFLAGS foo.gpkg.tar >out &&
	echo "-O2 -pipe" >expect &&
	test_cmp expect out &&
	test_expect_code 1 binfarm inspect --key NOPE foo.gpkg.tar 2>err &&
	test_grep "no metadata key .NOPE." err
'

test_expect_success PYTHON 'reading metadata never decompresses the image' '
	"$TAMPER" foo.gpkg.tar broken-image.gpkg.tar flip image.tar.zst &&
	binfarm inspect broken-image.gpkg.tar >out &&
	test_grep "^PF: foo-1.0$" out &&
	test_must_fail binfarm inspect --list broken-image.gpkg.tar 2>err
'

test_expect_success '--list shows the image like tar -tv' '
	binfarm inspect --list foo.gpkg.tar >out &&
	test_grep "^-rwsr-xr-x .* image/usr/bin/foo$" out &&
	test_grep "^l.* image/usr/bin/foo-link -> foo$" out &&
	test_grep " image/usr/bin/foo-hard link to image/usr/bin/foo$" out
'

test_expect_success REFERENCE 'metadata of a package written by Portage' '
	binfarm inspect "$REFERENCE_DIR"/gpkg-unsigned/dev-libs/libfoo/libfoo-1.2.3-1.gpkg.tar >out &&
	test_grep "^SLOT: 0/1$" out &&
	test_grep "^IUSE: +static-libs doc$" out &&
	test_grep "^environment.bz2: (binary, [0-9]* bytes)$" out
'

test_expect_success 'errors name the file' '
	: >empty.gpkg.tar &&
	test_expect_code 2 binfarm inspect empty.gpkg.tar 2>err &&
	test_grep "empty.gpkg.tar.*empty file" err &&
	test_expect_code 2 binfarm inspect missing.gpkg.tar 2>err &&
	test_grep "cannot open .missing.gpkg.tar." err &&
	test_expect_code 2 binfarm inspect 2>err &&
	test_grep usage err
'

test_done
