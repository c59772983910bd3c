# SPDX-License-Identifier: GPL-2.0-only
#
# Build flags of the tagpolicy library, for Makefiles that link it:
#
#   include path/to/agent/policy/policy.mk
#   CFLAGS += $(TP_CFLAGS)
#   LDLIBS += $(TP_LIBS)
#   $(TP_LIB): ; $(MAKE) -C $(TP_DIR) lib
#
# TP_CFLAGS: -I for tagpolicy.h plus GnuTLS and libyaml compile flags.
# TP_LIBS:   the static library followed by the libraries it needs.
# TP_LIB:    the static library alone (for dependencies).
# TP_LIB_SAN, TP_LIBS_SAN: the same built with ASan+UBSan (make lib-san),
#            for sanitized tests of the code that links it.

TP_DIR := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
TP_PKGS := gnutls yaml-0.1
TP_PKG_CFLAGS := $(shell pkg-config --cflags $(TP_PKGS))
TP_PKG_LIBS := $(shell pkg-config --libs $(TP_PKGS))
TP_LIB := $(TP_DIR)/build/libtagpolicy.a
TP_CFLAGS := -I$(TP_DIR) $(TP_PKG_CFLAGS)
TP_LIBS := $(TP_LIB) $(TP_PKG_LIBS)
TP_LIB_SAN := $(TP_DIR)/build/libtagpolicy-san.a
TP_LIBS_SAN := $(TP_LIB_SAN) $(TP_PKG_LIBS)
