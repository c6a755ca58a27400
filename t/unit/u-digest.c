/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "digest.h"
#include "err.h"
#include "tap.h"

int
main(void)
{
	struct bf_digest d;
	struct bf_err e = BF_ERR_INIT;

	ok(bf_digest_mem(&d, BF_DIGEST_INDEX | BF_DIGEST_MANIFEST, "", 0, &e) == 0,
	    "digest of the empty string");
	is_str(d.hex[BF_MD5], "d41d8cd98f00b204e9800998ecf8427e", "MD5('')");
	is_str(d.hex[BF_SHA1], "da39a3ee5e6b4b0d3255bfef95601890afd80709", "SHA1('')");
	/* The gpkg-1 line of every real Portage Manifest. */
	is_str(d.hex[BF_BLAKE2B],
	    "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419"
	    "d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce",
	    "BLAKE2B('') as in Portage's Manifest");
	is_str(d.hex[BF_SHA512],
	    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
	    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
	    "SHA512('')");
	ok(bf_digest_mem(&d, BF_DIGEST_BIT(BF_SHA1), "abc", 3, &e) == 0, "SHA1('abc')");
	is_str(d.hex[BF_SHA1], "a9993e364706816aba3e25717850c26c9cd0d89d", "SHA1('abc') value");
	is_int(bf_digest_byname("BLAKE2B"), BF_BLAKE2B, "lookup by name");
	is_int(bf_digest_byname("SHA256"), -1, "unknown name");
	is_int(bf_digest_hexlen(BF_SHA512), 128, "hex length");
	return tap_done();
}
