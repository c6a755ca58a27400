#include "tinysql.h"

#ifndef VERSION
#define VERSION "0"
#endif

const char *
tinysql_client_version(void)
{
	return VERSION;
}

int
tinysql_quote(const char *s, char *out, size_t size)
{
	size_t o = 0;

	if (size < 3)
		return -1;
	out[o++] = '\'';
	for (; *s != '\0'; s++) {
		if (o + 3 >= size)
			return -1;
		if (*s == '\'')
			out[o++] = '\'';
		out[o++] = *s;
	}
	out[o++] = '\'';
	out[o] = '\0';
	return (int)o;
}
