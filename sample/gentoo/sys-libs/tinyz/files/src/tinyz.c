#include "tinyz.h"

#ifndef TINYZ_VERSION
#define TINYZ_VERSION "0"
#endif

const char *
tinyz_version(void)
{
	return TINYZ_VERSION;
}

unsigned long
tinyz_adler32(unsigned long adler, const unsigned char *buf, size_t len)
{
	unsigned long a = adler & 0xffff, b = (adler >> 16) & 0xffff;
	size_t i;

	for (i = 0; i < len; i++) {
		a = (a + buf[i]) % 65521;
		b = (b + a) % 65521;
	}
	return (b << 16) | a;
}

size_t
tinyz_rle(const unsigned char *in, size_t len, unsigned char *out)
{
	size_t i = 0, o = 0, run;

	while (i < len) {
		for (run = 1; i + run < len && run < 255 && in[i + run] == in[i]; run++)
			;
		out[o++] = (unsigned char)run;
		out[o++] = in[i];
		i += run;
	}
	return o;
}
