/* SPDX-License-Identifier: MIT */
/* The simulated xenstored's pieces: tree (simxs_tree.c), requests and watches
 * (simxs_ops.c), transactions (simxs_txn.c), process and connections (simxs.c). */
#ifndef XENSIM_SIMXS_INTERNAL_H
#define XENSIM_SIMXS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xenstore_lib.h>
#include <xen/xen.h>

/* Bounds so that no client can grow the server without limit. */
#define SXS_MAX_NODES 4096   /* whole tree */
#define SXS_DOMU_NODES 1000  /* owned by one unprivileged domain (Xen's default quota) */
#define SXS_MAX_PERMS 16     /* entries in one node's permission list */
#define SXS_MAX_CONNS 64     /* sockets; a handle uses two */
#define SXS_MAX_WATCHES 128  /* per handle */
#define SXS_EVQ_MAX 256      /* events held for a handle whose socket is full */
#define SXS_MAX_TXNS 10      /* open per connection: xenstored's default quota */
#define SXS_TXN_CHANGES 1024 /* paths one transaction changes: its transaction-nodes quota */

#define SXS_PERM_RW (XS_PERM_READ | XS_PERM_WRITE)

struct sxs_perms {
    unsigned n;
    struct xs_permissions p[SXS_MAX_PERMS]; /* p[0]: owner, and everyone not listed */
};

struct sxs_node {
    char *name; /* last path component; "" for the root */
    struct sxs_node *parent;
    struct sxs_node **kids; /* in creation order, as xenstored lists them */
    unsigned nkids, capkids;
    char *value;
    unsigned vlen;
    struct sxs_perms perms;
};

/* The store, or a transaction's private copy of it. */
struct sxs_tree {
    struct sxs_node *root;
    unsigned nnodes;
};

/* A path a transaction changed: its watchers are told at commit. */
struct sxs_change {
    char *path;
    bool recurse; /* removed: watches below it fire too */
};

struct sxs_txn {
    uint32_t id;
    uint64_t gen;         /* the store's generation when the copy was taken */
    struct sxs_tree tree; /* the transaction's view: a copy, changed in place */
    struct sxs_change *changes; /* in the order first changed */
    unsigned nchanges, capchanges;
};

struct sxs_watch {
    char *path;  /* as the client gave it: relative, absolute or @special */
    char *abs;   /* resolved */
    char *token;
};

enum sxs_kind { SXS_NEW, SXS_REQ, SXS_EVT };

struct sxs_conn {
    int fd; /* -1: free slot */
    enum sxs_kind kind;
    bool dead; /* reaped by the main loop, never freed under a caller */
    uint16_t domid;
    uint32_t id;
    uint64_t cookie;        /* proves the event socket belongs to this handle */
    struct sxs_conn *peer;  /* REQ <-> EVT */
    void *reply;            /* unsent reply: no request is read until it leaves */
    size_t reply_len;
    struct sxs_watch watches[SXS_MAX_WATCHES]; /* REQ only */
    unsigned nwatches;
    struct sxs_txn *txns[SXS_MAX_TXNS]; /* REQ only: open transactions */
    unsigned ntxns;
    uint32_t last_txid;
    void *evq[SXS_EVQ_MAX]; /* EVT only: ring of encoded packets */
    size_t evlen[SXS_EVQ_MAX];
    unsigned evhead, evcount;
    unsigned long evdropped;
};

struct sxs_server {
    int lfd;
    struct sxs_tree tree;
    uint64_t gen; /* counts changes to the store: a transaction is stale if it moved */
    struct sxs_conn conns[SXS_MAX_CONNS];
    uint32_t next_id;
    uint8_t introduced[DOMID_FIRST_RESERVED / 8];
};

/* simxs_tree.c */
int sxs_tree_init(struct sxs_tree *t);
void sxs_tree_free(struct sxs_tree *t);
/* A deep copy of from, or -ENOMEM (and nothing to free). */
int sxs_tree_copy(const struct sxs_tree *from, struct sxs_tree *to);
/*
 * Resolve a client's path: relative ones go under /local/domain/<domid>.
 * out has room for XENSTORE_ABS_PATH_MAX + 1.  @names only if allow_special.
 */
int sxs_canon(uint16_t domid, const char *in, char *out, bool allow_special);
/* Deepest existing node on abs; *rest: first missing component, or NULL. */
struct sxs_node *sxs_walk(const struct sxs_tree *t, const char *abs, const char **rest);
/* The node at abs, or NULL. */
const struct sxs_node *sxs_find(const struct sxs_tree *t, const char *abs);
/* XS_PERM_READ/WRITE/OWNER that domid has on a node with these permissions. */
unsigned sxs_perm_for(uint16_t domid, const struct sxs_perms *p);
/* Create rest's components below anc, as domid; *out is the last one. */
int sxs_create(struct sxs_tree *t, uint16_t domid, struct sxs_node *anc, const char *rest,
               struct sxs_node **out);
void sxs_delete(struct sxs_tree *t, struct sxs_node *n);
/* Wire form: NUL-terminated strings "<n|r|w|b><domid>". */
int sxs_perms_parse(const char *buf, size_t len, struct sxs_perms *out);
size_t sxs_perms_format(const struct sxs_perms *p, char *buf, size_t cap);
int sxs_parse_domid(const char *s, unsigned *domid);

/* simxs_ops.c */
/* Split a payload of NUL-terminated strings: their count (<= max), or -EINVAL. */
int sxs_split(const char *pl, uint32_t len, const char **v, unsigned max);
int sxs_reply_str(char *out, uint32_t *outlen, const char *s);
/* One request, in transaction tx_id (0: none): 0 with a reply in out[0..*outlen), or -errno. */
int sxs_request(struct sxs_server *s, struct sxs_conn *c, uint32_t type, uint32_t tx_id,
                const char *pl, uint32_t len, char *out, uint32_t *outlen);
void sxs_watches_free(struct sxs_conn *c);
/*
 * Tell the watchers of abs that it changed, if they could read it as perms
 * or perms2 say (before and after; NULL: no node then, or no second list).
 * recurse: it was removed, so watches below it fire too.
 */
void sxs_fire(struct sxs_server *s, const char *abs, const struct sxs_perms *perms,
              const struct sxs_perms *perms2, bool recurse);

/* simxs_txn.c */
/* c's open transaction id, or NULL. */
struct sxs_txn *sxs_txn_find(struct sxs_conn *c, uint32_t id);
int sxs_txn_start(struct sxs_server *s, struct sxs_conn *c, char *out, uint32_t *outlen);
/* Commit ("T") or abort ("F"): t ends either way, as in xenstored. */
int sxs_txn_end(struct sxs_server *s, struct sxs_conn *c, struct sxs_txn *t, const char *pl,
                uint32_t len, char *out, uint32_t *outlen);
/*
 * Before t changes abs: remember it for commit.  1 if abs was added to t's
 * list (sxs_txn_unnote takes it back if the change then fails), 0 if it was
 * there already, or -errno with t unchanged.
 */
int sxs_txn_note(struct sxs_txn *t, const char *abs, bool recurse);
void sxs_txn_unnote(struct sxs_txn *t);
void sxs_txns_free(struct sxs_conn *c);

/* simxs.c: a message (header + a + b) to send, or to queue if the socket is full. */
void sxs_emit(struct sxs_conn *c, uint32_t type, uint32_t req_id, const void *a, size_t alen,
              const void *b, size_t blen);

#endif
