#!/bin/sh
test_description='binfarm pack writes GLEP 78 packages as Portage does'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-gpkg.sh"

test_expect_success 'setup image and build-info' '
	make_image img &&
	make_build_info info app-misc foo-1.0
'

test_expect_success 'pack writes a package that verifies' '
	binfarm pack --image img --build-info info --build-id 3 -o foo.gpkg.tar >out &&
	test_grep "foo-1.0-3" out &&
	binfarm verify foo.gpkg.tar
'

test_expect_success 'container: ustar, Portage member order, one PF-BUILDID directory' '
	tar tf foo.gpkg.tar >members &&
	cat >expect <<-\EOF &&
	foo-1.0-3/gpkg-1
	foo-1.0-3/metadata.tar.zst
	foo-1.0-3/image.tar.zst
	foo-1.0-3/Manifest
	EOF
	test_cmp expect members &&
	dd if=foo.gpkg.tar bs=1 skip=257 count=8 2>/dev/null | od -An -c >magic &&
	test_grep "u   s   t   a   r  \\\\0   0   0" magic &&
	tar tvf foo.gpkg.tar >long &&
	test_grep "^-rw-r--r-- 0/0 *0 .*foo-1.0-3/gpkg-1" long
'

test_expect_success 'container size is a whole number of 10240-byte records' '
	size=$(wc -c <foo.gpkg.tar) &&
	test $((size % 10240)) = 0
'

test_expect_success 'Manifest lists every other member with BLAKE2B and SHA512' '
	tar xf foo.gpkg.tar &&
	test_line_count() { test "$(wc -l <"$2")" = "$1"; } &&
	test_line_count 3 foo-1.0-3/Manifest &&
	for m in gpkg-1 metadata.tar.zst image.tar.zst; do
		size=$(wc -c <foo-1.0-3/$m) &&
		b2=$(bf-test-tool digest BLAKE2B foo-1.0-3/$m) &&
		s5=$(bf-test-tool digest SHA512 foo-1.0-3/$m) &&
		echo "DATA $m $size BLAKE2B $b2 SHA512 $s5" >>expect.manifest || return 1
	done &&
	test_cmp expect.manifest foo-1.0-3/Manifest
'

test_expect_success ZSTD 'metadata.tar has metadata/KEY members only, with BUILD_ID' '
	zstd -dc foo-1.0-3/metadata.tar.zst | tar tvf - >meta &&
	! grep -v " metadata/[A-Za-z_.0-9-]*$" meta &&
	test_grep " metadata/CATEGORY$" meta &&
	test_grep " metadata/BUILD_ID$" meta &&
	zstd -dc foo-1.0-3/metadata.tar.zst | tar xOf - metadata/BUILD_ID >id &&
	echo 3 >expect &&
	test_cmp expect id
'

test_expect_success ZSTD 'image keeps modes, symlinks, hard links and empty directories' '
	zstd -dc foo-1.0-3/image.tar.zst | tar tvf - >image &&
	test_grep "^-rwsr-xr-x .* image/usr/bin/foo$" image &&
	test_grep "image/usr/bin/foo-link -> foo" image &&
	test_grep "image/usr/bin/foo-hard link to image/usr/bin/foo" image &&
	test_grep "image/usr/lib/libfoo.so -> /usr/lib/libfoo.so.1" image &&
	test_grep "^d.* image/etc/empty/$" image &&
	test_grep "^d.* image/$" image
'

test_expect_success 'image entries are sorted by name' '
	binfarm inspect --list foo.gpkg.tar | awk "{print \$NF}" >names &&
	binfarm inspect --list foo.gpkg.tar | sed "s/.* \(image[^ ]*\).*/\1/" >paths &&
	LC_ALL=C sort paths >sorted &&
	test_cmp sorted paths
'

test_expect_success 'owners are kept by id and name' '
	binfarm inspect --list foo.gpkg.tar >list &&
	u=$(id -un) && g=$(id -gn) &&
	test_grep "$u/$g .*image/usr/bin/foo$" list
'

test_expect_success SETFATTR 'security.* and user.pax.* xattrs are kept, host labels are not' '
	cp -a img ximg &&
	setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= ximg/usr/bin/foo &&
	setfattr -n user.pax.flags -v em ximg/usr/bin/foo &&
	setfattr -n user.comment -v hello ximg/usr/bin/foo &&
	binfarm pack -q -i ximg -b info -o x.gpkg.tar &&
	tar xOf x.gpkg.tar foo-1.0/image.tar.zst | zstd -dc >x.tar &&
	test_grep -a "SCHILY.xattr.security.capability" x.tar &&
	test_grep -a "SCHILY.xattr.user.pax.flags=em" x.tar &&
	! grep -a "user.comment" x.tar
'

test_expect_success 'reproducible: same input and SOURCE_DATE_EPOCH, same bytes' '
	SOURCE_DATE_EPOCH=1700000000 binfarm pack -q -i img -b info -o r1.gpkg.tar &&
	touch img/usr/bin/foo &&
	SOURCE_DATE_EPOCH=1700000000 binfarm pack -q -i img -b info -o r2.gpkg.tar -T 2 &&
	SOURCE_DATE_EPOCH=1700000000 binfarm pack -q -i img -b info -o r3.gpkg.tar -T 1 &&
	cmp r1.gpkg.tar r2.gpkg.tar &&
	cmp r1.gpkg.tar r3.gpkg.tar &&
	tar tvf r1.gpkg.tar >v &&
	test_grep "2023-11-14 22:13 foo-1.0/gpkg-1" v
'

test_expect_success 'reproducible for a large image with many zstd jobs' '
	mkdir -p big/usr/share/big &&
	i=0 && while test $i -lt 40; do
		seq 1 20000 | sed "s/^/line $i /" >big/usr/share/big/f$i || return 1
		i=$((i + 1))
	done &&
	head -c 3000000 /dev/urandom >big/usr/share/big/random &&
	SOURCE_DATE_EPOCH=1700000000 binfarm pack -q -i big -b info -o b1.gpkg.tar -T 1 &&
	SOURCE_DATE_EPOCH=1700000000 binfarm pack -q -i big -b info -o b2.gpkg.tar -T 3 &&
	cmp b1.gpkg.tar b2.gpkg.tar &&
	binfarm verify b1.gpkg.tar
'

test_expect_success 'a failed write of the image is reported and loses nothing' '
	cp b1.gpkg.tar keep-big.gpkg.tar &&
	# The compressed image is written by a thread of its own: its
	# failure (here the file size limit, 1-2 MiB) must still surface.
	(
		trap "" XFSZ &&
		ulimit -f 2048 &&
		test_must_fail binfarm pack -q -i big -b info -o keep-big.gpkg.tar
	) 2>err &&
	test_grep "cannot write compressed data" err &&
	cmp b1.gpkg.tar keep-big.gpkg.tar &&
	! ls .keep-big.gpkg.tar.tmp-* 2>/dev/null
'

test_expect_success 'without --build-id the directory is PF' '
	binfarm pack -q -i img -b info -o plain.gpkg.tar &&
	tar tf plain.gpkg.tar | head -n 1 >first &&
	echo foo-1.0/gpkg-1 >expect &&
	test_cmp expect first
'

test_expect_success 'a BUILD_ID in build-info names the directory too' '
	cp -r info info2 && echo 7 >info2/BUILD_ID &&
	binfarm pack -q -i img -b info2 -o b7.gpkg.tar &&
	tar tf b7.gpkg.tar | head -n 1 >first &&
	echo foo-1.0-7/gpkg-1 >expect &&
	test_cmp expect first
'

for key in CATEGORY PF SLOT; do
	test_expect_success "missing $key in build-info is refused and writes nothing" "
		rm -rf bad && cp -r info bad && rm bad/$key &&
		test_expect_code 2 binfarm pack -i img -b bad -o bad.gpkg.tar 2>err &&
		test_grep 'missing metadata key $key' err &&
		test_path_is_missing bad.gpkg.tar &&
		! ls .bad.gpkg.tar.tmp-* 2>/dev/null
	"
done

for kv in "CATEGORY=.." "CATEGORY=../../etc" "CATEGORY=-x" "PF=../foo-1.0" \
    "PF=foo" "PF=foo-1.0/x" "SLOT=../../x" "SLOT=0/" "SLOT=.hidden" "SLOT=a/b/c"; do
	test_expect_success "an invalid value $kv in build-info is refused" '
		k=${kv%%=*} &&
		rm -rf bad && cp -r info bad && printf "%s\n" "${kv#*=}" >bad/$k &&
		test_expect_code 2 binfarm pack -i img -b bad -o bad.gpkg.tar 2>err &&
		test_grep "invalid $k " err &&
		test_path_is_missing bad.gpkg.tar &&
		! ls .bad.gpkg.tar.tmp-* 2>/dev/null
	'
done

test_expect_success 'a slot with a subslot is a valid SLOT' '
	rm -rf sub && cp -r info sub && echo "2/2.1+b_c.d-e" >sub/SLOT &&
	binfarm pack -q -i img -b sub -o sub.gpkg.tar &&
	binfarm verify sub.gpkg.tar
'

test_expect_success 'an existing output survives a failed pack' '
	cp foo.gpkg.tar keep.gpkg.tar &&
	rm -rf bad && cp -r info bad && rm bad/PF &&
	test_must_fail binfarm pack -i img -b bad -o keep.gpkg.tar 2>err &&
	cmp foo.gpkg.tar keep.gpkg.tar
'

test_expect_success ROOT 'a device node in the image is refused' '
	cp -a img dimg && mknod dimg/null c 1 3 &&
	test_must_fail binfarm pack -i dimg -b info -o d.gpkg.tar 2>err &&
	test_grep "device node" err &&
	test_path_is_missing d.gpkg.tar
'

test_expect_success 'a FIFO in the image is refused' '
	cp -a img fimg && mkfifo fimg/fifo &&
	test_must_fail binfarm pack -i fimg -b info -o f.gpkg.tar 2>err &&
	test_grep "FIFO" err
'

test_expect_success 'usage errors' '
	test_expect_code 2 binfarm pack -i img -b info 2>err &&
	test_grep "required" err &&
	test_expect_code 2 binfarm pack -i img -b info -o x --level 99 2>err &&
	test_grep "level" err &&
	test_expect_code 2 binfarm pack -i nonexistent -b info -o x 2>err &&
	test_grep "nonexistent" err &&
	test_expect_code 2 binfarm pack -i img/usr/bin/foo -b info -o x 2>err &&
	test_grep "not a directory" err &&
	binfarm pack --help >help &&
	test_grep "SOURCE_DATE_EPOCH" help
'

test_expect_success 'invalid SOURCE_DATE_EPOCH is an error' '
	SOURCE_DATE_EPOCH=yesterday test_expect_code 2 binfarm pack -i img -b info -o x 2>err &&
	test_grep SOURCE_DATE_EPOCH err
'

test_done
