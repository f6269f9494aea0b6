/* SPDX-License-Identifier: MIT */
/* The simulated xenstored's pieces: tree (simxs_tree.c), requests and watches
 * (simxs_ops.c), process and connections (simxs.c). */
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
    void *evq[SXS_EVQ_MAX]; /* EVT only: ring of encoded packets */
    size_t evlen[SXS_EVQ_MAX];
    unsigned evhead, evcount;
    unsigned long evdropped;
};

struct sxs_server {
    int lfd;
    struct sxs_node *root;
    unsigned nnodes;
    struct sxs_conn conns[SXS_MAX_CONNS];
    uint32_t next_id;
    uint8_t introduced[DOMID_FIRST_RESERVED / 8];
};

/* simxs_tree.c */
int sxs_tree_init(struct sxs_server *s);
void sxs_tree_free(struct sxs_server *s);
/*
 * Resolve a client's path: relative ones go under /local/domain/<domid>.
 * out has room for XENSTORE_ABS_PATH_MAX + 1.  @names only if allow_special.
 */
int sxs_canon(uint16_t domid, const char *in, char *out, bool allow_special);
/* Deepest existing node on abs; *rest: first missing component, or NULL. */
struct sxs_node *sxs_walk(struct sxs_server *s, const char *abs, const char **rest);
/* XS_PERM_READ/WRITE/OWNER that domid has on a node with these permissions. */
unsigned sxs_perm_for(uint16_t domid, const struct sxs_perms *p);
/* Create rest's components below anc, as domid; *out is the last one. */
int sxs_create(struct sxs_server *s, uint16_t domid, struct sxs_node *anc, const char *rest,
               struct sxs_node **out);
void sxs_delete(struct sxs_server *s, struct sxs_node *n);
/* Wire form: NUL-terminated strings "<n|r|w|b><domid>". */
int sxs_perms_parse(const char *buf, size_t len, struct sxs_perms *out);
size_t sxs_perms_format(const struct sxs_perms *p, char *buf, size_t cap);
int sxs_parse_domid(const char *s, unsigned *domid);

/* simxs_ops.c */
/* Split a payload of NUL-terminated strings: their count (<= max), or -EINVAL. */
int sxs_split(const char *pl, uint32_t len, const char **v, unsigned max);
/* One request: 0 with a reply in out[0..*outlen), or -errno. */
int sxs_request(struct sxs_server *s, struct sxs_conn *c, uint32_t type, const char *pl,
                uint32_t len, char *out, uint32_t *outlen);
void sxs_watches_free(struct sxs_conn *c);

/* simxs.c: a message (header + a + b) to send, or to queue if the socket is full. */
void sxs_emit(struct sxs_conn *c, uint32_t type, uint32_t req_id, const void *a, size_t alen,
              const void *b, size_t blen);

#endif
