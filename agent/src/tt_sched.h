/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * When to fork a handshake child. Pure bookkeeping, unit-tested.
 *
 * A child is forked to ACCEPT one request. Only one child at a time is
 * "probing" (sent or about to send ACCEPT, result not yet reported), so
 * the daemon never overshoots the number of pending requests by more than
 * one. At the in-flight limit nothing is forked and the kernel keeps the
 * requests queued; a freed slot resumes accepting.
 *
 * "want" says requests may be pending. A READY (or a sign that READYs may
 * have been lost: ENOBUFS, an undecodable notification, a socket error)
 * sets it and bumps a generation counter. A probe records the generation
 * when it is spawned; when it finds the queue empty, "want" is cleared
 * only if no READY arrived since, because a READY that came after the
 * probe's ACCEPT announces a request the probe could not have seen.
 *
 * A probe that fails (ACCEPT error, crash) keeps "want" and holds further
 * probes back for a backoff that doubles from TT_SCHED_BACKOFF_MIN_MS up
 * to TT_SCHED_BACKOFF_MAX_MS; a probe that gets an answer (a request or
 * an empty queue) resets it. The caller drives time with tt_sched_tick().
 */
#ifndef TT_SCHED_H
#define TT_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#define TT_SCHED_BACKOFF_MIN_MS	100
#define TT_SCHED_BACKOFF_MAX_MS	5000

struct tt_sched {
	unsigned int	max;		/* in-flight limit */
	unsigned int	inflight;	/* children alive */
	unsigned int	probing;	/* children not yet reported */
	bool		want;		/* requests may be pending */
	bool		stopping;
	unsigned int	gen;		/* bumped by every READY */
	bool		held;		/* backing off after a failure */
	int64_t		retry_at;	/* when held: end of the backoff */
	unsigned int	backoff_ms;	/* the next backoff */
};

static inline void tt_sched_init(struct tt_sched *s, unsigned int max)
{
	s->max = max;
	s->inflight = 0;
	s->probing = 0;
	s->want = false;
	s->stopping = false;
	s->gen = 0;
	s->held = false;
	s->retry_at = 0;
	s->backoff_ms = TT_SCHED_BACKOFF_MIN_MS;
}

static inline void tt_sched_ready(struct tt_sched *s)
{
	s->want = true;
	s->gen++;
}

static inline bool tt_sched_can_spawn(const struct tt_sched *s)
{
	return s->want && !s->stopping && !s->held && s->probing == 0 &&
	       s->inflight < s->max;
}

/* A probe was forked; returns the generation to report it with. */
static inline unsigned int tt_sched_spawned(struct tt_sched *s)
{
	s->inflight++;
	s->probing++;
	return s->gen;
}

static inline void tt_sched_probe_over(struct tt_sched *s)
{
	if (s->probing)
		s->probing--;
}

/* The probe accepted a request: look for more, forget any backoff. */
static inline void tt_sched_accepted(struct tt_sched *s)
{
	tt_sched_probe_over(s);
	s->backoff_ms = TT_SCHED_BACKOFF_MIN_MS;
}

/*
 * The probe spawned at generation @gen found the queue empty: stop
 * probing unless a READY came in since.
 */
static inline void tt_sched_empty(struct tt_sched *s, unsigned int gen)
{
	tt_sched_probe_over(s);
	s->backoff_ms = TT_SCHED_BACKOFF_MIN_MS;
	if (gen == s->gen)
		s->want = false;
}

/*
 * ACCEPT failed, or the probe could not be started or died before it
 * reported (then call tt_sched_exited() as well, with was_probing false).
 * Requests may still be pending: keep "want", retry after a backoff.
 */
static inline void tt_sched_failed(struct tt_sched *s, bool was_probing,
				   int64_t now_ms)
{
	if (was_probing)
		tt_sched_probe_over(s);
	s->held = true;
	s->retry_at = now_ms + s->backoff_ms;
	s->backoff_ms *= 2;
	if (s->backoff_ms > TT_SCHED_BACKOFF_MAX_MS)
		s->backoff_ms = TT_SCHED_BACKOFF_MAX_MS;
}

/* Ends a backoff that has run out. */
static inline void tt_sched_tick(struct tt_sched *s, int64_t now_ms)
{
	if (s->held && now_ms >= s->retry_at)
		s->held = false;
}

/* When the caller must wake up to end a backoff; -1: no need. */
static inline int64_t tt_sched_wakeup(const struct tt_sched *s)
{
	return s->held && s->want && !s->stopping ? s->retry_at : -1;
}

/* A child exited; @was_probing when it never reported. */
static inline void tt_sched_exited(struct tt_sched *s, bool was_probing)
{
	if (was_probing && s->probing)
		s->probing--;
	if (s->inflight)
		s->inflight--;
}

#endif
