/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The runtime: the parsed configuration plus everything built from it
 * (GnuTLS credentials, the tag policy), built completely before use so
 * that a reload swaps it in one step or throws it away (runtime.c).
 */
#ifndef TT_RUNTIME_H
#define TT_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

#include "config.h"
#include "diag.h"

/* Everything a handshake needs from the configuration, built up front. */
struct tp_policy;

struct tt_runtime {
	struct tt_config			cfg;
	struct tp_policy			*policy;
	gnutls_certificate_credentials_t	server_creds;	/* NULL: none */
	gnutls_certificate_credentials_t	client_creds;	/* trust (+cert) */
	/* Trust only, for anonymous client hellos; NULL: client_creds has
	 * no certificate and serves. */
	gnutls_certificate_credentials_t	client_anon_creds;
	unsigned int				ca_count;
	unsigned int				generation;
	/* Ids of its private keys in the key holder (tt_kh_current()). */
	uint32_t				held_ids[2];
	unsigned int				nheld;
	/* The policy loaded with these: logged at load (and on SIGHUP). */
	struct tt_diag				warnings;
	/* Where tlshd would decide differently: for --check-config. */
	struct tt_diag				tlshd_notes;
};

/*
 * Builds a complete runtime from @path (NULL: the default file, which may
 * be absent). Loads credentials and the tags.d policy. Returns 0 and
 * *@out, or a negative errno with the reasons in @diag.
 */
int tt_runtime_load(const char *path, struct tt_runtime **out,
		    struct tt_diag *diag);
void tt_runtime_free(struct tt_runtime *rt);
/*
 * The configuration file read when none is named: tlstagd's own when it
 * exists, else tlshd's (/etc/tlshd/config, then /etc/tlshd.conf); NULL
 * when there is none (the built-in defaults).
 */
const char *tt_runtime_default_config(void);
/*
 * SIGHUP: builds a new runtime completely, then swaps it for *@cur and
 * frees the old one. On any error *@cur is untouched and still in use;
 * returns the error with reasons in @diag.
 */
int tt_runtime_reload(struct tt_runtime **cur, const char *path,
		      struct tt_diag *diag);
/*
 * New credentials holding only the configured trust store (for a request
 * whose own certificate comes from the kernel keyring). @for_clients: the
 * CAs that vouch for clients ([server] client-ca when set) instead.
 */
int tt_runtime_trust_creds(const struct tt_config *cfg, bool for_clients,
			   gnutls_certificate_credentials_t *out,
			   unsigned int *ca_count, char *err, size_t errlen);

/*
 * True when client certificates would be verified against the system trust
 * store (a server certificate, no [server] client-ca, ca-file = system):
 * then any public CA's client certificate passes and may earn tags.
 */
bool tt_runtime_client_trust_is_system(const struct tt_config *cfg);

/*
 * Whether @cfg with @policy would let any public CA's client certificate
 * earn tags (client trust is the system store, tags are on and defined)
 * without the administrator's explicit [server] tags-with-system-trust.
 * tt_runtime_load() refuses such a configuration.
 */
bool tt_runtime_tags_on_system_trust(const struct tt_config *cfg,
				     const struct tp_policy *policy);

/*
 * Only the configuration and the policy (no credentials): for --explain.
 * On success the caller frees both with tt_config_free/tp_policy_free.
 */
int tt_runtime_load_config_policy(const char *path, struct tt_config *cfg,
				  struct tp_policy **policy,
				  struct tt_diag *diag);

#endif
