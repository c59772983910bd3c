// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlstagd: TLS handshake agent for the kernel's net/handshake family, with
 * session tags.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <keyutils.h>

#include "config.h"
#include "runtime.h"
#include "daemon.h"
#include "handshake.h"
#include "keys.h"
#include "log.h"
#include "netlink.h"
#include "keyholder.h"
#include "sandbox.h"
#include "tagpolicy.h"

#ifndef TT_VERSION
#define TT_VERSION "0.1"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tlstagd [OPTIONS]\n"
		"       tlstagd --check-config [--config FILE]\n"
		"       tlstagd --explain CERT.pem [--config FILE]\n"
		"\n"
		"TLS handshake agent for the kernel's handshake netlink family,\n"
		"returning session tags earned by the peer's certificate.\n"
		"\n"
		"  -c, --config FILE     configuration file (default %s,\n"
		"                        else tlshd's %s)\n"
		"  -f, --foreground      do not detach; log to stderr by default\n"
		"  -d, --debug           log at debug level (overrides log-level)\n"
		"      --check-config    validate configuration and policy, then exit\n"
		"      --explain CERT    show the tags a PEM or DER certificate would earn\n"
		"  -s, --stderr          log to stderr\n"
		"  -h, --help            this text\n"
		"  -V, -v, --version     print the version\n"
		"\n"
		"Run as \"tlshd\" (a link of that name), it stays in the foreground\n"
		"and logs to syslog unless -s is given, as tlshd does.\n",
		TT_DEFAULT_CONFIG, TT_TLSHD_CONFIG);
}

static int check_config(const char *path)
{
	struct tt_diag diag = { 0 };
	struct tt_runtime *rt = NULL;
	const struct tt_config *c;
	int ret;

	ret = tt_runtime_load(path, &rt, &diag);
	if (ret < 0) {
		tt_diag_print(&diag, stderr);
		if (!diag.count)
			fprintf(stderr, "%s: %s\n",
				path ? path : "the default configuration",
				strerror(-ret));
		tt_diag_free(&diag);
		return 1;
	}
	c = &rt->cfg;
	printf("%s: OK%s\n", c->file,
	       c->tlshd_format ? " (tlshd's format, tlshd.conf(5))" : "");
	if (c->trust_system)
		printf("  trust store:        system (%u CA certificate(s))\n",
		       rt->ca_count);
	else
		printf("  trust store:        %s (%u CA certificate(s))\n",
		       c->ca_file.path, rt->ca_count);
	printf("  server certificate: %s\n",
	       c->server_cert.path ? c->server_cert.path : "(none)");
	printf("  client certificate: %s\n",
	       c->client_cert.path ? c->client_cert.path : "(none)");
	printf("  client certs asked: %s\n",
	       c->client_cert_mode == TT_CLIENT_CERT_IGNORE ? "ignore" :
	       c->client_cert_mode == TT_CLIENT_CERT_REQUIRE ? "require" :
							       "request");
	printf("  client CAs:         %s\n",
	       c->client_ca.path ? c->client_ca.path :
	       c->trust_system ? "system trust store" : c->ca_file.path);
	printf("  peer-key-ttl:       %u s\n", c->peer_key_ttl);
	printf("  session-tags:       %s\n", c->session_tags ? "yes" :
	       "no (DONE carries no tags)");
	if (tt_runtime_client_trust_is_system(c))
		printf("warning: client certificates are verified against the system trust store:\n"
		       "  any public CA's client certificate passes and can earn tags;\n"
		       "  set [server] client-ca to the CAs that issue your clients' certificates\n");
	printf("  tags-dir:           %s (%zu tag(s), %zu filter(s))\n",
	       c->tags_dir.path, tp_policy_tag_count(rt->policy),
	       tp_policy_filter_count(rt->policy));
	printf("  max-in-flight:      %u\n", c->max_in_flight);
	printf("  handshake-timeout:  %u s\n", c->timeout_ms / 1000);
	for (size_t i = 0; i < rt->warnings.count; i++) {
		const struct tt_diag_entry *e = &rt->warnings.entries[i];

		printf("%s:%u: warning: %s\n", e->file ? e->file : "?",
		       e->line, e->msg);
	}
	if (rt->tlshd_notes.count) {
		printf("where tlshd would decide differently on this tags-dir:\n");
		tt_diag_print(&rt->tlshd_notes, stdout);
	}
	tt_runtime_free(rt);
	tt_diag_free(&diag);
	return 0;
}

static int load_cert_der(const char *file, gnutls_datum_t *der, char *dn,
			 size_t dnlen)
{
	gnutls_datum_t raw = { NULL, 0 }, name = { NULL, 0 };
	gnutls_x509_crt_t crt;
	int ret;

	ret = gnutls_load_file(file, &raw);
	if (ret < 0) {
		fprintf(stderr, "%s: %s\n", file, gnutls_strerror(ret));
		return -1;
	}
	gnutls_x509_crt_init(&crt);
	ret = gnutls_x509_crt_import(crt, &raw, GNUTLS_X509_FMT_PEM);
	if (ret < 0)
		ret = gnutls_x509_crt_import(crt, &raw, GNUTLS_X509_FMT_DER);
	if (ret >= 0)
		ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, der);
	if (ret >= 0 && gnutls_x509_crt_get_dn3(crt, &name, 0) >= 0) {
		snprintf(dn, dnlen, "%.*s", (int)name.size, name.data);
		gnutls_free(name.data);
	}
	gnutls_x509_crt_deinit(crt);
	gnutls_free(raw.data);
	if (ret < 0) {
		fprintf(stderr, "%s: not a certificate: %s\n", file,
			gnutls_strerror(ret));
		return -1;
	}
	return 0;
}

static int explain(const char *path, const char *certfile)
{
	struct tt_diag diag = { 0 };
	struct tt_config cfg;
	struct tp_policy *pol = NULL;
	struct tp_tags tags = { 0 };
	struct tp_explain ex = { 0 };
	gnutls_datum_t der = { NULL, 0 };
	char dn[512] = "";
	int ret, status = 1;

	ret = tt_runtime_load_config_policy(path, &cfg, &pol, &diag);
	if (ret < 0) {
		tt_diag_print(&diag, stderr);
		tt_diag_free(&diag);
		return 1;
	}
	if (load_cert_der(certfile, &der, dn, sizeof(dn)) < 0)
		goto out;
	ret = tp_evaluate_der(pol, der.data, der.size, &tags, &ex);
	if (ret < 0) {
		fprintf(stderr, "%s: cannot evaluate: %s\n", certfile,
			strerror(-ret));
		goto out;
	}
	printf("certificate: %s\n", certfile);
	printf("subject:     %s\n", dn);
	printf("policy:      %s (%zu tag(s), %zu filter(s))\n",
	       cfg.tags_dir.path, tp_policy_tag_count(pol),
	       tp_policy_filter_count(pol));
	for (size_t i = 0; i < ex.count; i++) {
		const struct tp_explain_tag *t = &ex.tags[i];

		printf("\ntag %s: %s\n", t->tag,
		       t->assigned ? "ASSIGNED" : "not assigned");
		for (size_t j = 0; j < t->nfilters; j++) {
			const struct tp_explain_filter *f = &t->filters[j];

			printf("  %-6s %s%s: %s\n", f->held ? "held" : "FAILED",
			       f->negated ? "not " : "", f->filter,
			       f->detail ? f->detail : "");
		}
	}
	printf("\ntags earned (%zu):", tags.count);
	for (size_t i = 0; i < tags.count; i++)
		printf(" %s", tags.names[i]);
	printf("%s\n", tags.count ? "" : " (none)");
	printf("note: the daemon assigns tags only to a certificate whose chain it verified.\n");
	if (!cfg.session_tags)
		printf("note: [global] session-tags = no: the daemon sends no tags to the kernel.\n");
	status = 0;
out:
	gnutls_free(der.data);
	tp_tags_free(&tags);
	tp_explain_free(&ex);
	tp_policy_free(pol);
	tt_config_free(&cfg);
	tt_diag_free(&diag);
	return status;
}

static int run_daemon(const char *path, bool foreground, bool debug)
{
	struct tt_diag diag = { 0 };
	struct tt_runtime *rt = NULL;
	struct tt_kh *kh = NULL;
	struct tt_caps caps;
	struct tt_nl nl;
	char line[512];
	int ret;

	tt_log_init("tlstagd", TT_LOG_STDERR, debug ? LOG_DEBUG : LOG_INFO);
	/*
	 * The key holder is forked before any private key is read, so that
	 * neither this process nor the handshake children forked from it
	 * ever hold one.
	 */
	ret = tt_kh_start(&kh, line, sizeof(line));
	if (ret < 0) {
		tt_err("cannot start the key holder: %s; not starting", line);
		return 1;
	}
	tt_kh_set_current(kh);
	ret = tt_runtime_load(path, &rt, &diag);
	if (ret < 0) {
		tt_diag_log(&diag);
		tt_err("bad configuration; not starting");
		tt_diag_free(&diag);
		tt_kh_stop(kh);
		return 1;
	}
	tt_diag_free(&diag);
	tt_diag_log_warnings(&rt->warnings);
	if (debug)
		tt_daemon_set_log_override(LOG_DEBUG);
	if (tt_runtime_client_trust_is_system(&rt->cfg))
		tt_warn("client certificates are verified against the system trust store: any public CA's client certificate passes and can earn tags; set [server] client-ca");

	ret = tt_nl_open(&nl);
	if (ret < 0) {
		tt_err("cannot open a generic netlink socket: %s", strerror(-ret));
		goto fail;
	}
	ret = tt_nl_discover(&nl, &caps);
	tt_nl_close(&nl);
	if (ret == -ENOENT) {
		tt_err("the kernel has no \"handshake\" generic netlink family "
		       "(needs Linux 6.5 or later with CONFIG_NET_HANDSHAKE); "
		       "nothing to serve");
		goto fail;
	}
	if (ret < 0) {
		tt_err("cannot query the handshake netlink family: %s",
		       strerror(-ret));
		goto fail;
	}
	tt_caps_describe(&caps, line, sizeof(line));
	tt_notice("%s%s", line, rt->cfg.session_tags ? "" :
		  "; session tags disabled by configuration ([global] session-tags = no): DONE carries none");
	if (!caps.fam.mcgrp_tlshd || !caps.fam.has_accept || !caps.fam.has_done) {
		tt_err("the handshake family lacks the tlshd group or the ACCEPT/DONE commands");
		goto fail;
	}
	if (tt_sandbox_probe(line, sizeof(line)) < 0) {
		tt_err("cannot sandbox handshake children (%s); the kernel needs CONFIG_SECCOMP_FILTER: not starting",
		       line);
		goto fail;
	}
	/*
	 * A session keyring of our own, holding the "tlstagd:peers" keyring:
	 * peer certificate keys (when the request names no keyring) live
	 * there, one per certificate, expiring peer-key-ttl after last use;
	 * all of it goes away with the daemon.
	 */
	if (keyctl_join_session_keyring(NULL) < 0)
		tt_warn("cannot create a session keyring: %s", strerror(errno));
	ret = tt_keys_open_peer_keyring();
	if (ret < 0)
		tt_warn("cannot create the %s keyring: %s; peer keys go to the session keyring",
			TT_PEER_KEYRING_DESC, strerror(-ret));
	tt_keys_link_psk_keyrings(rt->cfg.keyrings, rt->cfg.nkeyrings);
	if (!foreground && daemon(0, 0) < 0) {
		tt_err("daemon: %s", strerror(errno));
		goto fail;
	}
	tt_kh_adopt(kh);	/* this process now owns it (and its keys) */
	tt_daemon_apply_logging(&rt->cfg, foreground);
	ret = tt_daemon_run(path, &rt, &caps, foreground, &tt_netlink_kernel);
	tt_runtime_free(rt);
	tt_kh_stop(kh);
	return ret;
fail:
	tt_runtime_free(rt);
	tt_kh_stop(kh);
	return 1;
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_EXPLAIN };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "explain", required_argument, NULL, OPT_EXPLAIN },
		{ "stderr", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *cert = NULL;
	bool foreground = false, debug = false, check = false;
	int c, ret;

	const char *arg0 = argc > 0 && argv[0] ? argv[0] : "tlstagd";
	const char *prog = strrchr(arg0, '/') ? strrchr(arg0, '/') + 1 : arg0;
	bool as_tlshd = strcmp(prog, "tlshd") == 0, to_stderr = false;

	/* In tlshd's place (its unit, its command line): never detach. */
	if (as_tlshd) {
		foreground = true;
		tt_daemon_set_target_override(TT_LOG_SYSLOG);
	}
	while ((c = getopt_long(argc, argv, "c:fdshVv", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'd':
			debug = true;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_EXPLAIN:
			cert = optarg;
			break;
		case 's':
			to_stderr = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'v':
		case 'V':
			printf("tlstagd %s (GnuTLS %s)\n", TT_VERSION,
			       gnutls_check_version(NULL));
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tlstagd: unexpected argument \"%s\"\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	if (check && cert) {
		fprintf(stderr, "tlstagd: --check-config and --explain are exclusive\n");
		return 2;
	}
	if (to_stderr)
		tt_daemon_set_target_override(TT_LOG_STDERR);
	if (tt_tls_global_init() < 0)
		return 1;
	if (check)
		ret = check_config(config);
	else if (cert)
		ret = explain(config, cert);
	else
		ret = run_daemon(config, foreground, debug);
	tt_tls_global_deinit();
	return ret;
}
