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

	tt_sched_init(&s, 4);
	tt_sched_ready(&s);
	tt_sched_spawned(&s);
	CHECK(!tt_sched_can_spawn(&s));		/* first has not reported */
	tt_sched_reported(&s, true);
	CHECK(tt_sched_can_spawn(&s));		/* accepted: look for more */
	tt_sched_spawned(&s);
	tt_sched_reported(&s, false);		/* queue empty */
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
		tt_sched_reported(&s, true);
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
		tt_sched_reported(&s, true);
	}
	s.max = 1;
	tt_sched_exited(&s, false);
	CHECK(!tt_sched_can_spawn(&s));		/* 2 still in flight > 1 */
	tt_sched_exited(&s, false);
	CHECK(!tt_sched_can_spawn(&s));
	tt_sched_exited(&s, false);
	CHECK(tt_sched_can_spawn(&s));
}

int main(void)
{
	RUN(idle_until_ready);
	RUN(one_probe_at_a_time);
	RUN(limit_holds_requests_pending);
	RUN(crash_while_probing);
	RUN(stopping);
	RUN(limit_lowered_by_reload);
	return tt_test_summary();
}
