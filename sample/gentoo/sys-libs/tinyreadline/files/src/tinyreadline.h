/* tinyreadline: line input with a prompt, for the binfarm sample tree. */
#ifndef TINYREADLINE_H
#define TINYREADLINE_H
#include <stdio.h>

const char	*tinyreadline_version(void);
/* Prints `prompt` to stderr and reads a line without its newline into
 * `buf`; returns buf, or NULL at end of file. */
char		*tinyreadline(const char *prompt, FILE *in, char *buf, int size);
#endif
