/* shopfront-ctl: health check and order signing for the shop (company
 * overlay of the binfarm sample). */
#include <stdio.h>
#include <string.h>

#include <tinyssl.h>
#include <tinysql.h>

#ifndef VERSION
#define VERSION "0"
#endif

int
main(int argc, char **argv)
{
	char hex[17], q[600];

	if (argc == 2 && strcmp(argv[1], "-V") == 0) {
		printf("shopfront-ctl %s (tinyssl %s, tinysql client %s)\n",
		    VERSION, tinyssl_version(), tinysql_client_version());
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "sign") == 0) {
		tinyssl_digest(argv[2], strlen(argv[2]), hex);
		if (tinysql_quote(argv[2], q, sizeof(q)) < 0)
			return 1;
		printf("INSERT INTO orders VALUES (%s, '%s');\n", q, hex);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "health") == 0) {
		printf("ok\n");
		return 0;
	}
	fprintf(stderr, "usage: shopfront-ctl -V | health | sign ORDER\n");
	return 2;
}
