/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "base/digest.h"
#include "base/err.h"
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
	/* RFC 7693 appendix A: BLAKE2b-512("abc"). */
	ok(bf_digest_mem(&d, BF_DIGEST_MANIFEST, "abc", 3, &e) == 0,
	    "Manifest digests of 'abc'");
	is_str(d.hex[BF_BLAKE2B],
	    "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
	    "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
	    "BLAKE2B('abc') (RFC 7693)");
	is_str(d.hex[BF_SHA512],
	    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	    "SHA512('abc')");
	{
		/*
		 * 1 MiB fed in uneven pieces, one algorithm at a time (as
		 * the zstd writer's hasher threads do): the same digests as
		 * one pass, and over more than one compression block.
		 */
		static unsigned char big[1 << 20];
		struct bf_digest a, b;
		size_t i, off, n;

		for (i = 0; i < sizeof(big); i++)
			big[i] = (unsigned char)(i * 7 + (i >> 11));
		ok(bf_digest_mem(&a, BF_DIGEST_MANIFEST, big, sizeof(big), &e) == 0,
		    "digests of 1 MiB in one piece");
		/* Python's hashlib.blake2b(big).hexdigest(). */
		is_str(a.hex[BF_BLAKE2B],
		    "01e19b56d5257c9e1f8202d79251ef304ab7f887a1fbaaeeb8bc2c41579cb5c0"
		    "996ccf2d3a0f6ae43c203f25eff16574f5cd5c787859bce2067835b1477c7d20",
		    "BLAKE2B of 1 MiB as Python's hashlib computes it");
		ok(bf_digest_init(&b, BF_DIGEST_MANIFEST, &e) == 0, "init");
		for (off = 0, n = 1; off < sizeof(big); off += n, n = n * 3 + 1) {
			if (n > sizeof(big) - off)
				n = sizeof(big) - off;
			ok(bf_digest_update_alg(&b, BF_BLAKE2B, big + off, n, &e) == 0 &&
			    bf_digest_update_alg(&b, BF_SHA512, big + off, n, &e) == 0 &&
			    bf_digest_update_alg(&b, BF_MD5, big + off, n, &e) == 0,
			    "update one algorithm at a time");
		}
		ok(bf_digest_final(&b, &e) == 0, "final");
		is_str(b.hex[BF_BLAKE2B], a.hex[BF_BLAKE2B], "BLAKE2B in pieces");
		is_str(b.hex[BF_SHA512], a.hex[BF_SHA512], "SHA512 in pieces");
		is_int(b.size, 0, "update_alg leaves the size to the caller");
	}
	is_int(bf_digest_byname("BLAKE2B"), BF_BLAKE2B, "lookup by name");
	is_int(bf_digest_byname("SHA256"), -1, "unknown name");
	is_int(bf_digest_hexlen(BF_SHA512), 128, "hex length");
	return tap_done();
}
