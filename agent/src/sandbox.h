/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The handshake child's sandbox. Entered right after ACCEPT, before the
 * first byte from the peer is read: from then on the child holds no
 * capability (effective, permitted, inheritable, ambient and bounding sets
 * empty, securebits locked so that uid 0 regains nothing), cannot gain
 * privileges (no_new_privs), and runs under a seccomp allow-list of the
 * system calls a TLS handshake, kTLS setup, the keyring and logging need.
 * Opening a file or creating a socket fails with EACCES (a lazily opened
 * file such as a timezone database must not kill a handshake); anything
 * else off the list (execve, fork, ptrace, mount, bpf, ...) kills the
 * child, which costs only its own handshake: the parent answers DONE.
 * Calls that act on another process (signals, limits, F_SETOWN) or on a
 * keyring (anything but reading) are not on the list: the child keeps
 * uid 0, and uid checks alone would let them through. The caller joins a
 * fresh session keyring first, so that none of the daemon's is reachable.
 */
#ifndef TT_SANDBOX_H
#define TT_SANDBOX_H

#include <stddef.h>

/*
 * Loads the kernel's "tls" TCP ULP if it is a module and not loaded yet
 * (the daemon does it once at startup):
 * the kernel autoloads it only for CAP_NET_ADMIN, which the sandboxed
 * child no longer has. Cheap; harmless when kTLS is built in or missing.
 */
void tt_sandbox_preload_ktls(void);

/*
 * The descriptor number the peer's socket must have in a sandboxed child:
 * the only one sendmsg() is allowed on (GnuTLS's vectored writes), so that
 * no datagram reaches another socket. Within every RLIMIT_NOFILE.
 */
#define TT_SANDBOX_PEER_FD	1000

/*
 * Builds the seccomp filter once per process (libseccomp, then kept as a
 * BPF program); tt_sandbox_enter() calls it when needed, the daemon at
 * startup, so that a child only loads it. 0 or -errno with @why.
 */
int tt_sandbox_init(char *why, size_t whylen);

/*
 * For the daemon's parent, once: empties its bounding set but for the
 * capabilities in @keep (what it needs itself), so that a child has only
 * those left to drop. A no-op without CAP_SETPCAP. 0 or -errno with @why.
 */
int tt_sandbox_narrow_parent(const int *keep, size_t nkeep, char *why,
			     size_t whylen);

/*
 * Enters the sandbox (irreversible). Returns 0, or a negative errno with
 * the step that failed in @why; the caller must then not talk to the peer.
 */
int tt_sandbox_enter(char *why, size_t whylen);

/*
 * Whether this kernel and process can sandbox a child at all (seccomp
 * filters: CONFIG_SECCOMP_FILTER; dropping capabilities): a child is
 * forked to try. 0, or a negative errno with the reason in @why. The
 * daemon refuses to start without it rather than run children unconfined.
 */
int tt_sandbox_probe(char *why, size_t whylen);

#endif
