/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The main configuration file (GLib key file syntax) and the runtime
 * state built from it: credentials and the tag policy.
 */
#ifndef TT_CONFIG_H
#define TT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

#include "diag.h"

#define TT_DEFAULT_CONFIG	"/etc/tlstagd/tlstagd.conf"
#define TT_DEFAULT_TAGS_DIR	"/etc/tlstagd/tags.d"
#define TT_DEFAULT_MAX_IN_FLIGHT 16
#define TT_DEFAULT_TIMEOUT_S	30
#define TT_DEFAULT_PEER_KEY_TTL_S 600

enum tt_log_target_cfg {
	TT_LOGT_AUTO,		/* stderr in the foreground, syslog otherwise */
	TT_LOGT_STDERR,
	TT_LOGT_SYSLOG,
};

enum tt_client_cert_mode {
	TT_CLIENT_CERT_IGNORE,	/* do not ask the client for a certificate */
	TT_CLIENT_CERT_REQUEST,	/* ask; a client without one gets no tags */
	TT_CLIENT_CERT_REQUIRE,	/* ask; a client without one is refused */
};

/* A path value with the line it came from (for messages). */
struct tt_cfg_path {
	char		*path;	/* absolute or resolved against the file's dir */
	unsigned int	line;
};

struct tt_config {
	char			*file;		/* as given; "<built-in>" */
	int			log_level;	/* LOG_ERR..LOG_DEBUG */
	enum tt_log_target_cfg	log_target;
	unsigned int		max_in_flight;
	unsigned int		timeout_ms;	/* when the kernel sends none */
	unsigned int		peer_key_ttl;	/* s, peer certificate keys */
	bool			session_tags;	/* [global] session-tags */
	struct tt_cfg_path	tags_dir;
	bool			tags_dir_default;
	bool			trust_system;	/* ca-file = system */
	struct tt_cfg_path	ca_file;
	struct tt_cfg_path	crl_file;
	struct tt_cfg_path	server_cert;
	struct tt_cfg_path	server_key;
	enum tt_client_cert_mode client_cert_mode;
	struct tt_cfg_path	client_ca;	/* CAs for client certs */
	/*
	 * [server] client-certificate-purpose: false (client-auth) requires
	 * the TLS client purpose in a client certificate's extended key
	 * usage (when it has one); true (any) does not check it.
	 */
	bool			client_purpose_any;
	/* [server] tags-with-system-trust: the explicit opt-in */
	bool			tags_system_trust;
	struct tt_cfg_path	client_cert;
	struct tt_cfg_path	client_key;
};

/*
 * Parses and validates a configuration held in memory. @name is used in
 * messages and to resolve relative paths (against its directory). Touches
 * no other file. Returns 0, or -EINVAL with every problem in @diag.
 */
int tt_config_parse_buffer(const char *name, const char *buf, size_t len,
			   struct tt_config *cfg, struct tt_diag *diag);
/* As above, reading @path. */
int tt_config_parse_file(const char *path, struct tt_config *cfg,
			 struct tt_diag *diag);
/* The configuration used when the default file does not exist. */
void tt_config_defaults(struct tt_config *cfg);
void tt_config_free(struct tt_config *cfg);

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
