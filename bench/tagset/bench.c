// SPDX-License-Identifier: GPL-2.0-only
/*
 * tagset benchmark: lib/tagset.c, compiled unchanged against a small
 * user-space shim, against an rbtree of strings (rbset.c), in one run.
 *
 * For N = 5 and 64 tags per set it times membership (a hit and a miss,
 * alternating) and intersection of two N-tag sets that share nothing and
 * interleave in sort order, the worst case for both: every element is
 * visited. Each figure is the median of several timed rounds.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/tagset.h>

#include "rbset.h"

#define ROUNDS	9

static volatile unsigned long sink;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Tags as an NFS administrator might name them; even/odd sets interleave */
static char **make_tags(unsigned int n, unsigned int parity)
{
	char **tags = calloc(n, sizeof(*tags));
	unsigned int i;

	if (!tags)
		exit(1);
	for (i = 0; i < n; i++) {
		if (asprintf(&tags[i], "export-policy-%03u", 2 * i + parity) < 0)
			exit(1);
	}
	return tags;
}

static void free_tags(char **tags, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		free(tags[i]);
	free(tags);
}

static void build_tagset(struct tagset *set, char **tags, unsigned int n)
{
	unsigned int i;

	tagset_init(set);
	if (!tagset_alloc(set, n, GFP_KERNEL))
		exit(1);
	/* Reverse order, so that finalize has sorting to do */
	for (i = n; i-- > 0;)
		if (!tagset_add_dup(set, tags[i], GFP_KERNEL))
			exit(1);
	tagset_finalize(set);
}

struct fixture {
	unsigned int	n;
	char		**even, **odd;
	struct tagset	ts_even, ts_odd;
	struct rbset	*rb_even, *rb_odd;
};

typedef unsigned long (*op_fn)(const struct fixture *f, unsigned long iters);

static unsigned long ts_member(const struct fixture *f, unsigned long iters)
{
	unsigned long hits = 0, i;

	for (i = 0; i < iters; i++) {
		unsigned int k = i % f->n;

		hits += tagset_is_member(&f->ts_even,
					 (i & 1) ? f->odd[k] : f->even[k]);
	}
	return hits;
}

static unsigned long rb_member(const struct fixture *f, unsigned long iters)
{
	unsigned long hits = 0, i;

	for (i = 0; i < iters; i++) {
		unsigned int k = i % f->n;

		hits += rbset_is_member(f->rb_even,
					(i & 1) ? f->odd[k] : f->even[k]);
	}
	return hits;
}

static unsigned long ts_inter(const struct fixture *f, unsigned long iters)
{
	unsigned long hits = 0, i;

	for (i = 0; i < iters; i++)
		hits += tagset_intersection(&f->ts_even, &f->ts_odd);
	return hits;
}

static unsigned long rb_inter(const struct fixture *f, unsigned long iters)
{
	unsigned long hits = 0, i;

	for (i = 0; i < iters; i++)
		hits += rbset_intersection(f->rb_even, f->rb_odd);
	return hits;
}

/* Median ns per operation over ROUNDS rounds of about 50 ms each */
static double time_op(op_fn fn, const struct fixture *f)
{
	double ns[ROUNDS];
	unsigned long iters = 1000;
	uint64_t t0, t;
	int r;

	/* Calibrate */
	for (;;) {
		t0 = now_ns();
		sink += fn(f, iters);
		t = now_ns() - t0;
		if (t > 20000000u || iters > (1ul << 40))
			break;
		iters *= 2;
	}
	iters = (unsigned long)((double)iters * 50e6 / (double)t) + 1;

	for (r = 0; r < ROUNDS; r++) {
		t0 = now_ns();
		sink += fn(f, iters);
		ns[r] = (double)(now_ns() - t0) / (double)iters;
	}
	qsort(ns, ROUNDS, sizeof(ns[0]), cmp_double);
	return ns[ROUNDS / 2];
}

static void fixture_init(struct fixture *f, unsigned int n)
{
	f->n = n;
	f->even = make_tags(n, 0);
	f->odd = make_tags(n, 1);
	build_tagset(&f->ts_even, f->even, n);
	build_tagset(&f->ts_odd, f->odd, n);
	f->rb_even = rbset_build(f->even, n);
	f->rb_odd = rbset_build(f->odd, n);
	if (!f->rb_even || !f->rb_odd)
		exit(1);
	/* Sanity: both implementations agree */
	if (tagset_intersection(&f->ts_even, &f->ts_odd) ||
	    rbset_intersection(f->rb_even, f->rb_odd) ||
	    !tagset_is_member(&f->ts_even, f->even[n - 1]) ||
	    !rbset_is_member(f->rb_even, f->even[n - 1]) ||
	    tagset_count(&f->ts_even) != n) {
		fprintf(stderr, "bench: implementations disagree\n");
		exit(1);
	}
}

static void fixture_destroy(struct fixture *f)
{
	tagset_destroy(&f->ts_even);
	tagset_destroy(&f->ts_odd);
	rbset_free(f->rb_even);
	rbset_free(f->rb_odd);
	free_tags(f->even, f->n);
	free_tags(f->odd, f->n);
}

int main(void)
{
	static const unsigned int sizes[] = { 5, 64 };
	unsigned int s;

	printf("tagset benchmark: ns per operation (median of %d rounds), same run\n",
	       ROUNDS);
	printf("%-28s %5s %12s %12s %10s\n", "operation", "tags",
	       "tagset", "rbtree", "rbtree/tagset");
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct fixture f;
		double a, b;

		fixture_init(&f, sizes[s]);
		a = time_op(ts_member, &f);
		b = time_op(rb_member, &f);
		printf("%-28s %5u %12.1f %12.1f %9.2fx\n", "is_member (hit/miss)",
		       f.n, a, b, b / a);
		a = time_op(ts_inter, &f);
		b = time_op(rb_inter, &f);
		printf("%-28s %2ux%-2u %12.1f %12.1f %9.2fx\n",
		       "intersection (disjoint)", f.n, f.n, a, b, b / a);
		fixture_destroy(&f);
	}
	return 0;
}
