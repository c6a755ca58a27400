/* tinysql client library, binfarm sample tree. */
#ifndef TINYSQL_H
#define TINYSQL_H
#include <stddef.h>

const char	*tinysql_client_version(void);
/* Quotes `s` as an SQL string literal into `out`; returns the length or
 * -1 when it does not fit. */
int		 tinysql_quote(const char *s, char *out, size_t size);
#endif
