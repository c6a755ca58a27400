/* tinyphp: the binfarm sample tree's script interpreter: it prints the
 * text of a script, expanding <?= "string" ?> tags.  Built as the command
 * line program (USE=cli) and as a FastCGI-style server (USE=fpm, -DFPM). */
#include <stdio.h>
#include <string.h>

#include <tinyz.h>
#ifdef WITH_SSL
#include <tinyssl.h>
#endif
#ifdef WITH_SQL
#include <tinysql.h>
#endif

#ifndef VERSION
#define VERSION "0"
#endif

static void
features(void)
{
#ifdef FPM
	printf("tinyphp-fpm %s", VERSION);
#else
	printf("tinyphp %s", VERSION);
#endif
	printf(" (tinyz %s", tinyz_version());
#ifdef WITH_SSL
	printf(", tinyssl %s", tinyssl_version());
#endif
#ifdef WITH_SQL
	printf(", tinysql client %s", tinysql_client_version());
#endif
	printf(")\n");
}

static void
run(FILE *in)
{
	char line[1024], *p, *q;

	while (fgets(line, sizeof(line), in) != NULL) {
		p = line;
		while ((q = strstr(p, "<?= \"")) != NULL) {
			char *end = strstr(q + 5, "\" ?>");

			if (end == NULL)
				break;
			fwrite(p, 1, (size_t)(q - p), stdout);
			fwrite(q + 5, 1, (size_t)(end - q - 5), stdout);
			p = end + 4;
		}
		fputs(p, stdout);
	}
}

int
main(int argc, char **argv)
{
	FILE *f;

	if (argc == 2 && strcmp(argv[1], "-v") == 0) {
		features();
		return 0;
	}
	if (argc == 1) {
		run(stdin);
		return 0;
	}
	if ((f = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	run(f);
	fclose(f);
	return 0;
}
