#!/bin/sh
test_description='the source tree keeps its layers: no upward include, no include cycle'
. "$(dirname "$0")/test-lib.sh"

SRC=$TEST_DIRECTORY/..

test_expect_success 'the tree passes scripts/check-layers.sh' '
	sh "$SRC/scripts/check-layers.sh" "$SRC" >out 2>&1 ||
		{ cat out >&4; false; }
'

test_expect_success 'a copy of the tree to break' '
	mkdir tree &&
	(cd "$SRC" && for d in lib builder binhost cli worker t/unit t/helper; do
		test -d $d || continue
		find $d -name "*.[ch]"
	done) >files &&
	tar -C "$SRC" -cf - -T files | tar -C tree -xf - &&
	sh "$SRC/scripts/check-layers.sh" tree
'

test_expect_success 'an include that goes up a layer fails, named' '
	cp tree/lib/base/buf.c buf.c.orig &&
	echo "#include \"store/repo.h\"" >>tree/lib/base/buf.c &&
	test_must_fail sh "$SRC/scripts/check-layers.sh" tree >out &&
	test_grep "lib/base/buf.c: includes lib/store/repo.h: layer .store. is above .base." out &&
	cp buf.c.orig tree/lib/base/buf.c
'

test_expect_success 'an include cycle fails, with its modules' '
	cp tree/lib/store/repo.c repo.c.orig &&
	echo "#include \"store/promote.h\"" >>tree/lib/store/repo.c &&
	test_must_fail sh "$SRC/scripts/check-layers.sh" tree >out &&
	test_grep "include cycle" out &&
	test_grep "lib/store/promote" out &&
	cp repo.c.orig tree/lib/store/repo.c &&
	sh "$SRC/scripts/check-layers.sh" tree
'

test_expect_success 'a call cycle between the files of a program fails, with its files' '
	cp tree/worker/root.c root.c.orig &&
	printf "int\nroot_build(void)\n{\n\treturn build_job(0, 0, 0, 0, 0);\n}\n" \
		>>tree/worker/root.c &&
	test_must_fail sh "$SRC/scripts/check-layers.sh" tree >out &&
	test_grep "call cycle: worker/build" out &&
	test_grep "call cycle: worker/root" out &&
	cp root.c.orig tree/worker/root.c &&
	sh "$SRC/scripts/check-layers.sh" tree
'

test_expect_success 'a file outside the layer folders fails' '
	echo "int x;" >tree/lib/stray.c &&
	test_must_fail sh "$SRC/scripts/check-layers.sh" tree >out &&
	test_grep "lib/stray.c: lib/ files belong in a layer folder" out &&
	rm tree/lib/stray.c
'

test_expect_success 'an include of a program header from lib/ fails' '
	echo "#include \"builder/builder.h\"" >>tree/lib/format/gpkg.c &&
	test_must_fail sh "$SRC/scripts/check-layers.sh" tree >out &&
	test_grep "lib/format/gpkg.c: includes builder/builder.h, which is not in lib/" out
'

test_done
