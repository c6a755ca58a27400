/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef BF_WORKER_ROOT_H
#define BF_WORKER_ROOT_H

#include <sys/types.h>

struct bf_err;

/* A directory of the worker made visible inside the root. */
struct root_bind {
	const char	*src;		/* on the worker, absolute */
	const char	*dst;		/* inside the root, absolute */
	int		 ro;
};

/*
 * A disposable build root: an overlay whose lower layers are `layers`
 * (topmost first) over `base`, whose upper layer is dir/upper; mounted
 * at dir/merged in a private mount namespace, with new PID, IPC, UTS
 * and (unless `net`) network namespaces; /proc, a minimal /dev, /tmp and /run made
 * inside; `binds` mounted in.  Nothing of it outlives the process tree
 * but the files under `dir`, which root_remove() deletes.
 */
struct root_spec {
	const char		*base;
	const char *const	*layers;
	size_t			 nlayers;
	const char		*dir;
	const struct root_bind	*binds;
	size_t			 nbinds;
	const char		*hostname;
	int			 net;	/* keep the worker's network */
};

/*
 * Starts argv[0] (a path inside the root) with exactly `envp` in a new
 * root; its output goes to logfd.  The returned process leads its own
 * process group; its exit status is the command's (or 128 + signal).
 * Killing it (it is the parent of the namespaces' init, which gets
 * SIGKILL when it dies; so does it when the worker dies) ends every
 * process of the job and every mount.
 */
int	root_spawn(const struct root_spec *r, char *const argv[],
	    char *const envp[], int logfd, pid_t *pid, struct bf_err *e);

/*
 * Is `l` fit to be a layer (or the base) of a root?  An absolute path
 * without ':', ',' or '\\' (the overlay's option syntax), canonical (no
 * symbolic link, ".", ".." or "//" on the way, which mount(2) would
 * follow to wherever it points when a job runs; the message names the
 * path it resolves to), of a directory.
 */
int	root_layer_ok(const char *l, struct bf_err *e);

/* Removes dir (an old root: the upper and work layers) entirely. */
int	root_remove(const char *dir, struct bf_err *e);

#endif
