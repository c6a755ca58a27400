/* tinysudo: prints what it would run as root, binfarm sample tree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef VERSION
#define VERSION "0"
#endif

int
main(int argc, char **argv)
{
	const char *editor = getenv("EDITOR");
	int i;

	if (argc == 2 && strcmp(argv[1], "-V") == 0) {
		printf("tinysudo %s\n", VERSION);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "-e") == 0) {
		printf("would edit /etc/tinysudoers with %s\n",
		    editor != NULL ? editor : "tinyedit");
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: tinysudo -V | -e | COMMAND [ARG...]\n");
		return 2;
	}
	printf("would run as root:");
	for (i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	return 0;
}
