/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_PENALTY_H
#define BF_PENALTY_H

/*
 * Penalties for failed authentication, per source address (as OpenSSH's
 * PerSourcePenalties): an address that presents `max_fails` wrong
 * credentials within BF_PENALTY_WINDOW seconds is refused for `penalty`
 * seconds, whatever it presents, right or wrong, so that guessing a
 * token from one address costs time and tells nothing meanwhile.
 * Addresses in the exempt list (a NAT in front of the workers, say)
 * never are.  An IPv4 address counts alone; IPv6 counts by its /64, as
 * one host usually holds a whole /64.
 *
 * The table is fixed (BF_PENALTY_SLOTS addresses), in memory, and
 * forgotten on restart.  When it is full a new address takes the place
 * of the one whose record ends soonest.  Thread-safe: one mutex.
 */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct bf_err;
struct sockaddr;

#define BF_PENALTY_SLOTS	4096
#define BF_PENALTY_WINDOW	60	/* s: failures count within it */

/* An address range: a.b.c.d/n or x:y::/n; IPv4 as ::ffff:a.b.c.d. */
struct bf_cidr {
	unsigned char	 addr[16];
	unsigned	 bits;		/* 0..128 (IPv4: 96 + n) */
};

struct bf_penalty_slot {
	unsigned char	 key[16];
	int64_t		 first;		/* s: the window's first failure */
	int64_t		 until;		/* s: refused before it; 0: not */
	uint32_t	 fails;		/* within the window */
	int		 used;
};

struct bf_penalty {
	pthread_mutex_t	 mu;
	unsigned	 max_fails;	/* 0: penalties off */
	unsigned	 penalty;	/* s */
	const struct bf_cidr *exempt;	/* the caller's, kept alive */
	size_t		 nexempt;
	struct bf_penalty_slot *slot;	/* BF_PENALTY_SLOTS of them */
	int64_t		 until_max;	/* s: no penalty runs from then */
	uint64_t	 failures;	/* counters, for metrics */
	uint64_t	 refused;
	uint64_t	 penalties;
};

/*
 * Parses "a.b.c.d[/n]" or "x:y::z[/n]" (without /n: the one address):
 * 0, or -1 with e set.
 */
int	bf_cidr_parse(const char *s, struct bf_cidr *c, struct bf_err *e);
/* sa's address as text into buf (n bytes), "-" when not IP: buf. */
const char *bf_addr_str(const struct sockaddr *sa, char *buf, size_t n);
/*
 * The source a penalty counts sa under, as text: the IPv4 address, or
 * the IPv6 address's /64 ("2001:db8:0:1::/64"); "-" when not IP.
 */
const char *bf_penalty_source(const struct sockaddr *sa, char *buf,
	    size_t n);

/* Is the address of sa in c?  1 or 0 (0 for a family not IP). */
int	bf_cidr_match(const struct bf_cidr *c, const struct sockaddr *sa);

/* 0, or -1 with e set (memory, a mutex). */
int	bf_penalty_init(struct bf_penalty *p, unsigned max_fails,
	    unsigned penalty, const struct bf_cidr *exempt, size_t nexempt,
	    struct bf_err *e);
void	bf_penalty_free(struct bf_penalty *p);

/*
 * Before a credential is looked at: the seconds left of the penalty of
 * sa's address (counted as a refusal), or 0 when it may authenticate.
 */
unsigned bf_penalty_check(struct bf_penalty *p, const struct sockaddr *sa,
	    int64_t now);

/* As bf_penalty_check(), not counted: a look before the real check. */
unsigned bf_penalty_peek(struct bf_penalty *p, const struct sockaddr *sa,
	    int64_t now);

/*
 * A wrong credential from sa: 1 when this failure starts a penalty (the
 * caller logs it, once), else 0.
 */
int	bf_penalty_fail(struct bf_penalty *p, const struct sockaddr *sa,
	    int64_t now);

/* The number of addresses refused at `now`. */
size_t	bf_penalty_active(struct bf_penalty *p, int64_t now);

/* The counters, for metrics (all 0 while penalties are off). */
struct bf_penalty_stats {
	uint64_t	 failures;	/* wrong credentials */
	uint64_t	 penalties;	/* penalties started */
	uint64_t	 refused;	/* requests refused under one */
	size_t		 active;	/* addresses refused at `now` */
};
void	bf_penalty_stats(struct bf_penalty *p, int64_t now,
	    struct bf_penalty_stats *st);

/*
 * auth-exempt's value: address ranges separated by blanks, into *out
 * (calloc'd; the caller frees it) and *n: 0, or -1 with e set.
 */
int	bf_cidr_parse_list(const char *s, struct bf_cidr **out, size_t *n,
	    struct bf_err *e);

#endif
