/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef TT_KTLS_H
#define TT_KTLS_H

#include <stddef.h>
#include <gnutls/gnutls.h>

/*
 * Moves the session's record state into the kernel: TCP_ULP "tls", then
 * TLS_TX and TLS_RX. Returns 0, or a negative errno with a reason in @why.
 * -ENOPROTOOPT/-ENOENT/-EOPNOTSUPP from the ULP step mean "kTLS is not
 * available here" (no tls module, or not a TCP socket).
 */
int tt_ktls_install(gnutls_session_t session, int fd, char *why, size_t len);

/* True when @err from tt_ktls_install means kTLS is unavailable. */
int tt_ktls_unavailable(int err);

#endif
