#include "tinypcre.h"

#ifndef TINYPCRE_VERSION
#define TINYPCRE_VERSION "0"
#endif

const char *
tinypcre_version(void)
{
	return TINYPCRE_VERSION;
}

int
tinypcre_match(const char *pat, const char *s)
{
	if (*pat == '\0')
		return *s == '\0';
	if (*pat == '*')
		return tinypcre_match(pat + 1, s) ||
		    (*s != '\0' && tinypcre_match(pat, s + 1));
	if (*s != '\0' && (*pat == '?' || *pat == *s))
		return tinypcre_match(pat + 1, s + 1);
	return 0;
}

int
tinypcre_jit(void)
{
#ifdef TINYPCRE_JIT
	return 1;
#else
	return 0;
#endif
}
