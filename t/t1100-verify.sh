#!/bin/sh
test_description='binfarm verify: every check Portage makes, and hostile packages'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-gpkg.sh"

# expect_bad FILE PATTERN: verify fails with exit 1 and one line naming
# FILE and the failed check, and the file is left as it was.
expect_bad() {
	cp "$1" "$1.orig" &&
	test_expect_code 1 binfarm verify "$1" >out &&
	test "$(wc -l <out)" = 1 &&
	test_grep "^$1: FAILED: .*$2" out &&
	cmp "$1" "$1.orig"
}

test_expect_success 'setup a good package' '
	make_pkg good.gpkg.tar app-misc foo-1.0 1 &&
	binfarm verify good.gpkg.tar >out &&
	echo "good.gpkg.tar: OK" >expect &&
	test_cmp expect out
'

test_expect_success REFERENCE 'packages written by real Portage verify' '
	binfarm verify "$REFERENCE_DIR"/gpkg-unsigned/*/*/*.gpkg.tar &&
	binfarm verify "$REFERENCE_DIR"/gpkg-signed/*/*/*.gpkg.tar >out &&
	test_grep "signed; signatures not checked" out
'

test_expect_success REFERENCE 'a legacy xpak package is named as such' '
	test_expect_code 1 binfarm verify "$REFERENCE_DIR"/xpak/dev-libs/libfoo-1.2.3.tbz2 >out &&
	test_grep "legacy xpak" out
'

test_expect_success 'truncated package' '
	head -c 1200 good.gpkg.tar >trunc.gpkg.tar &&
	expect_bad trunc.gpkg.tar "runcated" &&
	head -c 100 good.gpkg.tar >tiny.gpkg.tar &&
	expect_bad tiny.gpkg.tar "truncated"
'

test_expect_success 'truncated in the middle of the image member' '
	off=$(tar tvf good.gpkg.tar -R | sed -n "s/^block \([0-9]*\): .*image.tar.zst$/\1/p") &&
	head -c $(( (off + 1) * 512 + 100 )) good.gpkg.tar >trunc2.gpkg.tar &&
	expect_bad trunc2.gpkg.tar "runcated"
'

test_expect_success 'empty file' '
	: >empty.gpkg.tar &&
	expect_bad empty.gpkg.tar "empty file"
'

test_expect_success 'a directory given as a file' '
	mkdir dir.gpkg.tar &&
	test_expect_code 1 binfarm verify dir.gpkg.tar >out &&
	test_grep "dir.gpkg.tar: FAILED: is a directory" out
'

test_expect_success 'a FIFO is refused at once, not waited on' '
	mkfifo fifo.gpkg.tar &&
	test_expect_code 1 timeout 20 binfarm verify fifo.gpkg.tar >out &&
	test_grep "fifo.gpkg.tar: FAILED: is not a regular file" out &&
	test_expect_code 2 timeout 20 binfarm inspect fifo.gpkg.tar 2>err &&
	test_grep "is not a regular file" err
'

test_expect_success 'a missing file' '
	test_expect_code 1 binfarm verify nothere.gpkg.tar >out &&
	test_grep "nothere.gpkg.tar: FAILED: cannot open: No such file" out
'

test_expect_success PYTHON 'non-ustar (V7) outer tar is rejected like Portage does' '
	"$TAMPER" good.gpkg.tar v7.gpkg.tar v7 &&
	expect_bad v7.gpkg.tar "cannot identify tar format"
'

for m in metadata.tar.zst image.tar.zst Manifest; do
	test_expect_success PYTHON "one flipped byte in $m" "
		\"\$TAMPER\" good.gpkg.tar flip-$m.gpkg.tar flip $m &&
		expect_bad flip-$m.gpkg.tar ''
	"
done

test_expect_success PYTHON 'one flipped byte in the image is a checksum mismatch' '
	"$TAMPER" good.gpkg.tar fi.gpkg.tar flip image.tar.zst &&
	expect_bad fi.gpkg.tar "image.tar.zst. checksum mismatch"
'

test_expect_success PYTHON 'one flipped byte in the metadata is a checksum mismatch' '
	"$TAMPER" good.gpkg.tar fm.gpkg.tar flip metadata.tar.zst &&
	expect_bad fm.gpkg.tar "metadata.tar.zst. checksum mismatch"
'

for m in gpkg-1 metadata.tar.zst image.tar.zst Manifest; do
	test_expect_success PYTHON "one flipped byte in the tar header of $m" "
		\"\$TAMPER\" good.gpkg.tar hdr-$m.gpkg.tar flip-header $m &&
		expect_bad hdr-$m.gpkg.tar ''
	"
done

test_expect_success PYTHON 'Manifest missing an entry' '
	"$TAMPER" good.gpkg.tar unlisted.gpkg.tar unlist image.tar.zst &&
	expect_bad unlisted.gpkg.tar "image.tar.zst. is not listed in the Manifest"
'

test_expect_success PYTHON 'Manifest lists a member that is missing' '
	"$TAMPER" good.gpkg.tar dropped.gpkg.tar drop image.tar.zst &&
	expect_bad dropped.gpkg.tar "image.tar.zst. is listed in the Manifest but missing"
'

test_expect_success PYTHON 'an extra member, unlisted' '
	"$TAMPER" good.gpkg.tar extra.gpkg.tar extra surprise &&
	expect_bad extra.gpkg.tar "surprise. is not listed"
'

test_expect_success PYTHON 'a duplicate member' '
	"$TAMPER" good.gpkg.tar dup.gpkg.tar dup metadata.tar.zst &&
	expect_bad dup.gpkg.tar "duplicate container member"
'

test_expect_success PYTHON 'no Manifest at all' '
	"$TAMPER" good.gpkg.tar noman.gpkg.tar drop Manifest &&
	expect_bad noman.gpkg.tar "Manifest not found"
'

test_expect_success PYTHON 'no gpkg-1 marker' '
	"$TAMPER" good.gpkg.tar nomark.gpkg.tar drop gpkg-1 &&
	expect_bad nomark.gpkg.tar "no gpkg-1 member"
'

test_expect_success PYTHON 'member name with ../' '
	"$TAMPER" good.gpkg.tar dotdot.gpkg.tar rename-raw gpkg-1 ../gpkg-1 &&
	expect_bad dotdot.gpkg.tar "not in one directory\|structure mismatch"
'

test_expect_success PYTHON 'member name with an absolute path' '
	"$TAMPER" good.gpkg.tar abs.gpkg.tar rename-raw gpkg-1 /foo-1.0-1/gpkg-1 &&
	expect_bad abs.gpkg.tar "structure mismatch"
'

test_expect_success PYTHON 'member name with no directory' '
	"$TAMPER" good.gpkg.tar nodir.gpkg.tar rename-raw gpkg-1 gpkg-1 &&
	expect_bad nodir.gpkg.tar "structure mismatch"
'

test_expect_success PYTHON 'member name two levels deep' '
	"$TAMPER" good.gpkg.tar deep.gpkg.tar rename-raw gpkg-1 foo-1.0-1/x/gpkg-1 &&
	expect_bad deep.gpkg.tar "structure mismatch"
'

test_expect_success PYTHON 'both digest orders are accepted' '
	"$TAMPER" good.gpkg.tar swapped.gpkg.tar swap-hashes &&
	tar xOf swapped.gpkg.tar foo-1.0-1/Manifest | head -n 1 >line &&
	test_grep "^DATA gpkg-1 0 SHA512 " line &&
	binfarm verify swapped.gpkg.tar
'

test_expect_success PYTHON 'a symlink escaping the image' '
	"$TAMPER" good.gpkg.tar sym.gpkg.tar image-symlink-escape &&
	expect_bad sym.gpkg.tar "symlink .image/usr/evil. -> .../../../etc/passwd. leaves the image"
'

test_expect_success PYTHON 'a hard link escaping the image' '
	"$TAMPER" good.gpkg.tar hard.gpkg.tar image-hardlink-escape &&
	expect_bad hard.gpkg.tar "hard link .image/usr/evil. points to ./etc/shadow."
'

test_expect_success PYTHON 'a member written through a symlink' '
	"$TAMPER" good.gpkg.tar below.gpkg.tar image-below-symlink &&
	expect_bad below.gpkg.tar "lies below symlink .image/lnk."
'

test_expect_success PYTHON 'an absolute image member' '
	"$TAMPER" good.gpkg.tar iabs.gpkg.tar image-abs &&
	expect_bad iabs.gpkg.tar "absolute path ./etc/evil."
'

test_expect_success PYTHON 'an image member with ..' '
	"$TAMPER" good.gpkg.tar idd.gpkg.tar image-dotdot &&
	expect_bad idd.gpkg.tar "path traversal"
'

test_expect_success PYTHON 'an image member outside image/' '
	"$TAMPER" good.gpkg.tar iout.gpkg.tar image-outside &&
	expect_bad iout.gpkg.tar "outside image/"
'

test_expect_success PYTHON 'a device node in the image' '
	"$TAMPER" good.gpkg.tar idev.gpkg.tar image-device &&
	expect_bad idev.gpkg.tar "device file"
'

for kv in "SLOT=../../x" "SLOT=0/../x" "CATEGORY=.." "CATEGORY=a/b" "PF=../../foo-1.0"; do
	test_expect_success PYTHON "metadata $kv is refused" '
		"$TAMPER" good.gpkg.tar bm.gpkg.tar meta "${kv%%=*}" "${kv#*=}" &&
		expect_bad bm.gpkg.tar "invalid ${kv%%=*} " &&
		binfarm verify --metadata-only bm.gpkg.tar >out; test $? = 1 &&
		test_grep "invalid ${kv%%=*} " out
	'
done

test_expect_success PYTHON 'an image of more entries than --max-entries is refused' '
	"$TAMPER" good.gpkg.tar many.gpkg.tar image-many 200 &&
	binfarm verify many.gpkg.tar &&
	binfarm verify --max-entries 250 many.gpkg.tar &&
	cp many.gpkg.tar many.orig &&
	test_expect_code 1 binfarm verify --max-entries 150 many.gpkg.tar >out &&
	test_grep "^many.gpkg.tar: FAILED: image.tar.zst: more than 150 entries (the limit)$" out &&
	cmp many.gpkg.tar many.orig &&
	binfarm verify --max-entries 150 --metadata-only many.gpkg.tar &&
	test_expect_code 2 binfarm verify --max-entries 0 many.gpkg.tar 2>err &&
	test_grep "max-entries" err &&
	test_expect_code 2 binfarm verify --max-entries x many.gpkg.tar 2>err
'

test_expect_success PYTHON 'metadata of more than 4096 keys is refused' '
	"$TAMPER" good.gpkg.tar mm.gpkg.tar meta-many 4100 &&
	expect_bad mm.gpkg.tar "metadata.tar.zst: more than 4096 members"
'

test_expect_success PYTHON 'a container of more than 64 members is refused early' '
	"$TAMPER" good.gpkg.tar cm.gpkg.tar extra-many 70 &&
	expect_bad cm.gpkg.tar "more than 64 container members"
'

test_expect_success PYTHON '--metadata-only does not read the image' '
	"$TAMPER" good.gpkg.tar fi2.gpkg.tar flip image.tar.zst &&
	binfarm verify --metadata-only fi2.gpkg.tar
'

test_expect_success 'several files: one line each, exit 1 if any fails' '
	test_expect_code 1 binfarm verify good.gpkg.tar empty.gpkg.tar good.gpkg.tar >out &&
	test "$(wc -l <out)" = 3 &&
	test "$(grep -c ": OK$" out)" = 2 &&
	binfarm verify -q good.gpkg.tar >out &&
	test_must_fail test -s out
'

test_expect_success 'usage' '
	test_expect_code 2 binfarm verify 2>err &&
	test_grep "usage:" err
'

test_done
