/* SPDX-License-Identifier: MIT */
/* The simulated xenstored's tree: paths, nodes and permission lists. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simxs_internal.h"

static bool valid_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '/' || ch == '_' || ch == '@';
}

int sxs_canon(uint16_t domid, const char *in, char *out, bool allow_special)
{
    size_t len = strlen(in);
    if (in[0] == '@') {
        if (!allow_special)
            return -EINVAL;
    } else if (in[0] != '/') {
        /* The relative limit is the smaller one: a guest's own subtree. */
        if (len == 0 || len > XENSTORE_REL_PATH_MAX)
            return -EINVAL;
        int n = snprintf(out, XENSTORE_ABS_PATH_MAX + 1, "/local/domain/%u/%s", domid, in);
        if (n < 0 || n > XENSTORE_ABS_PATH_MAX)
            return -EINVAL;
        in = out;
        len = (size_t)n;
    }
    if (len > XENSTORE_ABS_PATH_MAX)
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (!valid_char(in[i]) || (in[i] == '/' && in[i + 1] == '/'))
            return -EINVAL;
    if (len > 1 && in[len - 1] == '/')
        return -EINVAL;
    if (in != out)
        memcpy(out, in, len + 1);
    return 0;
}

static struct sxs_node *new_node(const char *name, size_t len, const struct sxs_perms *perms)
{
    struct sxs_node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->name = strndup(name, len);
    if (!n->name) {
        free(n);
        return NULL;
    }
    n->perms = *perms;
    return n;
}

/* count: the tree's tally, or NULL for nodes never counted in one. */
static void free_subtree(struct sxs_node *n, unsigned *count)
{
    for (unsigned i = 0; i < n->nkids; i++)
        free_subtree(n->kids[i], count);
    free(n->kids);
    free(n->value);
    free(n->name);
    free(n);
    if (count)
        (*count)--;
}

static int add_kid(struct sxs_node *parent, struct sxs_node *kid)
{
    if (parent->nkids == parent->capkids) {
        unsigned cap = parent->capkids ? 2 * parent->capkids : 4;
        struct sxs_node **k = realloc(parent->kids, cap * sizeof(*k));
        if (!k)
            return -ENOMEM;
        parent->kids = k;
        parent->capkids = cap;
    }
    parent->kids[parent->nkids++] = kid;
    kid->parent = parent;
    return 0;
}

int sxs_tree_init(struct sxs_tree *t)
{
    /* The tree a fresh xenstored has: dom0's, closed to everyone else. */
    const struct sxs_perms dom0_only = { .n = 1, .p = { { .id = 0, .perms = XS_PERM_NONE } } };
    t->root = new_node("", 0, &dom0_only);
    if (!t->root)
        return -ENOMEM;
    t->nnodes = 1;
    struct sxs_node *n;
    return sxs_create(t, 0, t->root, "local/domain/0", &n);
}

void sxs_tree_free(struct sxs_tree *t)
{
    if (t->root)
        free_subtree(t->root, &t->nnodes);
    t->root = NULL;
}

/* n's copy, with its subtree, or NULL with nothing left allocated. */
static struct sxs_node *copy_subtree(const struct sxs_node *n)
{
    struct sxs_node *c = new_node(n->name, strlen(n->name), &n->perms);
    if (!c)
        return NULL;
    /* A node never written has no value buffer; its copy has none either. */
    c->value = n->value ? malloc(n->vlen ? n->vlen : 1) : NULL;
    c->kids = n->nkids ? malloc(n->nkids * sizeof(c->kids[0])) : NULL;
    if ((n->value && !c->value) || (n->nkids && !c->kids)) {
        free_subtree(c, NULL);
        return NULL;
    }
    if (n->vlen)
        memcpy(c->value, n->value, n->vlen);
    c->vlen = n->vlen;
    c->capkids = n->nkids;
    for (unsigned i = 0; i < n->nkids; i++) {
        struct sxs_node *k = copy_subtree(n->kids[i]);
        if (!k) {
            free_subtree(c, NULL);
            return NULL;
        }
        k->parent = c;
        c->kids[c->nkids++] = k;
    }
    return c;
}

int sxs_tree_copy(const struct sxs_tree *from, struct sxs_tree *to)
{
    to->root = copy_subtree(from->root);
    to->nnodes = to->root ? from->nnodes : 0;
    return to->root ? 0 : -ENOMEM;
}

static struct sxs_node *kid_named(const struct sxs_node *n, const char *name, size_t len)
{
    for (unsigned i = 0; i < n->nkids; i++)
        if (strlen(n->kids[i]->name) == len && !memcmp(n->kids[i]->name, name, len))
            return n->kids[i];
    return NULL;
}

struct sxs_node *sxs_walk(const struct sxs_tree *t, const char *abs, const char **rest)
{
    struct sxs_node *n = t->root;
    const char *p = abs + 1; /* canonical: starts with '/', no "//", no trailing '/' */
    while (*p) {
        size_t len = strcspn(p, "/");
        struct sxs_node *k = kid_named(n, p, len);
        if (!k) {
            *rest = p;
            return n;
        }
        n = k;
        p += len;
        if (*p == '/')
            p++;
    }
    *rest = NULL;
    return n;
}

const struct sxs_node *sxs_find(const struct sxs_tree *t, const char *abs)
{
    const char *rest;
    const struct sxs_node *n = sxs_walk(t, abs, &rest);
    return rest ? NULL : n;
}

unsigned sxs_perm_for(uint16_t domid, const struct sxs_perms *p)
{
    if (domid == 0 || domid == p->p[0].id)
        return SXS_PERM_RW | XS_PERM_OWNER;
    for (unsigned i = 1; i < p->n; i++)
        if (p->p[i].id == domid)
            return p->p[i].perms & SXS_PERM_RW;
    return p->p[0].perms & SXS_PERM_RW;
}

static unsigned count_owned(const struct sxs_node *n, uint16_t domid)
{
    unsigned c = n->perms.p[0].id == domid;
    for (unsigned i = 0; i < n->nkids; i++)
        c += count_owned(n->kids[i], domid);
    return c;
}

int sxs_create(struct sxs_tree *t, uint16_t domid, struct sxs_node *anc, const char *rest,
               struct sxs_node **out)
{
    unsigned k = 1;
    for (const char *p = rest; *p; p++)
        k += *p == '/';
    if (t->nnodes + k > SXS_MAX_NODES)
        return -ENOSPC;
    /* A walk per creation is cheap at these sizes and never goes stale. */
    if (domid != 0 && count_owned(t->root, domid) + k > SXS_DOMU_NODES)
        return -ENOSPC;

    /* New nodes inherit the ancestor's list, but a guest owns what it creates. */
    struct sxs_perms perms = anc->perms;
    if (domid != 0)
        perms.p[0].id = domid;
    struct sxs_node *n = anc;
    while (*rest) {
        size_t len = strcspn(rest, "/");
        struct sxs_node *kid = new_node(rest, len, &perms);
        if (!kid || add_kid(n, kid) < 0) {
            if (kid)
                free_subtree(kid, NULL);
            /* Leave no half-made chain behind: the request failed as a whole. */
            if (n != anc)
                sxs_delete(t, anc->kids[anc->nkids - 1]);
            return -ENOMEM;
        }
        t->nnodes++;
        n = kid;
        rest += len;
        if (*rest == '/')
            rest++;
    }
    *out = n;
    return 0;
}

void sxs_delete(struct sxs_tree *t, struct sxs_node *n)
{
    struct sxs_node *parent = n->parent;
    if (parent) {
        unsigned i = 0;
        while (parent->kids[i] != n)
            i++;
        memmove(&parent->kids[i], &parent->kids[i + 1],
                (parent->nkids - i - 1) * sizeof(parent->kids[0]));
        parent->nkids--;
    } else {
        t->root = NULL;
    }
    free_subtree(n, &t->nnodes);
}

int sxs_parse_domid(const char *s, unsigned *domid)
{
    unsigned long v = 0;
    size_t len = strlen(s);
    if (len == 0 || len > 5)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v >= DOMID_FIRST_RESERVED)
        return -EINVAL;
    *domid = (unsigned)v;
    return 0;
}

int sxs_perms_parse(const char *buf, size_t len, struct sxs_perms *out)
{
    static const char letters[] = "nrwb"; /* index == XS_PERM_* bits */
    out->n = 0;
    for (size_t off = 0; off < len;) {
        const char *str = buf + off;
        size_t slen = strnlen(str, len - off);
        if (slen == len - off)
            return -EINVAL; /* unterminated */
        if (out->n == SXS_MAX_PERMS)
            return -ENOSPC;
        const char *l = slen ? strchr(letters, str[0]) : NULL;
        unsigned id;
        if (!l || sxs_parse_domid(str + 1, &id) < 0)
            return -EINVAL;
        out->p[out->n].id = id;
        out->p[out->n].perms = (unsigned)(l - letters);
        out->n++;
        off += slen + 1;
    }
    return out->n ? 0 : -EINVAL;
}

size_t sxs_perms_format(const struct sxs_perms *p, char *buf, size_t cap)
{
    static const char letters[] = "nrwb";
    size_t off = 0;
    for (unsigned i = 0; i < p->n; i++) {
        /* At most 16 entries of 7 bytes: always fits a payload. */
        int n = snprintf(buf + off, cap - off, "%c%u", letters[p->p[i].perms & SXS_PERM_RW],
                         p->p[i].id);
        off += (size_t)n + 1;
    }
    return off;
}
