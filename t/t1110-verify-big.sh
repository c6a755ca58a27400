#!/bin/sh
test_description='big metadata: packages whose metadata.tar is larger than the read buffers'
. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-gpkg.sh"

# needed_lines N: N lines of NEEDED.ELF.2 as Portage writes them.
needed_lines() {
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
		printf "X86_64;/usr/lib64/libbig%d.so.1;libbig%d.so.1;/usr/lib64;libc.so.6,libm.so.6,libstdc++.so.6\n", i, i }'
}

test_expect_success 'setup: a build-info whose NEEDED.ELF.2 has 4,000 lines' '
	make_image img &&
	make_build_info info app-misc big-1.0 &&
	needed_lines 4000 >info/NEEDED.ELF.2 &&
	test $(wc -c <info/NEEDED.ELF.2) -gt 262144 &&
	binfarm pack -q --image img --build-info info --build-id 1 -o big.gpkg.tar
'

test_expect_success 'a package with a large metadata.tar verifies' '
	binfarm verify big.gpkg.tar >out &&
	echo "big.gpkg.tar: OK" >expect &&
	test_cmp expect out
'

test_expect_success 'inspect gives the large value back whole' '
	binfarm inspect --key NEEDED.ELF.2 big.gpkg.tar >needed &&
	test_cmp info/NEEDED.ELF.2 needed &&
	binfarm inspect big.gpkg.tar >meta &&
	test_grep "^CATEGORY: app-misc" meta
'

test_expect_success 'metadata.tar.zst written by the zstd tool (multi-block frames)' '
	rm -rf m && mkdir -p m/metadata && cp info/* m/metadata/ &&
	echo 2 >m/metadata/BUILD_ID &&
	(cd m && tar --format=ustar --owner=0 --group=0 -cf ../metadata.tar metadata/*) &&
	test $(wc -c <metadata.tar) -gt 131072 &&
	zstd -q -3 -f metadata.tar -o metadata.tar.zst &&
	"$TAMPER" big.gpkg.tar cli.gpkg.tar replace metadata.tar.zst metadata.tar.zst &&
	binfarm verify cli.gpkg.tar >out &&
	test_grep "cli.gpkg.tar: OK" out &&
	binfarm inspect --key NEEDED.ELF.2 cli.gpkg.tar >needed &&
	test_cmp info/NEEDED.ELF.2 needed
'

test_expect_success 'zstd tool frames at a higher level and a long window too' '
	zstd -q -19 --long=27 -f metadata.tar -o metadata19.tar.zst &&
	"$TAMPER" big.gpkg.tar cli19.gpkg.tar replace metadata.tar.zst metadata19.tar.zst &&
	binfarm verify cli19.gpkg.tar
'

test_expect_success 'index lists the big packages' '
	mkdir -p pkgdir/app-misc/big &&
	cp big.gpkg.tar pkgdir/app-misc/big/big-1.0-1.gpkg.tar &&
	sed "s/big-1.0/big-1.1/" info/PF >info/PF.new && mv info/PF.new info/PF &&
	binfarm pack -q --image img --build-info info --build-id 1 \
		-o pkgdir/app-misc/big/big-1.1-1.gpkg.tar &&
	mv cli.gpkg.tar pkgdir/app-misc/big/big-1.0-2.gpkg.tar &&
	binfarm index -q pkgdir >out 2>err &&
	test_must_be_empty err &&
	test $(grep -c "^CPV: app-misc/big-" pkgdir/Packages) = 3 &&
	grep -A30 "^CPV: app-misc/big-1.0$" pkgdir/Packages >entries &&
	test_grep "^BUILD_ID: 2" entries
'

test_expect_success 'add takes a big package into a repository' '
	binfarm repo init --unsigned repo &&
	binfarm add -R repo -p amd64 big.gpkg.tar >out &&
	test_grep "added app-misc/big-1.0" out &&
	f=$(ls repo/pool/amd64/app-misc/big/*.gpkg.tar) &&
	binfarm verify "$f" &&
	binfarm inspect --key NEEDED.ELF.2 "$f" >needed &&
	test_cmp info/NEEDED.ELF.2 needed
'

test_done
