/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The alternative a reviewer proposed for the tagset: the same set of
 * strings kept in an rbtree (the kernel's lib/rbtree.c, as built for user
 * space in tools/lib/rbtree.c), one node per string.
 */
#ifndef RBSET_H
#define RBSET_H
#include <stdbool.h>

struct rbset;

struct rbset *rbset_build(char *const *tags, unsigned int n);
void rbset_free(struct rbset *set);
bool rbset_is_member(const struct rbset *set, const char *tag);
/* In-order walk of @a, probing @b for each string: O(N log M) */
bool rbset_intersection(const struct rbset *a, const struct rbset *b);

#endif
