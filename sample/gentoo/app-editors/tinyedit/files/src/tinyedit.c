/* tinyedit: an ed-like line editor of the binfarm sample tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tinyreadline.h>

#ifndef VERSION
#define VERSION "0"
#endif

int
main(int argc, char **argv)
{
	char line[1024];
	long n = 0;
	FILE *out;

	if (argc == 2 && strcmp(argv[1], "-V") == 0) {
		printf("tinyedit %s (tinyreadline %s)\n", VERSION,
		    tinyreadline_version());
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: tinyedit FILE\n");
		return 2;
	}
	if ((out = fopen(argv[1], "a")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	/* Appends lines until a line holding a single '.'. */
	while (tinyreadline(NULL, stdin, line, sizeof(line)) != NULL &&
	    strcmp(line, ".") != 0) {
		fprintf(out, "%s\n", line);
		n++;
	}
	printf("%ld\n", n);
	return fclose(out) == 0 ? 0 : 1;
}
