/* tinyvi: a pager standing in for a visual editor, binfarm sample tree. */
#include <stdio.h>
#include <string.h>

#ifndef VERSION
#define VERSION "0"
#endif

int
main(int argc, char **argv)
{
	char line[1024];
	long n = 0;
	FILE *f;

	if (argc == 2 && strcmp(argv[1], "-V") == 0) {
		printf("tinyvi %s\n", VERSION);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: tinyvi FILE\n");
		return 2;
	}
	if ((f = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		printf("%6ld  %s", ++n, line);
	fclose(f);
	return 0;
}
