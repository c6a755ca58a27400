/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who a client is, for the API (api.c) and the console (console.c):
 * its address, and the penalties of addresses that keep presenting
 * wrong credentials (auth-failures, auth-penalty, auth-exempt in
 * binfarm-builder.conf(5); the table is lib/net/penalty.c).
 */
#include "config.h"

#include <sys/socket.h>

#include <microhttpd.h>

#include "builder.h"
#include "base/banned.h"

static const struct sockaddr *
client_sa(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	return ci != NULL ? ci->client_addr : NULL;
}

const char *
auth_client_str(struct MHD_Connection *c, char *ab, size_t n)
{
	return bf_addr_str(client_sa(c), ab, n);
}

unsigned
auth_penalty_left(struct builder *b, struct MHD_Connection *c)
{
	return bf_penalty_check(&b->penalty, client_sa(c), now_s());
}

void
auth_penalty_fail(struct builder *b, struct MHD_Connection *c,
    const char *what)
{
	const struct sockaddr *sa = client_sa(c);
	char ip[64];

	if (bf_penalty_fail(&b->penalty, sa, now_s()))
		log_warnx("auth-failures: %d %s from %s within %d s: every "
		    "request from it is refused for %d s", b->cfg.auth_failures,
		    what, bf_penalty_source(sa, ip, sizeof(ip)),
		    BF_PENALTY_WINDOW, b->cfg.auth_penalty);
}
