/* tinyhttpd: the binfarm sample tree's web server (it answers one request
 * read from standard input, which is enough to test a build). */
#include <stdio.h>
#include <string.h>

#include <tinyz.h>
#ifdef WITH_SSL
#include <tinyssl.h>
#endif
#ifdef WITH_PCRE
#include <tinypcre.h>
#endif

#ifndef VERSION
#define VERSION "0"
#endif

static void
features(void)
{
	printf("tinyhttpd %s: tinyz %s", VERSION, tinyz_version());
#ifdef WITH_SSL
	printf(", ssl (tinyssl %s)", tinyssl_version());
#endif
#ifdef WITH_PCRE
	printf(", pcre (tinypcre %s%s)", tinypcre_version(),
	    tinypcre_jit() ? ", jit" : "");
#endif
#ifdef WITH_HTTP2
	printf(", http2");
#endif
	printf("\n");
}

int
main(int argc, char **argv)
{
	char line[1024], method[16], path[512];
	unsigned long sum;

	if (argc == 2 && strcmp(argv[1], "-V") == 0) {
		features();
		return 0;
	}
	if (fgets(line, sizeof(line), stdin) == NULL ||
	    sscanf(line, "%15s %511s", method, path) != 2) {
		printf("HTTP/1.1 400 Bad Request\r\n\r\n");
		return 1;
	}
#ifdef WITH_PCRE
	if (argc == 2 && !tinypcre_match(argv[1], path)) {
		printf("HTTP/1.1 404 Not Found\r\n\r\n");
		return 0;
	}
#endif
	sum = tinyz_adler32(1, (const unsigned char *)path, strlen(path));
	printf("HTTP/1.1 200 OK\r\nETag: \"%08lx\"\r\n", sum);
#ifdef WITH_SSL
	{
		char hex[17];

		tinyssl_digest(path, strlen(path), hex);
		printf("X-Digest: %s\r\n", hex);
	}
#endif
	printf("\r\n%s %s\n", method, path);
	return 0;
}
