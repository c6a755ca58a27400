/* tinyz: checksums and run-length coding for the binfarm sample tree. */
#ifndef TINYZ_H
#define TINYZ_H
#include <stddef.h>

const char	*tinyz_version(void);
unsigned long	 tinyz_adler32(unsigned long adler, const unsigned char *buf,
		    size_t len);
/* Run-length codes `in` into `out` (2 * len bytes at most); returns the size. */
size_t		 tinyz_rle(const unsigned char *in, size_t len, unsigned char *out);
#endif
