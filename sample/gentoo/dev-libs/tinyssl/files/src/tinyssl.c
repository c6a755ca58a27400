#include <stdio.h>

#include <tinyz.h>

#include "tinyssl.h"

#ifndef TINYSSL_VERSION
#define TINYSSL_VERSION "0"
#endif

const char *
tinyssl_version(void)
{
	return TINYSSL_VERSION;
}

void
tinyssl_digest(const void *buf, size_t len, char hex[17])
{
	const unsigned char *p = buf;
	unsigned long long h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	h ^= (unsigned long long)tinyz_adler32(1, p, len) << 21;
	snprintf(hex, 17, "%016llx", h);
}
