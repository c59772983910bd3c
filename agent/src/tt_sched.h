/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * When to fork a handshake child. Pure bookkeeping, unit-tested.
 *
 * A child is forked to ACCEPT one request. Only one child at a time is
 * "probing" (sent or about to send ACCEPT, result not yet reported), so
 * the daemon never overshoots the number of pending requests by more than
 * one. A probe that finds the queue empty clears "want"; a READY (or lost
 * READYs, ENOBUFS) sets it. At the in-flight limit nothing is forked and
 * the kernel keeps the requests queued; a freed slot resumes accepting.
 */
#ifndef TT_SCHED_H
#define TT_SCHED_H

#include <stdbool.h>

struct tt_sched {
	unsigned int	max;		/* in-flight limit */
	unsigned int	inflight;	/* children alive */
	unsigned int	probing;	/* children not yet reported */
	bool		want;		/* requests may be pending */
	bool		stopping;
};

static inline void tt_sched_init(struct tt_sched *s, unsigned int max)
{
	s->max = max;
	s->inflight = 0;
	s->probing = 0;
	s->want = false;
	s->stopping = false;
}

static inline void tt_sched_ready(struct tt_sched *s)
{
	s->want = true;
}

static inline bool tt_sched_can_spawn(const struct tt_sched *s)
{
	return s->want && !s->stopping && s->probing == 0 &&
	       s->inflight < s->max;
}

static inline void tt_sched_spawned(struct tt_sched *s)
{
	s->inflight++;
	s->probing++;
}

/* The child reported: it accepted a request, or found none / failed. */
static inline void tt_sched_reported(struct tt_sched *s, bool accepted)
{
	if (s->probing)
		s->probing--;
	if (!accepted)
		s->want = false;
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
