// SPDX-License-Identifier: GPL-2.0-only
/* An rbtree of strings, built on the kernel's rbtree code. */
#include <linux/rbtree.h>
#include <stdlib.h>
#include <string.h>

#include "rbset.h"

struct rbset_node {
	struct rb_node	node;
	char		*tag;
};

struct rbset {
	struct rb_root	root;
};

static bool rbset_insert(struct rbset *set, struct rbset_node *new)
{
	struct rb_node **link = &set->root.rb_node, *parent = NULL;

	while (*link) {
		struct rbset_node *cur = rb_entry(*link, struct rbset_node, node);
		int cmp = strcmp(new->tag, cur->tag);

		parent = *link;
		if (cmp < 0)
			link = &(*link)->rb_left;
		else if (cmp > 0)
			link = &(*link)->rb_right;
		else
			return false;
	}
	rb_link_node(&new->node, parent, link);
	rb_insert_color(&new->node, &set->root);
	return true;
}

struct rbset *rbset_build(char *const *tags, unsigned int n)
{
	struct rbset *set = calloc(1, sizeof(*set));
	unsigned int i;

	if (!set)
		return NULL;
	set->root = RB_ROOT;
	for (i = 0; i < n; i++) {
		struct rbset_node *node = malloc(sizeof(*node));

		if (!node) {
			rbset_free(set);
			return NULL;
		}
		node->tag = strdup(tags[i]);
		if (!node->tag || !rbset_insert(set, node)) {
			free(node->tag);
			free(node);
		}
	}
	return set;
}

void rbset_free(struct rbset *set)
{
	struct rb_node *n;

	if (!set)
		return;
	while ((n = rb_first(&set->root))) {
		struct rbset_node *node = rb_entry(n, struct rbset_node, node);

		rb_erase(n, &set->root);
		free(node->tag);
		free(node);
	}
	free(set);
}

bool rbset_is_member(const struct rbset *set, const char *tag)
{
	const struct rb_node *n = set->root.rb_node;

	while (n) {
		const struct rbset_node *cur = rb_entry(n, struct rbset_node, node);
		int cmp = strcmp(tag, cur->tag);

		if (!cmp)
			return true;
		n = cmp < 0 ? n->rb_left : n->rb_right;
	}
	return false;
}

bool rbset_intersection(const struct rbset *a, const struct rbset *b)
{
	const struct rb_node *n;

	for (n = rb_first(&a->root); n; n = rb_next(n))
		if (rbset_is_member(b, rb_entry(n, struct rbset_node, node)->tag))
			return true;
	return false;
}
