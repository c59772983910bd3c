// SPDX-License-Identifier: GPL-2.0-only
/*
 * Runtime state: the parsed configuration plus everything built from it
 * (GnuTLS credentials, the tag policy). Built completely before use so a
 * reload can swap it in one step or throw it away.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/x509.h>

#include "config.h"
#include "runtime.h"
#include "keyholder.h"
#include "log.h"
#include "tagpolicy.h"

/* Certificates in a configured chain file, leaf first. */
#define TT_MAX_CHAIN	16

/* The system's trust store into @cred: its CA count, or -EINVAL. */
static int load_system_trust(const struct tt_config *cfg,
			     gnutls_certificate_credentials_t cred,
			     struct tt_diag *diag)
{
	int ret = gnutls_certificate_set_x509_system_trust(cred);

	if (ret < 0) {
		tt_diag_add(diag, cfg->file, 0,
			    "cannot load the system trust store: %s",
			    gnutls_strerror(ret));
		return -EINVAL;
	}
	return ret;
}

static int load_trust(const struct tt_config *cfg,
		      gnutls_certificate_credentials_t cred,
		      unsigned int *count, struct tt_diag *diag)
{
	int ret;

	if (cfg->trust_system) {
		ret = load_system_trust(cfg, cred, diag);
		if (ret < 0)
			return ret;
	} else {
		ret = gnutls_certificate_set_x509_trust_file(cred,
					cfg->ca_file.path, GNUTLS_X509_FMT_PEM);
		if (ret <= 0) {
			tt_diag_add(diag, cfg->file, cfg->ca_file.line,
				    "[trust] ca-file %s: %s", cfg->ca_file.path,
				    ret < 0 ? gnutls_strerror(ret) :
				    "no certificate in file");
			return -EINVAL;
		}
	}
	*count = (unsigned int)ret;
	if (cfg->crl_file.path) {
		ret = gnutls_certificate_set_x509_crl_file(cred,
					cfg->crl_file.path, GNUTLS_X509_FMT_PEM);
		if (ret < 0) {
			tt_diag_add(diag, cfg->file, cfg->crl_file.line,
				    "[trust] crl-file %s: %s",
				    cfg->crl_file.path, gnutls_strerror(ret));
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * The certificate chain from @cert and, through the key holder, an
 * external key for @key: the private key stays in the holder.
 */
static int load_held_pair(struct tt_runtime *rt, struct tt_kh *kh,
			  gnutls_certificate_credentials_t cred,
			  const struct tt_cfg_path *cert,
			  const struct tt_cfg_path *key, bool server,
			  char *why, size_t whylen)
{
	gnutls_pcert_st pcerts[TT_MAX_CHAIN];
	unsigned int n = TT_MAX_CHAIN;
	gnutls_x509_crt_t crt = NULL;
	gnutls_privkey_t pk = NULL;
	uint32_t id;
	int ret;

	ret = gnutls_pcert_list_import_x509_file(pcerts, &n, cert->path,
						 GNUTLS_X509_FMT_PEM, NULL,
						 NULL, 0);
	if (ret < 0) {
		snprintf(why, whylen, "%s", gnutls_strerror(ret));
		return -EINVAL;
	}
	ret = gnutls_pcert_export_x509(&pcerts[0], &crt);
	if (ret == 0)
		ret = tt_kh_load(kh, key->path, crt, server, &pk, &id, why,
				 whylen);
	else
		snprintf(why, whylen, "%s", gnutls_strerror(ret));
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (ret == 0) {
		/* The holder has checked that the key is the certificate's. */
		gnutls_certificate_set_flags(cred,
				GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
		ret = gnutls_certificate_set_key(cred, NULL, 0, pcerts, n, pk);
		if (ret < 0) {
			snprintf(why, whylen, "%s", gnutls_strerror(ret));
			gnutls_privkey_deinit(pk);
		} else {
			rt->held_ids[rt->nheld++] = id;
			return 0;	/* @cred owns the chain and the key */
		}
	}
	for (unsigned int i = 0; i < n; i++)
		gnutls_pcert_deinit(&pcerts[i]);
	return -EINVAL;
}

static int load_pair(struct tt_runtime *rt, const char *section,
		     gnutls_certificate_credentials_t cred,
		     const struct tt_cfg_path *cert, const struct tt_cfg_path *key,
		     struct tt_diag *diag)
{
	const struct tt_config *cfg = &rt->cfg;
	struct tt_kh *kh = tt_kh_current();
	char why[300];
	int ret;

	if (kh) {
		if (load_held_pair(rt, kh, cred, cert, key,
				   strcmp(section, "server") == 0, why,
				   sizeof(why)) == 0)
			return 0;
		tt_diag_add(diag, cfg->file, cert->line,
			    "[%s] certificate %s / private-key %s: %s",
			    section, cert->path, key->path, why);
		return -EINVAL;
	}
	ret = gnutls_certificate_set_x509_key_file2(cred, cert->path, key->path,
						    GNUTLS_X509_FMT_PEM, NULL, 0);
	if (ret < 0) {
		tt_diag_add(diag, cfg->file, cert->line,
			    "[%s] certificate %s / private-key %s: %s",
			    section, cert->path, key->path, gnutls_strerror(ret));
		return -EINVAL;
	}
	return 0;
}

/* [server] client-ca (and the CRL) into @cred. */
static int load_client_ca(const struct tt_config *cfg,
			  gnutls_certificate_credentials_t cred,
			  unsigned int *count, struct tt_diag *diag)
{
	int ret;

	ret = gnutls_certificate_set_x509_trust_file(cred, cfg->client_ca.path,
						     GNUTLS_X509_FMT_PEM);
	if (ret <= 0) {
		tt_diag_add(diag, cfg->file, cfg->client_ca.line,
			    "[server] client-ca %s: %s", cfg->client_ca.path,
			    ret < 0 ? gnutls_strerror(ret) :
			    "no certificate in file");
		return -EINVAL;
	}
	*count = (unsigned int)ret;
	if (!cfg->client_crl.path && cfg->crl_file.path &&
	    gnutls_certificate_set_x509_crl_file(cred, cfg->crl_file.path,
						 GNUTLS_X509_FMT_PEM) < 0) {
		tt_diag_add(diag, cfg->file, cfg->crl_file.line,
			    "[trust] crl-file %s: cannot load",
			    cfg->crl_file.path);
		return -EINVAL;
	}
	return 0;
}

/*
 * What verifies client certificates: [server] client-ca, else the trust
 * store; with [server] client-crl's CRLs when set (else crl-file's).
 */
static int load_client_trust(const struct tt_config *cfg,
			     gnutls_certificate_credentials_t cred,
			     unsigned int *count, struct tt_diag *diag)
{
	int ret;

	if (cfg->client_ca.path) {
		ret = load_client_ca(cfg, cred, count, diag);
	} else if (cfg->client_ca_system) {
		/* tlshd's format: no server-side store means the system's */
		ret = load_system_trust(cfg, cred, diag);
		if (ret < 0)
			return ret;
		*count = (unsigned int)ret;
		ret = 0;
	} else {
		ret = load_trust(cfg, cred, count, diag);
	}
	if (ret < 0 || !cfg->client_crl.path)
		return ret;
	ret = gnutls_certificate_set_x509_crl_file(cred, cfg->client_crl.path,
						   GNUTLS_X509_FMT_PEM);
	if (ret < 0) {
		tt_diag_add(diag, cfg->file, cfg->client_crl.line,
			    "client CRL file %s: %s", cfg->client_crl.path,
			    gnutls_strerror(ret));
		return -EINVAL;
	}
	return 0;
}

int tt_runtime_trust_creds(const struct tt_config *cfg, bool for_clients,
			   gnutls_certificate_credentials_t *out,
			   unsigned int *ca_count, char *err, size_t errlen)
{
	struct tt_diag diag = { 0 };
	unsigned int n = 0;
	int ret;

	*out = NULL;
	ret = gnutls_certificate_allocate_credentials(out);
	if (ret < 0) {
		snprintf(err, errlen, "%s", gnutls_strerror(ret));
		return -ENOMEM;
	}
	if (for_clients ? load_client_trust(cfg, *out, &n, &diag) :
			  load_trust(cfg, *out, &n, &diag)) {
		snprintf(err, errlen, "%s",
			 diag.count ? diag.entries[0].msg : "trust store");
		tt_diag_free(&diag);
		gnutls_certificate_free_credentials(*out);
		*out = NULL;
		return -EINVAL;
	}
	if (ca_count)
		*ca_count = n;
	return 0;
}

void tt_runtime_free(struct tt_runtime *rt)
{
	if (!rt)
		return;
	if (rt->server_creds)
		gnutls_certificate_free_credentials(rt->server_creds);
	if (rt->client_creds)
		gnutls_certificate_free_credentials(rt->client_creds);
	if (rt->client_anon_creds)
		gnutls_certificate_free_credentials(rt->client_anon_creds);
	tp_policy_free(rt->policy);
	tt_config_free(&rt->cfg);
	tt_diag_free(&rt->warnings);
	tt_diag_free(&rt->tlshd_notes);
	free(rt);
}

/*
 * Errors (and, with them, warnings) of a failed load go to @diag; the
 * warnings and tlshd notes of a successful one stay with @rt.
 */
static void add_policy_diag(struct tt_runtime *rt, struct tt_diag *diag,
			    const struct tp_diag *pd, bool failed)
{
	for (size_t i = 0; i < pd->count; i++) {
		const struct tp_error *e = &pd->errors[i];

		switch (e->kind) {
		case TP_ERROR:
			tt_diag_add(diag, e->file, e->line, "%s", e->msg);
			break;
		case TP_WARNING:
			if (failed)
				tt_diag_add(diag, e->file, e->line,
					    "warning: %s", e->msg);
			else
				tt_diag_add(&rt->warnings, e->file, e->line,
					    "%s", e->msg);
			break;
		case TP_TLSHD:
			if (!failed)
				tt_diag_add(&rt->tlshd_notes, e->file, e->line,
					    "%s", e->msg);
			break;
		}
	}
}

static int load_policy(struct tt_runtime *rt, struct tt_diag *diag)
{
	struct tp_diag pd = { 0 };
	struct stat st;
	int ret;

	if (rt->cfg.tags_dir_default && stat(rt->cfg.tags_dir.path, &st) < 0 &&
	    errno == ENOENT) {
		/* No tags.d at the default place: no policy, no tags. */
		ret = tp_policy_load_buffer("<empty>", "", 0, &rt->policy, &pd);
	} else {
		ret = tp_policy_load_dir(rt->cfg.tags_dir.path, &rt->policy,
					 &pd);
	}
	if (ret < 0) {
		if (tp_diag_count(&pd, TP_ERROR))
			add_policy_diag(rt, diag, &pd, true);
		else
			tt_diag_add(diag, rt->cfg.file, rt->cfg.tags_dir.line,
				    "tags-dir %s: %s", rt->cfg.tags_dir.path,
				    strerror(-ret));
		tp_diag_free(&pd);
		rt->policy = NULL;
		return ret;
	}
	add_policy_diag(rt, diag, &pd, false);
	tp_diag_free(&pd);
	return 0;
}

const char *tt_runtime_default_config(void)
{
	/* tlstagd's own, else tlshd's (its current place, then its old). */
	static const char *const paths[] = {
		TT_DEFAULT_CONFIG, TT_TLSHD_CONFIG, TT_TLSHD_CONFIG_OLD,
	};
	struct stat st;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (stat(paths[i], &st) == 0 || errno != ENOENT)
			return paths[i];
	return NULL;
}

static int load_config(const char *path, struct tt_config *cfg,
		       struct tt_diag *diag)
{
	if (!path)
		path = tt_runtime_default_config();
	if (!path) {
		tt_config_defaults(cfg);
		return 0;
	}
	return tt_config_parse_file(path, cfg, diag);
}

int tt_runtime_load_config_policy(const char *path, struct tt_config *cfg,
				  struct tp_policy **policy,
				  struct tt_diag *diag)
{
	struct tt_runtime rt;
	int ret;

	memset(&rt, 0, sizeof(rt));
	*policy = NULL;
	ret = load_config(path, &rt.cfg, diag);
	if (ret < 0) {
		memset(cfg, 0, sizeof(*cfg));
		return ret;
	}
	ret = load_policy(&rt, diag);
	if (ret < 0) {
		tt_config_free(&rt.cfg);
		memset(cfg, 0, sizeof(*cfg));
		return ret;
	}
	/* --explain shows what the daemon would log. */
	tt_diag_log_warnings(&rt.warnings);
	tt_diag_free(&rt.warnings);
	tt_diag_free(&rt.tlshd_notes);
	*cfg = rt.cfg;
	*policy = rt.policy;
	return 0;
}

static unsigned int generation;

int tt_runtime_load(const char *path, struct tt_runtime **out,
		    struct tt_diag *diag)
{
	struct tt_runtime *rt;
	unsigned int n;
	int ret, bad = 0;

	*out = NULL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	ret = load_config(path, &rt->cfg, diag);
	if (ret < 0) {
		free(rt);
		return ret;
	}
	for (size_t i = 0; i < rt->cfg.ignored.count; i++)
		tt_diag_add(&rt->warnings, rt->cfg.ignored.entries[i].file,
			    rt->cfg.ignored.entries[i].line, "%s",
			    rt->cfg.ignored.entries[i].msg);

	/* Client side: trust store plus the optional default certificate. */
	ret = gnutls_certificate_allocate_credentials(&rt->client_creds);
	if (ret < 0) {
		tt_runtime_free(rt);
		return -ENOMEM;
	}
	if (load_trust(&rt->cfg, rt->client_creds, &rt->ca_count, diag))
		bad++;
	if (rt->cfg.client_cert.path &&
	    load_pair(rt, "client", rt->client_creds,
		      &rt->cfg.client_cert, &rt->cfg.client_key, diag))
		bad++;
	/* Anonymous client hellos verify the server but show no certificate. */
	if (!bad && rt->cfg.client_cert.path) {
		ret = gnutls_certificate_allocate_credentials(
						&rt->client_anon_creds);
		if (ret < 0) {
			tt_runtime_free(rt);
			return -ENOMEM;
		}
		if (load_trust(&rt->cfg, rt->client_anon_creds, &n, diag))
			bad++;
	}

	/*
	 * Server side: its certificate plus the CAs that vouch for clients:
	 * [server] client-ca when set, else the trust store.
	 */
	if (rt->cfg.server_cert.path) {
		ret = gnutls_certificate_allocate_credentials(&rt->server_creds);
		if (ret < 0) {
			tt_runtime_free(rt);
			return -ENOMEM;
		}
		if ((rt->cfg.client_ca.path || !bad) &&
		    load_client_trust(&rt->cfg, rt->server_creds, &n, diag))
			bad++;
		if (load_pair(rt, "server", rt->server_creds,
			      &rt->cfg.server_cert, &rt->cfg.server_key, diag))
			bad++;
	}

	if (load_policy(rt, diag) < 0)
		bad++;
	else if (tt_runtime_tags_on_system_trust(&rt->cfg, rt->policy)) {
		tt_diag_add(diag, rt->cfg.file, rt->cfg.server_cert.line,
			    "client certificates would be verified against the system trust store (ca-file = system, no [server] client-ca), so any public CA's client certificate could earn the %zu tag(s) of %s: set [server] client-ca to the CAs that issue your clients' certificates, or say [server] tags-with-system-trust = yes",
			    tp_policy_tag_count(rt->policy),
			    rt->cfg.tags_dir.path);
		bad++;
	}
	if (bad) {
		tt_runtime_free(rt);
		return -EINVAL;
	}
	rt->generation = ++generation;
	*out = rt;
	return 0;
}

int tt_runtime_reload(struct tt_runtime **cur, const char *path,
		      struct tt_diag *diag)
{
	struct tt_runtime *next;
	int ret;

	ret = tt_runtime_load(path, &next, diag);
	if (ret < 0)
		return ret;
	tt_runtime_free(*cur);
	*cur = next;
	return 0;
}

bool tt_runtime_client_trust_is_system(const struct tt_config *cfg)
{
	return cfg->server_cert.path && !cfg->client_ca.path &&
	       (cfg->trust_system || cfg->client_ca_system) &&
	       cfg->client_cert_mode != TT_CLIENT_CERT_IGNORE;
}

bool tt_runtime_tags_on_system_trust(const struct tt_config *cfg,
				     const struct tp_policy *policy)
{
	return tt_runtime_client_trust_is_system(cfg) && cfg->session_tags &&
	       tp_policy_tag_count(policy) > 0 && !cfg->tags_system_trust;
}
