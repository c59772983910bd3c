/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef TT_DAEMON_H
#define TT_DAEMON_H

#include <stdbool.h>

#include "config.h"
#include "runtime.h"
#include "netlink.h"

/*
 * How the daemon reaches the kernel. The default is generic netlink; the
 * daemon tests substitute a fake kernel over UNIX sockets to exercise the
 * process machinery (fork per request, limits, timeouts, reload) on
 * machines without the handshake family.
 */
struct tt_kernel_ops {
	/* Parent: an fd to poll for READY notifications. */
	int (*open_events)(void *ctx, const struct tt_caps *caps);
	/* Parent: READYs waiting on @fd (0 when none), or -errno. */
	int (*read_ready)(void *ctx, const struct tt_caps *caps, int fd);
	/* Parent: closes what open_events and done opened. */
	void (*close)(void *ctx);
	/* Child, right after fork: drop the parent's kernel sockets. */
	void (*child_reset)(void *ctx);
	/*
	 * ACCEPT: 0 with @acc filled (the socket is ours), -EAGAIN, -errno.
	 * On another error acc->sockfd is -1, or the descriptor the kernel
	 * installed before the reply turned out unusable: the request is then
	 * ours and is answered with DONE (EINVAL).
	 */
	int (*accept)(void *ctx, const struct tt_caps *caps,
		      struct tt_accept *acc);
	/* DONE: 0 when the kernel took it, or -errno (text in @ext). */
	int (*done)(void *ctx, const struct tt_caps *caps,
		    const struct tt_done *d, struct tt_done_stats *stats,
		    char *ext, size_t extlen);
	/*
	 * Child, once sandboxed, before the handshake: for tests that play a
	 * compromised child (@rep is its report channel). NULL in the daemon.
	 */
	void (*child_sandboxed)(void *ctx, int rep,
				const struct tt_accept *acc);
	bool	require_ktls;	/* false only in tests without kTLS */
	void	*ctx;
};

extern const struct tt_kernel_ops tt_netlink_kernel;

/*
 * Serves the kernel until SIGTERM/SIGINT. @rt is replaced on SIGHUP (and
 * freed by the caller at the end). Returns the process exit status.
 */
int tt_daemon_run(const char *config_path, struct tt_runtime **rt,
		  const struct tt_caps *caps, bool foreground,
		  const struct tt_kernel_ops *ops);

/* Applies the configured log level and target. */
void tt_daemon_apply_logging(const struct tt_config *cfg, bool foreground);
/*
 * A log level that wins over the configuration's, across reloads (-d);
 * -1: none.
 */
void tt_daemon_set_log_override(int level);
/* A log target that wins over the configuration's (-s; as tlshd); -1: none. */
void tt_daemon_set_target_override(int target);

#endif
