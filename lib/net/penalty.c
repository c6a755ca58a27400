/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Penalties for failed authentication per source address; see
 * penalty.h.  An open-addressed table probed over PROBE slots from the
 * address's hash; a miss takes the first free slot of those, else the
 * one whose record ends soonest (a full table forgets the least).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/conf.h"
#include "base/err.h"
#include "net/penalty.h"
#include "base/banned.h"

#define PROBE	16

/* The address of sa as 16 bytes (IPv4 mapped): 0, or -1 (not IP). */
static int
addr16(const struct sockaddr *sa, unsigned char out[16])
{
	const struct sockaddr_in *in4;
	const struct sockaddr_in6 *in6;

	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		in4 = (const struct sockaddr_in *)(const void *)sa;
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &in4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		in6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(out, &in6->sin6_addr, 16);
		return 0;
	}
	return -1;
}

/* The penalty's key of an address: itself (IPv4), or its /64. */
static int
key_of(const struct sockaddr *sa, unsigned char key[16])
{
	static const unsigned char v4[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (addr16(sa, key) < 0)
		return -1;
	if (memcmp(key, v4, 12) != 0)
		memset(key + 8, 0, 8);
	return 0;
}

/* 16 bytes of a key or an address as text: IPv4 when mapped; buf. */
static const char *
str16(const unsigned char a[16], const char *suffix, char *buf, size_t n)
{
	static const unsigned char v4[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	char t[INET6_ADDRSTRLEN];

	if (memcmp(a, v4, 12) == 0)
		inet_ntop(AF_INET, a + 12, t, sizeof(t));
	else {
		inet_ntop(AF_INET6, a, t, sizeof(t));
		if (suffix != NULL) {
			snprintf(buf, n, "%s%s", t, suffix);
			return buf;
		}
	}
	snprintf(buf, n, "%s", t);
	return buf;
}

const char *
bf_addr_str(const struct sockaddr *sa, char *buf, size_t n)
{
	unsigned char a[16];

	if (addr16(sa, a) < 0) {
		snprintf(buf, n, "-");
		return buf;
	}
	return str16(a, NULL, buf, n);
}

const char *
bf_penalty_source(const struct sockaddr *sa, char *buf, size_t n)
{
	unsigned char k[16];

	if (key_of(sa, k) < 0) {
		snprintf(buf, n, "-");
		return buf;
	}
	return str16(k, "/64", buf, n);
}

int
bf_cidr_parse(const char *s, struct bf_cidr *c, struct bf_err *e)
{
	char a[INET6_ADDRSTRLEN + 1], *end;
	const char *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned long bits;
	unsigned max;

	memset(c, 0, sizeof(*c));
	if (n == 0 || n >= sizeof(a))
		goto bad;
	memcpy(a, s, n);
	a[n] = '\0';
	if (inet_pton(AF_INET, a, c->addr + 12) == 1) {
		c->addr[10] = c->addr[11] = 0xff;
		max = 32;
	} else if (inet_pton(AF_INET6, a, c->addr) == 1)
		max = 128;
	else
		goto bad;
	bits = max;
	if (slash != NULL) {
		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' ||
		    errno != 0 || bits > max)
			goto bad;
	}
	c->bits = (unsigned)bits + (max == 32 ? 96 : 0);
	return 0;
bad:
	return bf_err_set(e, BF_EUSAGE, "'%s' is not an address or an "
	    "address range (a.b.c.d/n, x:y::/n)", s);
}

int
bf_cidr_match(const struct bf_cidr *c, const struct sockaddr *sa)
{
	unsigned char a[16];
	unsigned full = c->bits / 8, rest = c->bits % 8;

	if (addr16(sa, a) < 0)
		return 0;
	if (memcmp(a, c->addr, full) != 0)
		return 0;
	return rest == 0 || ((a[full] ^ c->addr[full]) &
	    (0xff << (8 - rest)) & 0xff) == 0;
}

int
bf_penalty_init(struct bf_penalty *p, unsigned max_fails, unsigned penalty,
    const struct bf_cidr *exempt, size_t nexempt, struct bf_err *e)
{
	memset(p, 0, sizeof(*p));
	p->max_fails = max_fails;
	p->penalty = penalty;
	p->exempt = exempt;
	p->nexempt = nexempt;
	if (max_fails == 0)
		return 0;
	if ((p->slot = calloc(BF_PENALTY_SLOTS, sizeof(*p->slot))) == NULL)
		return bf_err_nomem(e);
	if ((errno = pthread_mutex_init(&p->mu, NULL)) != 0) {
		free(p->slot);
		p->slot = NULL;
		return bf_err_errno(e, "penalties: a mutex");
	}
	return 0;
}

void
bf_penalty_free(struct bf_penalty *p)
{
	if (p->slot == NULL)
		return;
	pthread_mutex_destroy(&p->mu);
	free(p->slot);
	p->slot = NULL;
}

static uint32_t
hash16(const unsigned char k[16])
{
	uint32_t h = 2166136261u;
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ k[i]) * 16777619u;
	return h;
}

/* When the record in s stops mattering: the window's or the penalty's end. */
static int64_t
slot_end(const struct bf_penalty_slot *s)
{
	int64_t w = s->first + BF_PENALTY_WINDOW;

	return s->until > w ? s->until : w;
}

/*
 * The slot of key (under p->mu): its own, or with `make` a new one (its
 * record empty), else NULL.
 */
static struct bf_penalty_slot *
slot_find(struct bf_penalty *p, const unsigned char key[16], int make)
{
	struct bf_penalty_slot *s, *victim = NULL;
	uint32_t h = hash16(key);
	unsigned i;

	for (i = 0; i < PROBE; i++) {
		s = &p->slot[(h + i) & (BF_PENALTY_SLOTS - 1)];
		if (s->used && memcmp(s->key, key, 16) == 0)
			return s;
		if (!s->used) {
			if (victim == NULL || victim->used)
				victim = s;
		} else if (victim == NULL || (victim->used &&
		    slot_end(s) < slot_end(victim)))
			victim = s;
	}
	if (!make)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, 16);
	victim->used = 1;
	return victim;
}

static int
exempt(const struct bf_penalty *p, const struct sockaddr *sa)
{
	size_t i;

	for (i = 0; i < p->nexempt; i++)
		if (bf_cidr_match(&p->exempt[i], sa))
			return 1;
	return 0;
}

/* The seconds left of sa's penalty; `count`: as a refusal. */
static unsigned
lookup(struct bf_penalty *p, const struct sockaddr *sa, int64_t now,
    int count)
{
	struct bf_penalty_slot *s;
	unsigned char key[16];
	unsigned left = 0;

	/* No penalty runs: no lock (every request of a busy server asks). */
	if (p->slot == NULL || now >= __atomic_load_n(&p->until_max,
	    __ATOMIC_ACQUIRE) || key_of(sa, key) < 0)
		return 0;
	pthread_mutex_lock(&p->mu);
	if ((s = slot_find(p, key, 0)) != NULL && s->until > now) {
		left = (unsigned)(s->until - now);
		if (count)
			p->refused++;
	}
	pthread_mutex_unlock(&p->mu);
	return left;
}

unsigned
bf_penalty_check(struct bf_penalty *p, const struct sockaddr *sa,
    int64_t now)
{
	return lookup(p, sa, now, 1);
}

unsigned
bf_penalty_peek(struct bf_penalty *p, const struct sockaddr *sa,
    int64_t now)
{
	return lookup(p, sa, now, 0);
}

int
bf_penalty_fail(struct bf_penalty *p, const struct sockaddr *sa,
    int64_t now)
{
	struct bf_penalty_slot *s;
	unsigned char key[16];
	int started = 0;

	if (p->slot == NULL || key_of(sa, key) < 0 || exempt(p, sa))
		return 0;
	pthread_mutex_lock(&p->mu);
	p->failures++;
	s = slot_find(p, key, 1);
	if (s->until > now) {
		/* Refused already (a request let in just before). */
	} else if (s->fails == 0 || now - s->first >= BF_PENALTY_WINDOW) {
		s->first = now;
		s->fails = 1;
		s->until = 0;
	} else
		s->fails++;
	if (s->until <= now && s->fails >= p->max_fails) {
		s->until = now + (p->penalty > 0 ? p->penalty : 1);
		s->fails = 0;
		p->penalties++;
		started = 1;
		if (s->until > p->until_max)
			__atomic_store_n(&p->until_max, s->until,
			    __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&p->mu);
	return started;
}

size_t
bf_penalty_active(struct bf_penalty *p, int64_t now)
{
	size_t i, n = 0;

	if (p->slot == NULL)
		return 0;
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < BF_PENALTY_SLOTS; i++)
		if (p->slot[i].used && p->slot[i].until > now)
			n++;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void
bf_penalty_stats(struct bf_penalty *p, int64_t now,
    struct bf_penalty_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (p->slot == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	st->failures = p->failures;
	st->penalties = p->penalties;
	st->refused = p->refused;
	pthread_mutex_unlock(&p->mu);
	st->active = bf_penalty_active(p, now);
}

int
bf_cidr_parse_list(const char *s, struct bf_cidr **out, size_t *n,
    struct bf_err *e)
{
	struct bf_strv sv = BF_STRV_INIT;
	struct bf_cidr *v = NULL;
	size_t i;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (bf_strv_split(&sv, s) < 0)
		return bf_err_nomem(e);
	if (sv.n > 0 && (v = calloc(sv.n, sizeof(*v))) == NULL)
		rc = bf_err_nomem(e);
	for (i = 0; rc == 0 && i < sv.n; i++)
		rc = bf_cidr_parse(sv.v[i], &v[i], e);
	if (rc == 0) {
		*out = v;
		*n = sv.n;
	} else
		free(v);
	bf_strv_release(&sv);
	return rc < 0 ? -1 : 0;
}
