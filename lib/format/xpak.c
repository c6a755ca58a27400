/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/lockfile.h"
#include "format/meta.h"
#include "format/xpak.h"
#include "base/banned.h"

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Reads the 16-byte trailer; returns the blob length, or -1. */
static int64_t
trailer(int fd, int64_t size)
{
	unsigned char t[16];

	if (size < 16 || bf_pread_full(fd, t, sizeof(t), (off_t)(size - 16)) != 16)
		return -1;
	if (memcmp(t, "XPAKSTOP", 8) != 0 || memcmp(t + 12, "STOP", 4) != 0)
		return -1;
	return be32(t + 8);
}

int
bf_xpak_probe(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	return trailer(fd, (int64_t)st.st_size) >= 0;
}

int
bf_xpak_read(int fd, struct bf_meta *meta, struct bf_err *e)
{
	unsigned char *blob = NULL, *idx, *data, *name;
	uint32_t isize, dsize, nlen, dpos, dlen;
	int64_t size, info, start;
	size_t pos, n = 0;
	struct stat st;
	ssize_t got;
	int rc = 0;

	if (fstat(fd, &st) < 0)
		return bf_err_errno(e, "cannot stat");
	if (!S_ISREG(st.st_mode))
		return bf_err_set(e, BF_EFORMAT, "not a regular file");
	size = (int64_t)st.st_size;
	if (size < 16)
		return bf_err_set(e, BF_EFORMAT,
		    "too short (%lld bytes) for an XPAK trailer",
		    (long long)size);
	if ((info = trailer(fd, size)) < 0)
		return bf_err_set(e, BF_EFORMAT,
		    "no XPAK trailer (does not end in XPAKSTOP....STOP)");
	/* 16 bytes of XPAKPACK header and 8 of XPAKSTOP at least. */
	if (info < 24 || info > size - 8)
		return bf_err_set(e, BF_EFORMAT,
		    "XPAK length %lld does not fit in the %lld-byte file",
		    (long long)info, (long long)size);
	start = size - 8 - info;
	if ((blob = malloc((size_t)info)) == NULL)
		return bf_err_nomem(e);
	got = bf_pread_full(fd, blob, (size_t)info, (off_t)start);
	if (got < 0) {
		errno = (int)-got;
		rc = bf_err_errno(e, "cannot read");
		goto out;
	}
	if (got != info) {
		rc = bf_err_set(e, BF_EFORMAT, "truncated");
		goto out;
	}
	if (memcmp(blob, "XPAKPACK", 8) != 0) {
		rc = bf_err_set(e, BF_EFORMAT,
		    "no XPAKPACK at offset %lld where the trailer points",
		    (long long)start);
		goto out;
	}
	isize = be32(blob + 8);
	dsize = be32(blob + 12);
	if ((uint64_t)isize + dsize > (uint64_t)info - 24) {
		rc = bf_err_set(e, BF_EFORMAT,
		    "XPAK index (%lu bytes) and data (%lu bytes) overflow "
		    "the %lld-byte XPAK blob", (unsigned long)isize,
		    (unsigned long)dsize, (long long)info);
		goto out;
	}
	idx = blob + 16;
	data = idx + isize;
	/* xpak.py: while (startpos + 8) < indexsize */
	for (pos = 0; pos + 8 < isize; pos += 12 + nlen, n++) {
		nlen = be32(idx + pos);
		if (nlen > isize - pos - 4 || isize - pos - 4 - nlen < 8) {
			rc = bf_err_set(e, BF_EFORMAT,
			    "XPAK index entry %zu (name length %lu) runs "
			    "past the end of the index", n,
			    (unsigned long)nlen);
			goto out;
		}
		name = idx + pos + 4;
		dpos = be32(name + nlen);
		dlen = be32(name + nlen + 4);
		if (dpos > dsize || dlen > dsize - dpos) {
			rc = bf_err_set(e, BF_EFORMAT,
			    "XPAK entry '%.*s' points outside the data "
			    "(offset %lu, length %lu, data %lu bytes)",
			    (int)(nlen > 64 ? 64 : nlen), (const char *)name,
			    (unsigned long)dpos, (unsigned long)dlen,
			    (unsigned long)dsize);
			goto out;
		}
		if (nlen == 0 || memchr(name, '\0', nlen) != NULL)
			continue;
		{
			char *key = strndup((const char *)name, nlen);

			if (key == NULL) {
				rc = bf_err_nomem(e);
				goto out;
			}
			rc = bf_meta_set(meta, key, data + dpos, dlen);
			free(key);
			if (rc < 0) {
				rc = bf_err_nomem(e);
				goto out;
			}
		}
	}
out:
	free(blob);
	return rc;
}
