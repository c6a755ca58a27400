/* tinyssl: a message digest for the binfarm sample tree (not cryptography). */
#ifndef TINYSSL_H
#define TINYSSL_H
#include <stddef.h>

const char	*tinyssl_version(void);
/* Writes the 16 hex digits of the digest of `buf` and a NUL into `hex`. */
void		 tinyssl_digest(const void *buf, size_t len, char hex[17]);
#endif
