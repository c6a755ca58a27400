#include <string.h>

#include "tinyreadline.h"

#ifndef TINYREADLINE_VERSION
#define TINYREADLINE_VERSION "0"
#endif

const char *
tinyreadline_version(void)
{
	return TINYREADLINE_VERSION;
}

char *
tinyreadline(const char *prompt, FILE *in, char *buf, int size)
{
	if (prompt != NULL)
		fputs(prompt, stderr);
	if (fgets(buf, size, in) == NULL)
		return NULL;
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}
