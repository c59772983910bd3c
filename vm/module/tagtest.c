// SPDX-License-Identifier: GPL-2.0-only
/*
 * tagtest - a test consumer of the kernel TLS handshake layer with
 * session tags, for the VM rig (vm/README.md).
 *
 * Listens on 127.0.0.1:port (TCP). Every accepted connection gets a
 * session id (1, 2, ...) and is handed to the handshake agent with
 * tls_server_hello_x509(). The done callback copies the session tags
 * and records status and peer id; a worker then echoes over kTLS until
 * EOF, an error or a non-data TLS record, or closes at once when the
 * handshake failed.
 *
 * debugfs (tagtest/):
 *   sessions  one line per completed handshake, in completion order:
 *             "<id> status=<int> peerid=<u32> tags=<t1>,<t2>,..." ("tags=-"
 *             when empty)
 *   echoes    one line per finished echo: "<id> tx=<cipher> rx=<cipher>
 *             bytes=<n> end=<how>", the ciphers kTLS holds on the socket
 *             (aes-gcm-128, aes-gcm-256, aes-ccm-128, chacha20-poly1305,
 *             none), and how the echo ended: "eof", "record:<type>" (a
 *             TLS record that is not application data, e.g. 22 for a
 *             KeyUpdate) or "error:<errno>"
 *   pending   number of submitted handshakes not yet completed
 *   reset     write anything: forget the completed sessions and echoes
 *
 * It also builds against a kernel without session tags (the unpatched
 * base, vm/README.md "compatibility"): net/handshake.h then lacks
 * HANDSHAKE_MAX_SESSIONTAGS, the done callback has no tags argument and
 * every session is recorded with "tags=-".
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/kthread.h>
#include <linux/workqueue.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/file.h>
#include <linux/net.h>
#include <linux/in.h>
#include <linux/socket.h>
#include <net/sock.h>
#include <net/handshake.h>
#include <net/tls.h>
#include <net/tls_prot.h>

/* The session tags series defines this next to the tags-aware callback */
#ifdef HANDSHAKE_MAX_SESSIONTAGS
#define TT_HAVE_TAGS	1
#include <linux/tagset.h>
#else
#define TT_HAVE_TAGS	0
#endif

static ushort port = 4433;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "TCP port to listen on, on 127.0.0.1 (default 4433)");

static uint timeout_ms = 20000;
module_param(timeout_ms, uint, 0444);
MODULE_PARM_DESC(timeout_ms, "handshake timeout passed to the agent, in ms (default 20000)");

#define TT_BUFSIZE	4096

/* The result of one completed handshake, as shown in "sessions" */
struct tt_record {
	struct list_head	node;
	unsigned int		id;
	int			status;
	u32			peerid;
#if TT_HAVE_TAGS
	struct tagset		tags;
#endif
};

/* How one echo went, as shown in "echoes" */
struct tt_echo_rec {
	struct list_head	node;
	unsigned int		id;
	u16			tx, rx;		/* TLS_CIPHER_*, 0: none */
	size_t			bytes;
	int			end;	/* record type, 0 at EOF, or -errno */
};

/* One accepted connection, from accept to close */
struct tt_session {
	struct list_head	node;		/* tt_sessions, under tt_lock */
	unsigned int		id;
	struct socket		*sock;		/* owned through sock->file */
	struct tt_record	*rec;		/* until the done callback */
	int			status;
	bool			completed;	/* done callback has run */
	struct work_struct	work;
};

static DEFINE_MUTEX(tt_lock);
static LIST_HEAD(tt_sessions);		/* live sessions */
static unsigned int tt_nsessions;	/* on tt_sessions; read locklessly */
static LIST_HEAD(tt_records);		/* completed handshakes, in order */
static LIST_HEAD(tt_echoes);		/* finished echoes, in order */
static unsigned int tt_next_id = 1;
static unsigned int tt_pending;
static bool tt_stopping;
static DECLARE_WAIT_QUEUE_HEAD(tt_idle);

static struct socket *tt_listener;
static struct task_struct *tt_thread;
static struct workqueue_struct *tt_wq;
static struct dentry *tt_dir;

static void tt_record_free(struct tt_record *rec)
{
	if (!rec)
		return;
#if TT_HAVE_TAGS
	tagset_destroy(&rec->tags);
#endif
	kfree(rec);
}

/* Close the socket and free the session; caller has unlisted it */
static void tt_session_free(struct tt_session *s)
{
	fput(s->sock->file);
	tt_record_free(s->rec);
	kfree(s);
}

/* Under tt_lock; teardown waits for the count to drop to zero */
static void tt_session_unlist(struct tt_session *s)
{
	list_del(&s->node);
	WRITE_ONCE(tt_nsessions, tt_nsessions - 1);
}

/*
 * Receive into @buf. Returns the bytes of application data received,
 * 0 at EOF or at a TLS record that is not application data (its type
 * then in *@type), or a negative errno.
 */
static int tt_recv(struct tt_session *s, void *buf, size_t len, u8 *rtype)
{
	union {
		struct cmsghdr	cmsg;
		u8		buf[CMSG_SPACE(sizeof(u8))];
	} u;
	struct msghdr msg = {
		.msg_control = &u,
		.msg_controllen = sizeof(u),
	};
	struct kvec iov = { .iov_base = buf, .iov_len = len };
	int ret;
	u8 type;

	ret = kernel_recvmsg(s->sock, &msg, &iov, 1, len, 0);
	if (ret < 0)
		return ret;
	if (msg.msg_controllen != sizeof(u)) {
		/* kTLS said which record type this was */
		type = tls_get_record_type(s->sock->sk, &u.cmsg);
		if (type && type != TLS_RECORD_TYPE_DATA) {
			pr_debug("session %u: TLS record type %u ends the echo\n",
				 s->id, type);
			*rtype = type;
			return 0;
		}
	}
	return ret;
}

static int tt_send(struct tt_session *s, void *buf, size_t len)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	struct kvec iov;
	int ret;

	while (len) {
		iov.iov_base = buf;
		iov.iov_len = len;
		ret = kernel_sendmsg(s->sock, &msg, &iov, 1, len);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return -EPIPE;
		buf += ret;
		len -= ret;
	}
	return 0;
}

/* The ciphers kTLS holds on @sk (TLS_CIPHER_*, 0: none) */
static void tt_ciphers(struct sock *sk, u16 *tx, u16 *rx)
{
	struct tls_context *ctx;

	*tx = 0;
	*rx = 0;
	lock_sock(sk);
	if (inet_csk(sk)->icsk_ulp_ops &&
	    !strcmp(inet_csk(sk)->icsk_ulp_ops->name, "tls")) {
		ctx = tls_get_ctx(sk);
		if (ctx && ctx->tx_conf == TLS_SW)
			*tx = ctx->crypto_send.info.cipher_type;
		if (ctx && ctx->rx_conf == TLS_SW)
			*rx = ctx->crypto_recv.info.cipher_type;
	}
	release_sock(sk);
}

static void tt_echo(struct tt_session *s)
{
	struct tt_echo_rec *er;
	size_t total = 0;
	u8 rtype = 0;
	void *buf;
	int ret;

	buf = kmalloc(TT_BUFSIZE, GFP_KERNEL);
	if (!buf)
		return;
	for (;;) {
		ret = tt_recv(s, buf, TT_BUFSIZE, &rtype);
		if (ret <= 0)
			break;
		total += ret;
		ret = tt_send(s, buf, ret);
		if (ret < 0)
			break;
	}
	pr_debug("session %u: echoed %zu bytes, ended with %d\n", s->id, total, ret);
	kfree(buf);

	er = kzalloc(sizeof(*er), GFP_KERNEL);
	if (!er)
		return;
	er->id = s->id;
	er->bytes = total;
	er->end = ret < 0 ? ret : rtype;
	tt_ciphers(s->sock->sk, &er->tx, &er->rx);
	mutex_lock(&tt_lock);
	list_add_tail(&er->node, &tt_echoes);
	mutex_unlock(&tt_lock);
}

static void tt_work(struct work_struct *work)
{
	struct tt_session *s = container_of(work, struct tt_session, work);
	bool empty;

	if (s->status == 0) {
		if (!READ_ONCE(tt_stopping))
			tt_echo(s);
		tls_handshake_close(s->sock);
	}
	kernel_sock_shutdown(s->sock, SHUT_RDWR);

	mutex_lock(&tt_lock);
	tt_session_unlist(s);
	empty = !tt_nsessions;
	mutex_unlock(&tt_lock);

	tt_session_free(s);
	if (empty)
		wake_up(&tt_idle);
}

/* Process context (the DONE handler); runs at most once per request */
#if TT_HAVE_TAGS
static void tt_done(void *data, int status, key_serial_t peerid,
		    const struct tagset *tags)
#else
static void tt_done(void *data, int status, key_serial_t peerid)
#endif
{
	struct tt_session *s = data;
	struct tt_record *rec = s->rec;

	rec->status = status;
	rec->peerid = (u32)peerid;
#if TT_HAVE_TAGS
	if (tags && !tagset_is_empty(tags) &&
	    !tagset_copy(&rec->tags, tags, GFP_KERNEL)) {
		pr_warn("session %u: cannot copy %u tags\n", s->id,
			tagset_count(tags));
		tagset_init(&rec->tags);
	}
#endif

	mutex_lock(&tt_lock);
	s->rec = NULL;
	s->status = status;
	s->completed = true;
	list_add_tail(&rec->node, &tt_records);
	tt_pending--;
	queue_work(tt_wq, &s->work);
	mutex_unlock(&tt_lock);
}

static void tt_start_session(struct socket *sock)
{
	struct tls_handshake_args args = { };
	struct tt_session *s;
	struct tt_record *rec;
	struct file *file;
	unsigned int id;
	int ret;

	/* The accepted socket inherits the listener's receive timeout */
	sock->sk->sk_rcvtimeo = MAX_SCHEDULE_TIMEOUT;

	/* The handshake layer passes the socket to the agent as a file */
	file = sock_alloc_file(sock, O_CLOEXEC, NULL);
	if (IS_ERR(file)) {
		pr_warn("cannot allocate a file for a socket: %ld\n",
			PTR_ERR(file));
		return;		/* sock_alloc_file() released @sock */
	}

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	rec = kzalloc(sizeof(*rec), GFP_KERNEL);
	if (!s || !rec) {
		kfree(s);
		kfree(rec);
		fput(file);
		return;
	}
	INIT_WORK(&s->work, tt_work);
	INIT_LIST_HEAD(&rec->node);
#if TT_HAVE_TAGS
	tagset_init(&rec->tags);
#endif
	s->sock = sock;
	s->rec = rec;

	mutex_lock(&tt_lock);
	id = tt_next_id++;
	s->id = id;
	rec->id = id;
	list_add_tail(&s->node, &tt_sessions);
	WRITE_ONCE(tt_nsessions, tt_nsessions + 1);
	tt_pending++;
	mutex_unlock(&tt_lock);

	args.ta_sock = sock;
	args.ta_done = tt_done;
	args.ta_data = s;
	args.ta_peername = NULL;
	args.ta_timeout_ms = timeout_ms;
	args.ta_keyring = TLS_NO_KEYRING;
	args.ta_my_cert = TLS_NO_CERT;
	args.ta_my_privkey = TLS_NO_PRIVKEY;

	/*
	 * After a successful submit the session belongs to the done
	 * callback and the worker (which may already have freed it).
	 */
	ret = tls_server_hello_x509(&args, GFP_KERNEL);
	if (!ret) {
		pr_debug("session %u: handshake submitted\n", id);
		return;
	}

	/* No callback will come: record the failure as a completion */
	pr_info("session %u: tls_server_hello_x509 failed: %d\n", id, ret);
	mutex_lock(&tt_lock);
	tt_session_unlist(s);
	tt_pending--;
	rec->status = ret;
	list_add_tail(&rec->node, &tt_records);
	s->rec = NULL;
	if (!tt_nsessions)
		wake_up(&tt_idle);
	mutex_unlock(&tt_lock);
	tt_session_free(s);
}

static int tt_listen_thread(void *unused)
{
	struct socket *sock;
	int ret;

	while (!kthread_should_stop()) {
		/* The listener has a receive timeout: this wakes up to check */
		ret = kernel_accept(tt_listener, &sock, 0);
		if (ret == -EAGAIN || ret == -EINTR || ret == -ERESTARTSYS)
			continue;
		if (ret < 0) {
			pr_warn("accept failed: %d\n", ret);
			schedule_timeout_interruptible(HZ / 10);
			continue;
		}
		if (kthread_should_stop()) {
			sock_release(sock);
			break;
		}
		tt_start_session(sock);
	}
	return 0;
}

static int tt_listen(void)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct socket *sock;
	int ret;

	ret = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP,
			       &sock);
	if (ret)
		return ret;
	sock_set_reuseaddr(sock->sk);
	WRITE_ONCE(sock->sk->sk_rcvtimeo, HZ / 5);
	ret = kernel_bind(sock, (struct sockaddr *)&sin, sizeof(sin));
	if (!ret)
		ret = kernel_listen(sock, 16);
	if (ret) {
		sock_release(sock);
		return ret;
	}
	tt_listener = sock;
	return 0;
}

/* debugfs */

static int tt_sessions_show(struct seq_file *m, void *v)
{
	struct tt_record *rec;
#if TT_HAVE_TAGS
	const char *tag;
	unsigned int i;
#endif

	mutex_lock(&tt_lock);
	list_for_each_entry(rec, &tt_records, node) {
		seq_printf(m, "%u status=%d peerid=%u tags=", rec->id,
			   rec->status, rec->peerid);
#if TT_HAVE_TAGS
		if (tagset_is_empty(&rec->tags))
			seq_puts(m, "-");
		tagset_for_each(&rec->tags, i, tag)
			seq_printf(m, "%s%s", i ? "," : "", tag);
#else
		seq_puts(m, "-");
#endif
		seq_putc(m, '\n');
	}
	mutex_unlock(&tt_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tt_sessions);

static int tt_pending_show(struct seq_file *m, void *v)
{
	unsigned int n;

	mutex_lock(&tt_lock);
	n = tt_pending;
	mutex_unlock(&tt_lock);
	seq_printf(m, "%u\n", n);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tt_pending);

static const char *tt_cipher_name(u16 c)
{
	switch (c) {
	case 0:
		return "none";
	case TLS_CIPHER_AES_GCM_128:
		return "aes-gcm-128";
	case TLS_CIPHER_AES_GCM_256:
		return "aes-gcm-256";
	case TLS_CIPHER_AES_CCM_128:
		return "aes-ccm-128";
	case TLS_CIPHER_CHACHA20_POLY1305:
		return "chacha20-poly1305";
	default:
		return "other";
	}
}

static int tt_echoes_show(struct seq_file *m, void *v)
{
	struct tt_echo_rec *er;

	mutex_lock(&tt_lock);
	list_for_each_entry(er, &tt_echoes, node) {
		seq_printf(m, "%u tx=%s rx=%s bytes=%zu end=", er->id,
			   tt_cipher_name(er->tx), tt_cipher_name(er->rx),
			   er->bytes);
		if (er->end < 0)
			seq_printf(m, "error:%d\n", -er->end);
		else if (er->end)
			seq_printf(m, "record:%d\n", er->end);
		else
			seq_puts(m, "eof\n");
	}
	mutex_unlock(&tt_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tt_echoes);

static void tt_forget_records(void)
{
	struct tt_record *rec, *tmp;
	struct tt_echo_rec *er, *etmp;
	LIST_HEAD(old);
	LIST_HEAD(old_echoes);

	mutex_lock(&tt_lock);
	list_splice_init(&tt_records, &old);
	list_splice_init(&tt_echoes, &old_echoes);
	mutex_unlock(&tt_lock);
	list_for_each_entry_safe(rec, tmp, &old, node) {
		list_del(&rec->node);
		tt_record_free(rec);
	}
	list_for_each_entry_safe(er, etmp, &old_echoes, node) {
		list_del(&er->node);
		kfree(er);
	}
}

static ssize_t tt_reset_write(struct file *file, const char __user *buf,
			      size_t count, loff_t *ppos)
{
	tt_forget_records();
	return count;
}

static const struct file_operations tt_reset_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = tt_reset_write,
	.llseek = noop_llseek,
};

/* Stop everything; safe on a partly initialised module */
static void tt_teardown(void)
{
	struct tt_session *s, *tmp;
	LIST_HEAD(cancelled);

	debugfs_remove_recursive(tt_dir);
	tt_dir = NULL;

	if (tt_thread) {
		kthread_stop(tt_thread);
		tt_thread = NULL;
	}
	if (tt_listener) {
		sock_release(tt_listener);
		tt_listener = NULL;
	}

	mutex_lock(&tt_lock);
	WRITE_ONCE(tt_stopping, true);
	list_for_each_entry_safe(s, tmp, &tt_sessions, node) {
		if (!s->completed && tls_handshake_cancel(s->sock->sk)) {
			/* No callback will run: the session is ours */
			tt_session_unlist(s);
			list_add_tail(&s->node, &cancelled);
			tt_pending--;
			continue;
		}
		/*
		 * The callback has run or is about to; its worker frees the
		 * session. Wake an echo loop blocked in recvmsg.
		 */
		kernel_sock_shutdown(s->sock, SHUT_RDWR);
	}
	mutex_unlock(&tt_lock);

	list_for_each_entry_safe(s, tmp, &cancelled, node) {
		pr_info("session %u: handshake cancelled\n", s->id);
		list_del(&s->node);
		tt_session_free(s);
	}

	wait_event(tt_idle, !READ_ONCE(tt_nsessions));
	if (tt_wq) {
		destroy_workqueue(tt_wq);
		tt_wq = NULL;
	}
	tt_forget_records();
}

static int __init tt_init(void)
{
	int ret;

	tt_wq = alloc_workqueue("tagtest", WQ_UNBOUND, 0);
	if (!tt_wq)
		return -ENOMEM;

	ret = tt_listen();
	if (ret) {
		pr_err("cannot listen on 127.0.0.1:%u: %d\n", port, ret);
		goto err;
	}

	tt_dir = debugfs_create_dir("tagtest", NULL);
	debugfs_create_file("sessions", 0444, tt_dir, NULL, &tt_sessions_fops);
	debugfs_create_file("pending", 0444, tt_dir, NULL, &tt_pending_fops);
	debugfs_create_file("echoes", 0444, tt_dir, NULL, &tt_echoes_fops);
	debugfs_create_file("reset", 0200, tt_dir, NULL, &tt_reset_fops);

	tt_thread = kthread_run(tt_listen_thread, NULL, "tagtest-listen");
	if (IS_ERR(tt_thread)) {
		ret = PTR_ERR(tt_thread);
		tt_thread = NULL;
		goto err;
	}
	pr_info("listening on 127.0.0.1:%u (handshake timeout %u ms, session tags %s)\n",
		port, timeout_ms,
		TT_HAVE_TAGS ? "supported" : "not in this kernel");
	return 0;

err:
	tt_teardown();
	return ret;
}

static void __exit tt_exit(void)
{
	tt_teardown();
	pr_info("unloaded\n");
}

module_init(tt_init);
module_exit(tt_exit);

MODULE_DESCRIPTION("Test consumer of TLS handshake session tags (VM rig)");
MODULE_LICENSE("GPL");
