/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "net/penalty.h"
#include "tap.h"

static struct sockaddr_storage ss;

static const struct sockaddr *
ip(const char *s)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &in4->sin_addr) == 1)
		in4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	return (const struct sockaddr *)&ss;
}

static void
test_cidr(void)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_cidr c;

	is_int(bf_cidr_parse("10.1.0.0/16", &c, &e), 0, "cidr: 10.1.0.0/16");
	is_int(c.bits, 112, "cidr: IPv4 bits are mapped (96 + 16)");
	ok(bf_cidr_match(&c, ip("10.1.200.3")), "cidr: 10.1.200.3 is in it");
	ok(!bf_cidr_match(&c, ip("10.2.0.1")), "cidr: 10.2.0.1 is not");
	ok(!bf_cidr_match(&c, ip("::1")), "cidr: an IPv6 address is not");
	is_int(bf_cidr_parse("192.168.1.7", &c, &e), 0, "cidr: one address");
	ok(bf_cidr_match(&c, ip("192.168.1.7")) &&
	    !bf_cidr_match(&c, ip("192.168.1.6")), "cidr: that address only");
	is_int(bf_cidr_parse("10.0.0.0/12", &c, &e), 0, "cidr: /12");
	ok(bf_cidr_match(&c, ip("10.15.255.255")) &&
	    !bf_cidr_match(&c, ip("10.16.0.0")), "cidr: /12 ends at a bit");
	is_int(bf_cidr_parse("fd00:1::/32", &c, &e), 0, "cidr: IPv6 /32");
	ok(bf_cidr_match(&c, ip("fd00:1:ffff::9")) &&
	    !bf_cidr_match(&c, ip("fd00:2::9")), "cidr: IPv6 matches");
	is_int(bf_cidr_parse("0.0.0.0/0", &c, &e), 0, "cidr: every IPv4");
	ok(bf_cidr_match(&c, ip("1.2.3.4")), "cidr: /0 takes everything");
	ok(bf_cidr_parse("10.0.0.0/33", &c, &e) < 0, "cidr: /33 refused");
	ok(strstr(e.msg, "'10.0.0.0/33'") != NULL, "cidr: the error names it");
	bf_err_clear(&e);
	ok(bf_cidr_parse("10.0.0.0/", &c, NULL) < 0 &&
	    bf_cidr_parse("10.0.0.0/-1", &c, NULL) < 0 &&
	    bf_cidr_parse("example.org", &c, NULL) < 0 &&
	    bf_cidr_parse("", &c, NULL) < 0 &&
	    bf_cidr_parse("/8", &c, NULL) < 0, "cidr: junk refused");
}

static void
test_str(void)
{
	char b[64];

	is_str(bf_addr_str(ip("192.0.2.7"), b, sizeof(b)), "192.0.2.7",
	    "str: IPv4");
	is_str(bf_addr_str(ip("2001:db8::7"), b, sizeof(b)), "2001:db8::7",
	    "str: IPv6");
	is_str(bf_addr_str(ip("::ffff:192.0.2.7"), b, sizeof(b)), "192.0.2.7",
	    "str: mapped IPv4 as IPv4");
	is_str(bf_addr_str(NULL, b, sizeof(b)), "-", "str: none");
	is_str(bf_penalty_source(ip("192.0.2.7"), b, sizeof(b)), "192.0.2.7",
	    "source: an IPv4 address alone");
	is_str(bf_penalty_source(ip("::ffff:192.0.2.7"), b, sizeof(b)),
	    "192.0.2.7", "source: a mapped one alone too");
	is_str(bf_penalty_source(ip("2001:db8:0:1:2:3:4:5"), b, sizeof(b)),
	    "2001:db8:0:1::/64", "source: IPv6 by its /64");
}

static void
test_list(void)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_cidr *v;
	size_t n;

	is_int(bf_cidr_parse_list("10.0.0.0/8  fd00::/8\t192.0.2.1", &v, &n,
	    &e), 0, "list: three ranges");
	is_int(n, 3, "list: three of them");
	ok(bf_cidr_match(&v[2], ip("192.0.2.1")), "list: in order");
	free(v);
	is_int(bf_cidr_parse_list("", &v, &n, &e), 0, "list: empty");
	ok(v == NULL && n == 0, "list: empty is none");
	ok(bf_cidr_parse_list("10.0.0.0/8 nope", &v, &n, &e) < 0 &&
	    v == NULL && n == 0, "list: one bad range fails it all");
	ok(strstr(e.msg, "'nope'") != NULL, "list: the error names it");
}

static void
test_penalty(void)
{
	struct bf_err e = BF_ERR_INIT;
	struct bf_penalty p;
	struct bf_cidr ex;
	int i, started = 0;

	bf_cidr_parse("10.9.0.0/16", &ex, NULL);
	is_int(bf_penalty_init(&p, 3, 100, &ex, 1, &e), 0, "init");
	is_int(bf_penalty_check(&p, ip("192.0.2.1"), 1000), 0,
	    "a new address may authenticate");
	is_int(bf_penalty_fail(&p, ip("192.0.2.1"), 1000), 0, "failure 1");
	is_int(bf_penalty_fail(&p, ip("192.0.2.1"), 1010), 0, "failure 2");
	is_int(bf_penalty_check(&p, ip("192.0.2.1"), 1010), 0,
	    "under the limit: still let in");
	is_int(bf_penalty_fail(&p, ip("192.0.2.1"), 1020), 1,
	    "failure 3 within the window starts the penalty");
	is_int(bf_penalty_check(&p, ip("192.0.2.1"), 1020), 100,
	    "refused for the penalty's length");
	is_int(bf_penalty_check(&p, ip("192.0.2.1"), 1119), 1,
	    "a second before its end: still refused");
	is_int(bf_penalty_check(&p, ip("192.0.2.2"), 1020), 0,
	    "the neighbour is not");
	is_int(bf_penalty_peek(&p, ip("192.0.2.1"), 1030), 90,
	    "peek: the same seconds left");
	is_int(bf_penalty_active(&p, 1050), 1, "one address refused");
	is_int(bf_penalty_check(&p, ip("192.0.2.1"), 1120), 0,
	    "at its end: let in again");
	is_int(bf_penalty_fail(&p, ip("192.0.2.1"), 1121), 0,
	    "after a penalty the count starts over");
	is_int(p.penalties, 1, "one penalty counted");
	is_int(p.refused, 2, "two refusals counted (a peek is not one)");
	/* Spread out: never three in a window. */
	for (i = 0; i < 10; i++)
		started |= bf_penalty_fail(&p, ip("198.51.100.1"), 2000 + i * 31);
	is_int(started, 0, "failures spread wider than the window: none");
	/* IPv6: one /64. */
	bf_penalty_fail(&p, ip("2001:db8:0:1::1"), 3000);
	bf_penalty_fail(&p, ip("2001:db8:0:1::2"), 3000);
	is_int(bf_penalty_fail(&p, ip("2001:db8:0:1:ffff::3"), 3000), 1,
	    "IPv6: three addresses of one /64 are one source");
	ok(bf_penalty_check(&p, ip("2001:db8:0:1::77"), 3001) > 0 &&
	    bf_penalty_check(&p, ip("2001:db8:0:2::1"), 3001) == 0,
	    "IPv6: the /64 is refused, the next /64 is not");
	/* IPv4 on a dual-stack socket: mapped, each address its own. */
	bf_penalty_fail(&p, ip("::ffff:198.51.100.7"), 3000);
	bf_penalty_fail(&p, ip("::ffff:198.51.100.7"), 3000);
	is_int(bf_penalty_fail(&p, ip("::ffff:198.51.100.7"), 3000), 1,
	    "mapped IPv4: three failures start a penalty");
	ok(bf_penalty_check(&p, ip("198.51.100.7"), 3001) > 0 &&
	    bf_penalty_check(&p, ip("::ffff:198.51.100.8"), 3001) == 0,
	    "mapped IPv4: that address (as IPv4 too), not its neighbour");
	/* Exempt. */
	for (i = 0; i < 10; i++)
		started |= bf_penalty_fail(&p, ip("10.9.3.4"), 4000);
	ok(!started && bf_penalty_check(&p, ip("10.9.3.4"), 4000) == 0,
	    "an exempt address is never refused");
	/* A full table: every address still counted, none lost mid-way. */
	started = 0;
	for (i = 0; i < 3 * BF_PENALTY_SLOTS; i++) {
		char a[32];

		snprintf(a, sizeof(a), "172.16.%d.%d", i / 250, i % 250);
		bf_penalty_fail(&p, ip(a), 5000);
	}
	bf_penalty_fail(&p, ip("203.0.113.9"), 5000);
	bf_penalty_fail(&p, ip("203.0.113.9"), 5001);
	is_int(bf_penalty_fail(&p, ip("203.0.113.9"), 5002), 1,
	    "a full table still takes a new address");
	ok(bf_penalty_check(&p, ip("203.0.113.9"), 5003) > 0,
	    "and refuses it");
	bf_penalty_free(&p);
	is_int(bf_penalty_init(&p, 0, 100, NULL, 0, &e), 0, "init: off");
	for (i = 0; i < 10; i++)
		started = bf_penalty_fail(&p, ip("192.0.2.1"), 1000);
	ok(!started && bf_penalty_check(&p, ip("192.0.2.1"), 1000) == 0,
	    "off: never refused");
	bf_penalty_free(&p);
}

int
main(void)
{
	test_cidr();
	test_str();
	test_list();
	test_penalty();
	return tap_done();
}
