/* SPDX-License-Identifier: MIT */
/*
 * The simulated xenstored's transactions.
 *
 * A transaction starts with a private copy of the whole tree, and its
 * requests work on that copy (simxs_ops.c), under the same permission rules
 * and node quotas as outside: it sees its own changes and nobody else's, and
 * nobody sees its changes before it commits.  A commit succeeds only if the
 * store has not changed at all since the copy was taken; the copy then
 * simply becomes the store, which makes the commit atomic.  Otherwise the
 * commit fails with EAGAIN and the client starts over, as it must on Xen.
 *
 * That is xenstored's rule before Xen 4.9: one generation count for the whole
 * store.  Today's xenstored tracks the nodes a transaction touched and fails
 * it only if one of those changed meanwhile, and shows a node as it is when
 * the transaction first touches it, not as it was at the start.  So here
 * transactions fail more often (any change anywhere, by anyone, dooms every
 * open transaction), but none commits where xenstored's would have failed:
 * code that retries on EAGAIN behaves the same, only retrying more.
 *
 * Watches fire at commit, once per path the transaction changed, in the
 * order it first changed them, with the read-permission filter of an
 * ordinary change: a watcher hears of a path it could read before the commit
 * or after it.  A path created and removed again within the transaction
 * exists at neither time, so only dom0 hears of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simxs_internal.h"

struct sxs_txn *sxs_txn_find(struct sxs_conn *c, uint32_t id)
{
    for (unsigned i = 0; i < c->ntxns; i++)
        if (c->txns[i]->id == id)
            return c->txns[i];
    return NULL;
}

static void txn_free(struct sxs_txn *t)
{
    sxs_tree_free(&t->tree);
    for (unsigned i = 0; i < t->nchanges; i++)
        free(t->changes[i].path);
    free(t->changes);
    free(t);
}

int sxs_txn_start(struct sxs_server *s, struct sxs_conn *c, char *out, uint32_t *outlen)
{
    /*
     * ENOSPC: xenstored's answer past its transaction quota (EBUSY would mean
     * a nested start).  xenstored spares dom0 the quota; here it applies to
     * everyone, because each open transaction holds a copy of the tree.
     */
    if (c->ntxns == SXS_MAX_TXNS)
        return -ENOSPC;
    struct sxs_txn *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    if (sxs_tree_copy(&s->tree, &t->tree) < 0) {
        free(t);
        return -ENOMEM;
    }
    t->gen = s->gen;
    /*
     * Ids are per connection, as in xenstored, never 0 (XBT_NULL), and not
     * soon reused, so that a stale id fails rather than naming another.
     */
    do
        t->id = ++c->last_txid;
    while (t->id == 0 || sxs_txn_find(c, t->id));
    c->txns[c->ntxns++] = t;
    /* The request's payload says nothing: libxenstore sends an empty string. */
    *outlen = (uint32_t)snprintf(out, XENSTORE_PAYLOAD_MAX, "%" PRIu32, t->id) + 1;
    return 0;
}

/* The copy becomes the store; then the watchers of what changed hear of it. */
static int commit(struct sxs_server *s, struct sxs_txn *t)
{
    if (t->gen != s->gen)
        return -EAGAIN;
    if (t->nchanges == 0)
        return 0; /* it only read: the store stays as it is, and so do the others */
    struct sxs_tree old = s->tree;
    s->tree = t->tree;
    t->tree = old; /* freed with t, after it has served for the permissions */
    s->gen++;
    for (unsigned i = 0; i < t->nchanges; i++) {
        const struct sxs_change *ch = &t->changes[i];
        const struct sxs_node *before = sxs_find(&old, ch->path);
        const struct sxs_node *after = sxs_find(&s->tree, ch->path);
        sxs_fire(s, ch->path, before ? &before->perms : NULL, after ? &after->perms : NULL,
                 ch->recurse);
    }
    return 0;
}

int sxs_txn_end(struct sxs_server *s, struct sxs_conn *c, struct sxs_txn *t, const char *pl,
                uint32_t len, char *out, uint32_t *outlen)
{
    const char *how;
    /* A malformed end leaves the transaction open, as in xenstored. */
    if (sxs_split(pl, len, &how, 1) != 1 || (strcmp(how, "T") && strcmp(how, "F")))
        return -EINVAL;
    unsigned i = 0;
    while (c->txns[i] != t)
        i++;
    memmove(&c->txns[i], &c->txns[i + 1], (c->ntxns - i - 1) * sizeof(c->txns[0]));
    c->ntxns--;
    int rc = how[0] == 'T' ? commit(s, t) : 0;
    txn_free(t);
    return rc < 0 ? rc : sxs_reply_str(out, outlen, "OK");
}

int sxs_txn_note(struct sxs_txn *t, const char *abs, bool recurse)
{
    for (unsigned i = 0; i < t->nchanges; i++) {
        if (!strcmp(t->changes[i].path, abs)) {
            t->changes[i].recurse |= recurse; /* a removal is never undone: see sxs_txn_unnote */
            return 0;
        }
    }
    /*
     * Removing and recreating paths would otherwise grow this list without
     * end.  xenstored bounds a transaction's nodes too, with ENOSPC.
     */
    if (t->nchanges == SXS_TXN_CHANGES)
        return -ENOSPC;
    if (t->nchanges == t->capchanges) {
        unsigned cap = t->capchanges ? 2 * t->capchanges : 8;
        struct sxs_change *ch = realloc(t->changes, cap * sizeof(*ch));
        if (!ch)
            return -ENOMEM;
        t->changes = ch;
        t->capchanges = cap;
    }
    char *path = strdup(abs);
    if (!path)
        return -ENOMEM;
    t->changes[t->nchanges++] = (struct sxs_change){ .path = path, .recurse = recurse };
    return 1;
}

void sxs_txn_unnote(struct sxs_txn *t)
{
    free(t->changes[--t->nchanges].path);
}

void sxs_txns_free(struct sxs_conn *c)
{
    for (unsigned i = 0; i < c->ntxns; i++)
        txn_free(c->txns[i]);
    c->ntxns = 0;
}
