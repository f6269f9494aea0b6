/* SPDX-License-Identifier: MIT */
/*
 * The simulated xenstored's requests, with the access rules of
 * docs/misc/xenstore.txt: dom0 and a node's owner may do anything to it;
 * everyone else gets the node's per-domain entry or its default.  Also
 * watches: which watcher hears of a change, under which path.  A request in
 * a transaction works on the transaction's copy of the tree, under the same
 * rules; its watchers hear of it at commit (simxs_txn.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simxs_internal.h"

int sxs_split(const char *pl, uint32_t len, const char **v, unsigned max)
{
    if (len == 0 || pl[len - 1] != '\0')
        return -EINVAL;
    unsigned n = 0;
    for (uint32_t off = 0; off < len; off += (uint32_t)strlen(pl + off) + 1) {
        if (n == max)
            return -EINVAL;
        v[n++] = pl + off;
    }
    return (int)n;
}

static int args(const char *pl, uint32_t len, const char **v, unsigned want)
{
    int n = sxs_split(pl, len, v, want);
    return n == (int)want ? 0 : -EINVAL;
}

int sxs_reply_str(char *out, uint32_t *outlen, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(out, s, n);
    *outlen = (uint32_t)n;
    return 0;
}

static void send_event(struct sxs_conn *c, const char *path, const char *token)
{
    struct sxs_conn *e = c->peer;
    size_t plen = strlen(path) + 1, tlen = strlen(token) + 1;
    /* A long token on a deep path: too big to send, so dropped, as xenstored does. */
    if (e && !e->dead && plen + tlen <= XENSTORE_PAYLOAD_MAX)
        sxs_emit(e, XS_WATCH_EVENT, 0, path, plen, token, tlen);
}

static bool at_or_below(const char *node, const char *top)
{
    size_t n = strlen(top);
    if (!strcmp(top, "/"))
        return node[0] == '/';
    return !strncmp(node, top, n) && (node[n] == '\0' || node[n] == '/');
}

/* NULL: no node, so nothing a guest could read (dom0 reads everything). */
static bool may_read(uint16_t domid, const struct sxs_perms *p)
{
    return p ? (sxs_perm_for(domid, p) & XS_PERM_READ) != 0 : domid == 0;
}

void sxs_fire(struct sxs_server *s, const char *abs, const struct sxs_perms *perms,
              const struct sxs_perms *perms2, bool recurse)
{
    for (unsigned i = 0; i < SXS_MAX_CONNS; i++) {
        struct sxs_conn *c = &s->conns[i];
        if (c->fd < 0 || c->dead || c->kind != SXS_REQ)
            continue;
        /* XSA-115: a watcher hears only of nodes it could read. */
        if (!may_read(c->domid, perms) && !may_read(c->domid, perms2))
            continue;
        for (unsigned k = 0; k < c->nwatches; k++) {
            const struct sxs_watch *w = &c->watches[k];
            const char *name;
            if (w->abs[0] != '/')
                continue;
            if (at_or_below(abs, w->abs))
                name = abs;
            else if (recurse && at_or_below(w->abs, abs))
                name = w->abs; /* its node went with an ancestor */
            else
                continue;
            /* Relative watches hear relative paths: strip the home prefix. */
            if (w->path[0] != '/')
                name += strlen(w->abs) - strlen(w->path);
            send_event(c, name, w->token);
        }
    }
}

/*
 * Every watcher of @introduceDomain/@releaseDomain hears them.  Xen (since
 * XSA-115) tells only dom0, or domains given read on the special node.
 */
static void fire_special(struct sxs_server *s, const char *name)
{
    for (unsigned i = 0; i < SXS_MAX_CONNS; i++) {
        struct sxs_conn *c = &s->conns[i];
        if (c->fd < 0 || c->dead || c->kind != SXS_REQ)
            continue;
        for (unsigned k = 0; k < c->nwatches; k++)
            if (!strcmp(c->watches[k].abs, name))
                send_event(c, name, c->watches[k].token);
    }
}

static int op_watch(struct sxs_conn *c, bool add, const char *pl, uint32_t len, char *out,
                    uint32_t *outlen)
{
    const char *v[2];
    char abs[XENSTORE_ABS_PATH_MAX + 1];
    int rc = args(pl, len, v, 2);
    if (rc == 0)
        rc = sxs_canon(c->domid, v[0], abs, true);
    if (rc < 0)
        return rc;
    unsigned i = 0;
    while (i < c->nwatches &&
           (strcmp(c->watches[i].abs, abs) || strcmp(c->watches[i].token, v[1])))
        i++;
    if (!add) {
        if (i == c->nwatches)
            return -ENOENT;
        struct sxs_watch *w = &c->watches[i];
        free(w->path);
        free(w->abs);
        free(w->token);
        memmove(w, w + 1, (c->nwatches - i - 1) * sizeof(*w));
        c->nwatches--;
        return sxs_reply_str(out, outlen, "OK");
    }
    if (i < c->nwatches)
        return -EEXIST;
    if (c->nwatches == SXS_MAX_WATCHES)
        return -E2BIG; /* xenstored's answer to a full watch quota */
    struct sxs_watch *w = &c->watches[c->nwatches];
    w->path = strdup(v[0]);
    w->abs = strdup(abs);
    w->token = strdup(v[1]);
    if (!w->path || !w->abs || !w->token) {
        free(w->path);
        free(w->abs);
        free(w->token);
        return -ENOMEM;
    }
    c->nwatches++;
    /* Fired once up front so a client needs no separate initial read. */
    send_event(c, v[0], v[1]);
    return sxs_reply_str(out, outlen, "OK");
}

void sxs_watches_free(struct sxs_conn *c)
{
    for (unsigned i = 0; i < c->nwatches; i++) {
        free(c->watches[i].path);
        free(c->watches[i].abs);
        free(c->watches[i].token);
    }
    c->nwatches = 0;
}

struct lookup {
    char abs[XENSTORE_ABS_PATH_MAX + 1];
    struct sxs_node *node; /* NULL if it does not exist */
    struct sxs_node *anc;  /* the node, or its deepest existing ancestor */
    const char *rest;      /* missing components below anc */
};

static int resolve(const struct sxs_tree *tree, const struct sxs_conn *c, const char *path,
                   struct lookup *l)
{
    int rc = sxs_canon(c->domid, path, l->abs, false);
    if (rc < 0)
        return rc;
    l->anc = sxs_walk(tree, l->abs, &l->rest);
    l->node = l->rest ? NULL : l->anc;
    return 0;
}

/* The tree a request works on: the store's, or its transaction's copy. */
static struct sxs_tree *tree_of(struct sxs_server *s, struct sxs_txn *t)
{
    return t ? &t->tree : &s->tree;
}

/* Before changing abs: a transaction notes it (>= 0, see sxs_txn_note). */
static int before_change(struct sxs_txn *t, const char *abs, bool recurse)
{
    return t ? sxs_txn_note(t, abs, recurse) : 0;
}

/* After: the store's watchers hear now, and every open transaction is stale. */
static void after_change(struct sxs_server *s, struct sxs_txn *t, const char *abs,
                         const struct sxs_perms *perms, const struct sxs_perms *perms2,
                         bool recurse)
{
    if (t)
        return; /* its watchers hear at commit, if it commits */
    s->gen++;
    sxs_fire(s, abs, perms, perms2, recurse);
}

static int need(const struct sxs_conn *c, const struct lookup *l, unsigned want)
{
    /* A missing node's absence is only told to who may read where it would be. */
    if (!l->node)
        return (sxs_perm_for(c->domid, &l->anc->perms) & XS_PERM_READ) ? -ENOENT : -EACCES;
    return (sxs_perm_for(c->domid, &l->node->perms) & want) == want ? 0 : -EACCES;
}

static int op_read(const struct sxs_tree *tree, struct sxs_conn *c, uint32_t type,
                   const char *pl, uint32_t len, char *out, uint32_t *outlen)
{
    const char *path;
    struct lookup l;
    int rc = args(pl, len, &path, 1);
    if (rc == 0)
        rc = resolve(tree, c, path, &l);
    if (rc == 0)
        rc = need(c, &l, XS_PERM_READ);
    if (rc < 0)
        return rc;
    const struct sxs_node *n = l.node;
    if (type == XS_READ) {
        if (n->vlen)
            memcpy(out, n->value, n->vlen);
        *outlen = n->vlen;
    } else if (type == XS_GET_PERMS) {
        *outlen = (uint32_t)sxs_perms_format(&n->perms, out, XENSTORE_PAYLOAD_MAX);
    } else {
        /* No XS_DIRECTORY_PART: a listing must fit one reply. */
        size_t off = 0;
        for (unsigned i = 0; i < n->nkids; i++) {
            size_t k = strlen(n->kids[i]->name) + 1;
            if (off + k > XENSTORE_PAYLOAD_MAX)
                return -E2BIG;
            memcpy(out + off, n->kids[i]->name, k);
            off += k;
        }
        *outlen = (uint32_t)off;
    }
    return 0;
}

static int op_write(struct sxs_server *s, struct sxs_conn *c, struct sxs_txn *t, bool mkdir,
                    const char *pl, uint32_t len, char *out, uint32_t *outlen)
{
    size_t plen = strnlen(pl, len);
    if (plen == len || (mkdir && plen + 1 != len))
        return -EINVAL;
    struct lookup l;
    int rc = resolve(tree_of(s, t), c, pl, &l);
    if (rc < 0)
        return rc;
    if (l.node && mkdir) { /* already there: fine, if the caller could have made it */
        rc = need(c, &l, XS_PERM_WRITE);
        return rc < 0 ? rc : sxs_reply_str(out, outlen, "OK");
    }

    /* Take the value's memory first so that a failure leaves no new node. */
    unsigned vlen = (unsigned)(len - plen - 1);
    char *v = malloc(vlen ? vlen : 1);
    if (!v)
        return -ENOMEM;
    memcpy(v, pl + plen + 1, vlen);
    if (l.node)
        rc = need(c, &l, XS_PERM_WRITE);
    else if (!(sxs_perm_for(c->domid, &l.anc->perms) & XS_PERM_WRITE))
        rc = -EACCES;
    int noted = rc < 0 ? 0 : before_change(t, l.abs, false);
    if (noted < 0)
        rc = noted;
    if (rc == 0 && !l.node)
        rc = sxs_create(tree_of(s, t), c->domid, l.anc, l.rest, &l.node);
    if (rc < 0) {
        if (noted > 0)
            sxs_txn_unnote(t); /* nothing changed after all */
        free(v);
        return rc;
    }
    if (mkdir) {
        free(v);
    } else {
        free(l.node->value);
        l.node->value = v;
        l.node->vlen = vlen;
    }
    after_change(s, t, l.abs, &l.node->perms, NULL, false);
    return sxs_reply_str(out, outlen, "OK");
}

static int op_rm(struct sxs_server *s, struct sxs_conn *c, struct sxs_txn *t, const char *pl,
                 uint32_t len, char *out, uint32_t *outlen)
{
    const char *path;
    struct lookup l;
    int rc = args(pl, len, &path, 1);
    if (rc == 0)
        rc = resolve(tree_of(s, t), c, path, &l);
    if (rc < 0)
        return rc;
    if (!strcmp(l.abs, "/"))
        return -EINVAL;
    rc = need(c, &l, XS_PERM_WRITE);
    /* Removing what is not there succeeds if its parent is, as in xenstored. */
    if (rc == -ENOENT && !strchr(l.rest, '/'))
        return sxs_reply_str(out, outlen, "OK");
    if (rc == 0)
        rc = before_change(t, l.abs, true);
    if (rc < 0)
        return rc;
    struct sxs_perms perms = l.node->perms;
    sxs_delete(tree_of(s, t), l.node);
    after_change(s, t, l.abs, &perms, NULL, true);
    return sxs_reply_str(out, outlen, "OK");
}

static int op_set_perms(struct sxs_server *s, struct sxs_conn *c, struct sxs_txn *t,
                        const char *pl, uint32_t len, char *out, uint32_t *outlen)
{
    size_t plen = strnlen(pl, len);
    if (plen == len)
        return -EINVAL;
    struct sxs_perms np;
    struct lookup l;
    int rc = sxs_perms_parse(pl + plen + 1, len - plen - 1, &np);
    if (rc == 0)
        rc = resolve(tree_of(s, t), c, pl, &l);
    if (rc == 0)
        rc = need(c, &l, XS_PERM_OWNER);
    /* A guest may open or close its node, but not give it away. */
    if (rc == 0 && c->domid != 0 && np.p[0].id != l.node->perms.p[0].id)
        rc = -EPERM;
    if (rc == 0)
        rc = before_change(t, l.abs, false);
    if (rc < 0)
        return rc;
    struct sxs_perms old = l.node->perms;
    l.node->perms = np;
    /* Who could see the node before or after may learn of the change. */
    after_change(s, t, l.abs, &old, &np, false);
    return sxs_reply_str(out, outlen, "OK");
}

static bool is_introduced(const struct sxs_server *s, unsigned domid)
{
    return domid == 0 || (s->introduced[domid / 8] & (1u << (domid % 8)));
}

static int op_domain(struct sxs_server *s, struct sxs_conn *c, uint32_t type, const char *pl,
                     uint32_t len, char *out, uint32_t *outlen)
{
    const char *v[3];
    unsigned domid;
    bool intro = type == XS_INTRODUCE;
    int rc = args(pl, len, v, intro ? 3 : 1);
    if (rc == 0)
        rc = sxs_parse_domid(v[0], &domid);
    if (rc < 0)
        return rc;
    if (type == XS_GET_DOMAIN_PATH) {
        *outlen = (uint32_t)snprintf(out, XENSTORE_PAYLOAD_MAX, "/local/domain/%u", domid) + 1;
        return 0;
    }
    /* As xenstored: only the privileged domain may ask, or introduce and release. */
    if (c->domid != 0)
        return -EACCES;
    if (type == XS_IS_DOMAIN_INTRODUCED)
        return sxs_reply_str(out, outlen, is_introduced(s, domid) ? "T" : "F");
    uint8_t *byte = &s->introduced[domid / 8], bit = (uint8_t)(1u << (domid % 8));
    if (intro) {
        /* The ring page and port mean nothing here, but must be numbers. */
        for (unsigned i = 1; i < 3; i++)
            if (!*v[i] || strspn(v[i], "0123456789") != strlen(v[i]))
                return -EINVAL;
        if (!is_introduced(s, domid)) { /* a repeat only rebinds the ring in Xen */
            *byte |= bit;
            fire_special(s, "@introduceDomain");
        }
    } else {
        if (domid == 0)
            return -EINVAL;
        if (!is_introduced(s, domid))
            return -ENOENT;
        *byte &= (uint8_t)~bit;
        fire_special(s, "@releaseDomain");
    }
    return sxs_reply_str(out, outlen, "OK");
}

int sxs_request(struct sxs_server *s, struct sxs_conn *c, uint32_t type, uint32_t tx_id,
                const char *pl, uint32_t len, char *out, uint32_t *outlen)
{
    *outlen = 0;
    /*
     * As in xenstored: watches ignore the id; any other request names one of
     * this connection's open transactions, or none.  The domain requests
     * below act on no tree, so they run the same either way.
     */
    struct sxs_txn *t = NULL;
    if (tx_id && type != XS_WATCH && type != XS_UNWATCH && !(t = sxs_txn_find(c, tx_id)))
        return -ENOENT;
    switch (type) {
    case XS_READ:
    case XS_DIRECTORY:
    case XS_GET_PERMS:
        return op_read(tree_of(s, t), c, type, pl, len, out, outlen);
    case XS_WRITE:
    case XS_MKDIR:
        return op_write(s, c, t, type == XS_MKDIR, pl, len, out, outlen);
    case XS_RM:
        return op_rm(s, c, t, pl, len, out, outlen);
    case XS_SET_PERMS:
        return op_set_perms(s, c, t, pl, len, out, outlen);
    case XS_TRANSACTION_START:
        /* No nesting: xenstored says EBUSY to a start inside a transaction. */
        return t ? -EBUSY : sxs_txn_start(s, c, out, outlen);
    case XS_TRANSACTION_END:
        return t ? sxs_txn_end(s, c, t, pl, len, out, outlen) : -ENOENT;
    case XS_WATCH:
    case XS_UNWATCH:
        return op_watch(c, type == XS_WATCH, pl, len, out, outlen);
    case XS_INTRODUCE:
    case XS_RELEASE:
    case XS_IS_DOMAIN_INTRODUCED:
    case XS_GET_DOMAIN_PATH:
        return op_domain(s, c, type, pl, len, out, outlen);
    case XS_CONTROL:
    case XS_RESUME:
    case XS_SET_TARGET:
    case XS_RESET_WATCHES:
    case XS_DIRECTORY_PART:
        return -ENOSYS;
    default:
        return -EINVAL;
    }
}
