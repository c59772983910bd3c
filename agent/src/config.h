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
/* tlshd's files, read when tlstagd's own configuration does not exist. */
#define TT_TLSHD_CONFIG		"/etc/tlshd/config"
#define TT_TLSHD_CONFIG_OLD	"/etc/tlshd.conf"
#define TT_TLSHD_TAGS_DIR	"/etc/tlshd/tags.d"
/* At most this many keyrings in keyrings = (tlshd's three come on top). */
#define TT_MAX_KEYRINGS		16
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
	/* tlshd's format without a server-side trust store: the system's */
	bool			client_ca_system;
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
	/* [server] client-crl: CRLs for client certificates (else crl-file) */
	struct tt_cfg_path	client_crl;
	/*
	 * [global] keyrings (tlshd: [authenticate] keyrings): names or serial
	 * numbers of keyrings searched for PSKs by identity, after the
	 * request's own; .nfs, .nfsd and .nvme always are.
	 */
	char			*keyrings[TT_MAX_KEYRINGS];
	unsigned int		nkeyrings;
	/* The file is tlshd's (tlshd.conf(5)), read as tlshd reads it. */
	bool			tlshd_format;
	/* tlshd's [debug] tls: GnuTLS's own log level (0: as log-level says) */
	int			tls_debug;
	/* What the file sets that tlstagd ignores, and why ("file:line"). */
	struct tt_diag		ignored;
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

#endif
