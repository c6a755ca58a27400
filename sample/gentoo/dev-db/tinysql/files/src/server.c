/* tinysql: quotes each line read as an SQL literal, binfarm sample tree. */
#include <stdio.h>
#include <string.h>

#include <tinyz.h>
#ifdef WITH_READLINE
#include <tinyreadline.h>
#endif
#ifdef WITH_SSL
#include <tinyssl.h>
#endif

#include "tinysql.h"

int
main(int argc, char **argv)
{
	char line[512], q[1100];

	if (argc == 2 && strcmp(argv[1], "-V") == 0) {
		printf("tinysql %s (tinyz %s%s%s)\n", tinysql_client_version(),
		    tinyz_version(),
#ifdef WITH_READLINE
		    ", readline",
#else
		    "",
#endif
#ifdef WITH_SSL
		    ", ssl"
#else
		    ""
#endif
		    );
		return 0;
	}
	for (;;) {
#ifdef WITH_READLINE
		if (tinyreadline("tinysql> ", stdin, line, sizeof(line)) == NULL)
			break;
#else
		if (fgets(line, sizeof(line), stdin) == NULL)
			break;
		line[strcspn(line, "\n")] = '\0';
#endif
		if (tinysql_quote(line, q, sizeof(q)) < 0)
			return 1;
		printf("SELECT %s; -- %08lx\n", q, tinyz_adler32(1,
		    (const unsigned char *)line, strlen(line)));
	}
	return 0;
}
