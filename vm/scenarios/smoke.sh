#!/bin/bash
# vm/scenarios/smoke.sh - runs inside the VM (vm/run vm/scenarios/smoke.sh).
# The running kernel is the one just built; kernel TLS works; the
# "handshake" generic netlink family exists and its DONE command takes
# session tags (attribute 4), as tlstagd reports at startup; tlstagd stops
# cleanly on SIGTERM. Exit status 0 when every check passed.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${VM_TOP:?run scenarios with vm/run}/vm/scenarios/lib.sh" || exit 1

# 1. The kernel is the one vm/run was asked to boot.
echo "kernel: $(uname -srv)"
check_kernel_release
check_kernel_build

# 2. Kernel TLS: built in (/proc/net/tls_stat) or loadable; then a real
#    TLS_TX on a loopback TCP connection (AES-GCM-128, TLS 1.3).
if [ ! -e /proc/net/tls_stat ]; then
	modprobe tls 2>/dev/null
fi
[ -e /proc/net/tls_stat ] && ok "kTLS present (/proc/net/tls_stat)" ||
	fail "kTLS absent (no /proc/net/tls_stat, modprobe tls failed)"
if ktls=$(python3 - 2>&1 <<'EOF'
import socket, struct
SOL_TLS, TLS_TX, TCP_ULP = 282, 1, 31
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
c.setsockopt(socket.SOL_TCP, TCP_ULP, b"tls")
# struct tls12_crypto_info_aes_gcm_128: version, cipher, iv, key, salt, rec_seq
info = struct.pack("=HH8s16s4s8s", 0x0304, 51, b"\1" * 8, b"\2" * 16,
                   b"\3" * 4, b"\0" * 8)
c.setsockopt(SOL_TLS, TLS_TX, info)
c.sendall(b"hello")
rec = s.recv(100)
# A TLS 1.3 record: application_data, legacy version 3.3, 5+1+16 bytes.
assert rec[:3] == b"\x17\x03\x03" and len(rec) == 5 + 5 + 1 + 16, rec
print("record of %d bytes" % len(rec))
EOF
); then
	ok "kTLS TX on loopback: $ktls"
else
	fail "kTLS TX on loopback: $ktls"
fi

# 3. tlstagd reports what the kernel supports, then stops on SIGTERM.
if [ ! -x "$agent" ]; then
	fail "no $agent (make -C agent)"
else
	mkdir -p "$d/tags.d"
	cat >"$d/tlstagd.conf" <<EOF
[global]
log-level = info
log-target = stderr
tags-dir = $d/tags.d
EOF
	agent_start
	line=${line#tlstagd: }
	echo "tlstagd: ${line:-no startup line}"
	case "$line" in
	*"session tags yes (DONE attribute 4"*) ok "handshake family with DONE attribute 4 (tags)" ;;
	*) fail "tlstagd does not see session tags in the kernel" ;;
	esac
	if agent_listening; then
		ok "tlstagd listening"
	else
		fail "tlstagd did not start listening"
	fi
	agent_stop
	st=$ast
	grep -q "stopped" "$d/log" && [ "$st" = 0 ] &&
		ok "tlstagd stopped cleanly on SIGTERM" ||
		fail "tlstagd exit status $st after SIGTERM"
	sed 's/^/  tlstagd| /' "$d/log"
	cp "$d/log" "$out/tlstagd.log" 2>/dev/null
fi

echo "smoke: $fails failure(s)"
[ "$fails" = 0 ]
