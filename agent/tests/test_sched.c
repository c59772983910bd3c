// SPDX-License-Identifier: GPL-2.0-only
/* The daemon's fork/ACCEPT bookkeeping (src/tt_sched.h). */
#include "tt_sched.h"
#include "tt_test.h"

TEST(idle_until_ready)
{
	struct tt_sched s;

	tt_sched_init(&s, 2);
	CHECK(!tt_sched_can_spawn(&s));
	tt_sched_ready(&s);
	CHECK(tt_sched_can_spawn(&s));
}

TEST(one_probe_at_a_time)
{
	struct tt_sched s;
	unsigned int gen;

	tt_sched_init(&s, 4);
	tt_sched_ready(&s);
	tt_sched_spawned(&s);
	CHECK(!tt_sched_can_spawn(&s));		/* first has not reported */
	tt_sched_accepted(&s);
	CHECK(tt_sched_can_spawn(&s));		/* accepted: look for more */
	gen = tt_sched_spawned(&s);
	tt_sched_empty(&s, gen);		/* queue empty */
	CHECK(!tt_sched_can_spawn(&s));
	CHECK(s.inflight == 2);
	tt_sched_exited(&s, false);		/* the empty prober exits */
	CHECK(s.inflight == 1 && !tt_sched_can_spawn(&s));
}

TEST(limit_holds_requests_pending)
{
	struct tt_sched s;

	tt_sched_init(&s, 2);
	tt_sched_ready(&s);
	for (int i = 0; i < 2; i++) {
		CHECK(tt_sched_can_spawn(&s));
		tt_sched_spawned(&s);
		tt_sched_accepted(&s);
	}
	tt_sched_ready(&s);			/* more READYs arrive */
	CHECK(!tt_sched_can_spawn(&s));		/* at the limit: wait */
	tt_sched_exited(&s, false);		/* a handshake finishes */
	CHECK(tt_sched_can_spawn(&s));		/* then ACCEPT again */
}

TEST(crash_while_probing)
{
	struct tt_sched s;

	tt_sched_init(&s, 2);
	tt_sched_ready(&s);
	tt_sched_spawned(&s);
	tt_sched_exited(&s, true);
	CHECK(s.inflight == 0 && s.probing == 0);
}

TEST(stopping)
{
	struct tt_sched s;

	tt_sched_init(&s, 2);
	tt_sched_ready(&s);
	s.stopping = true;
	CHECK(!tt_sched_can_spawn(&s));
}

TEST(limit_lowered_by_reload)
{
	struct tt_sched s;

	tt_sched_init(&s, 3);
	tt_sched_ready(&s);
	for (int i = 0; i < 3; i++) {
		tt_sched_spawned(&s);
		tt_sched_accepted(&s);
	}
	s.max = 1;
	tt_sched_exited(&s, false);
	CHECK(!tt_sched_can_spawn(&s));		/* 2 still in flight > 1 */
	tt_sched_exited(&s, false);
	CHECK(!tt_sched_can_spawn(&s));
	tt_sched_exited(&s, false);
	CHECK(tt_sched_can_spawn(&s));
}

/* A READY that arrives after a probe's ACCEPT must not be lost. */
TEST(ready_after_probe_accept_is_kept)
{
	struct tt_sched s;
	unsigned int gen;

	tt_sched_init(&s, 4);
	tt_sched_ready(&s);
	gen = tt_sched_spawned(&s);	/* the probe sends ACCEPT: empty */
	tt_sched_ready(&s);		/* a request queued after that */
	tt_sched_empty(&s, gen);	/* the probe reports "empty" */
	CHECK(s.want);
	CHECK(tt_sched_can_spawn(&s));	/* so probe again */
	gen = tt_sched_spawned(&s);
	tt_sched_accepted(&s);
	CHECK(tt_sched_can_spawn(&s));
	gen = tt_sched_spawned(&s);
	tt_sched_empty(&s, gen);	/* nothing new since: idle */
	CHECK(!s.want && !tt_sched_can_spawn(&s));
}

/* ACCEPT errors and crashed probes keep "want" and back off. */
TEST(failure_backs_off_and_retries)
{
	struct tt_sched s;
	int64_t now = 1000;
	unsigned int gen;

	tt_sched_init(&s, 4);
	tt_sched_ready(&s);
	tt_sched_spawned(&s);
	tt_sched_failed(&s, true, now);		/* ACCEPT error */
	CHECK(s.want && s.probing == 0);
	CHECK(!tt_sched_can_spawn(&s));
	CHECK(tt_sched_wakeup(&s) == now + 100);
	tt_sched_tick(&s, now + 99);
	CHECK(!tt_sched_can_spawn(&s));
	tt_sched_tick(&s, now + 100);
	CHECK(tt_sched_can_spawn(&s));
	CHECK(tt_sched_wakeup(&s) == -1);

	/* A probe that crashes before reporting: backoff doubles. */
	tt_sched_spawned(&s);
	tt_sched_exited(&s, true);
	tt_sched_failed(&s, false, now);
	CHECK(s.want && s.inflight == 1 && s.probing == 0);
	CHECK(tt_sched_wakeup(&s) == now + 200);
	for (int i = 0; i < 10; i++)
		tt_sched_failed(&s, false, now);
	CHECK(tt_sched_wakeup(&s) == now + 5000);	/* capped */
	tt_sched_tick(&s, now + 5000);
	CHECK(tt_sched_can_spawn(&s));

	/* Success resets it. */
	gen = tt_sched_spawned(&s);
	tt_sched_accepted(&s);
	(void)gen;
	tt_sched_spawned(&s);
	tt_sched_failed(&s, true, now);
	CHECK(tt_sched_wakeup(&s) == now + 100);

	/* Stopping: no wakeups for retries. */
	s.stopping = true;
	CHECK(tt_sched_wakeup(&s) == -1);
}

int main(void)
{
	RUN(idle_until_ready);
	RUN(one_probe_at_a_time);
	RUN(limit_holds_requests_pending);
	RUN(crash_while_probing);
	RUN(stopping);
	RUN(limit_lowered_by_reload);
	RUN(ready_after_probe_accept_is_kept);
	RUN(failure_backs_off_and_retries);
	return tt_test_summary();
}
