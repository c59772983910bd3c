// SPDX-License-Identifier: GPL-2.0-only
/*
 * The netlink code against the running kernel. The handshake family is
 * usually absent on build machines, so the GETFAMILY and GETPOLICY paths
 * are exercised on the controller family itself ("nlctrl"), whose
 * GETFAMILY operation has a string attribute (CTRL_ATTR_FAMILY_NAME):
 * the same parser that decides tag support must find it, and must not
 * find an attribute that is not there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <linux/genetlink.h>

#include "log.h"
#include "netlink.h"
#include "tt_test.h"

TEST(controller_family)
{
	struct tt_family fam;
	struct tt_nl nl;

	CHECK(tt_nl_open(&nl) == 0);
	CHECK(tt_nl_get_family(&nl, "nlctrl", &fam) == 0);
	CHECK(fam.id == GENL_ID_CTRL);
	CHECK(tt_nl_get_family(&nl, "nosuchfamily", &fam) == -ENOENT);
	/* The socket is still in step after an error. */
	CHECK(tt_nl_get_family(&nl, "nlctrl", &fam) == 0);
	tt_nl_close(&nl);
}

TEST(policy_probe_on_real_dump)
{
	struct tt_nl nl;
	uint32_t maxlen = 0;
	bool has = false;
	int ret;

	CHECK(tt_nl_open(&nl) == 0);
	ret = tt_nl_probe_attr(&nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
			       CTRL_ATTR_FAMILY_NAME, &has, &maxlen);
	CHECK_MSG(ret == 0, "probe: %s", strerror(-ret));
	CHECK(has);
	CHECK_MSG(maxlen == GENL_NAMSIZ - 1, "maxlen %u", maxlen);
	/* CTRL_ATTR_OPS is a reply attribute, not in the request policy. */
	ret = tt_nl_probe_attr(&nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
			       CTRL_ATTR_OPS, &has, &maxlen);
	CHECK(ret == 0 && !has);
	/* CTRL_ATTR_FAMILY_ID is present but not a string: not a "tag". */
	ret = tt_nl_probe_attr(&nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
			       CTRL_ATTR_FAMILY_ID, &has, &maxlen);
	CHECK(ret == 0 && !has);
	/* An operation the family does not have: a kernel error, no. */
	ret = tt_nl_probe_attr(&nl, GENL_ID_CTRL, 200, CTRL_ATTR_FAMILY_NAME,
			       &has, &maxlen);
	CHECK(ret < 0 && !has);
	tt_nl_close(&nl);
}

TEST(discover_handshake)
{
	struct tt_caps caps;
	struct tt_nl nl;
	char line[512];
	int ret;

	CHECK(tt_nl_open(&nl) == 0);
	ret = tt_nl_discover(&nl, &caps);
	/*
	 * TT_KERNEL_FEATURES set (the VM, on the patched kernel): the family
	 * must be there, with session tags.
	 */
	if (getenv("TT_KERNEL_FEATURES")) {
		CHECK_MSG(ret == 0, "discover: %s", strerror(-ret));
		CHECK(caps.fam.id != 0 && caps.fam.has_accept &&
		      caps.fam.has_done && caps.fam.mcgrp_tlshd && caps.tags);
	}
	if (ret == -ENOENT) {
		fprintf(stderr, "  this kernel has no handshake family\n");
		CHECK(caps.fam.id == 0 && !caps.tags);
	} else {
		CHECK(ret == 0);
		tt_caps_describe(&caps, line, sizeof(line));
		fprintf(stderr, "  %s\n", line);
		CHECK(caps.fam.id != 0);
	}
	tt_nl_close(&nl);
}

int main(void)
{
	tt_log_init("test_live_netlink", TT_LOG_STDERR, LOG_DEBUG);
	RUN(controller_family);
	RUN(policy_probe_on_real_dump);
	RUN(discover_handshake);
	return tt_test_summary();
}
