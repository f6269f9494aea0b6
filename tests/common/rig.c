/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "rig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sim_env group_env;

int rig_group_setup(void **state)
{
    (void)state;
    return sim_env_init(&group_env);
}

int rig_group_teardown(void **state)
{
    (void)state;
    sim_env_fini(&group_env);
    return 0;
}

void rig_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 31u + seed * 7u + (i >> 9)) ^ seed);
}

static int probe(struct rig *r, enum vdrv_dma dma, uint32_t pool_pages)
{
    struct vdrv_opts o = { .base = RIG_BASE, .irq = RIG_IRQ, .dma = dma, .queue_size = 64,
                           .indirect = true, .event_idx = true, .pool_pages = pool_pages };
    if (r->pci_slot) {
        o.base = RIG_PCI_BAR;
        o.pci_slot = r->pci_slot;
        o.msix = r->irq_mode != RIG_INTX;
        o.msix_pirq = r->irq_mode == RIG_MSIX_PIRQ;
    }
    int rc = vdrv_probe(&r->v, r->d, &o);
    r->probed = rc == 0;
    return rc;
}

int rig_default_probe(struct rig *r, enum vdrv_dma dma)
{
    return probe(r, dma, 0);
}

int rig_pool_probe(struct rig *r, uint32_t pool_pages)
{
    return probe(r, VDRV_DMA_GRANT, pool_pages);
}

int rig_up(struct rig *r, const char *const extra[], enum vdrv_dma dma, bool probe)
{
    return rig_up_dom(r, RIG_DOMID, extra, dma, probe);
}

/* The backend of a test that failed before rig_down, per domain: stopped by the next rig_up. */
static pid_t stale[8];

static int spawn(struct rig *r, uint16_t domid, const char *const extra[], enum vdrv_dma dma,
                 bool probe);

int rig_up_dom(struct rig *r, uint16_t domid, const char *const extra[], enum vdrv_dma dma,
               bool probe)
{
    memset(r, 0, sizeof(*r));
    return spawn(r, domid, extra, dma, probe);
}

int rig_up_pci(struct rig *r, uint8_t slot, enum rig_irq irq, const char *const extra[],
               enum vdrv_dma dma, bool probe)
{
    memset(r, 0, sizeof(*r));
    r->pci_slot = slot;
    r->irq_mode = irq;
    return spawn(r, RIG_DOMID, extra, dma, probe);
}

static int spawn(struct rig *r, uint16_t domid, const char *const extra[], enum vdrv_dma dma,
                 bool probe)
{
    if (stale[domid % 8] > 0 && sim_alive(stale[domid % 8]))
        sim_stop(stale[domid % 8]);
    const char *be = getenv("VG_BACKEND");
    const char *dir = getenv("XENSIM_DIR");
    if (!be || !dir)
        return -EINVAL;
    struct simdom_params p = { .domid = domid, .nr_vcpus = 2,
                               .ram_size = (uint64_t)RIG_RAM_MB << 20, .nr_grants = 8192 };
    r->d = simdom_create(&p);
    if (!r->d)
        return -errno;
    /* Per domain, so two rigs can run side by side. */
    /* VG_RIG_IMG_DIR: the image on another filesystem (a test of its fallbacks). */
    const char *imgdir = getenv("VG_RIG_IMG_DIR");
    snprintf(r->img, sizeof(r->img), "%s/disk%u.img", imgdir && *imgdir ? imgdir : dir,
             (unsigned)domid);
    snprintf(r->log, sizeof(r->log), "%s/backend%u.log", dir, (unsigned)domid);
    int fd = open(r->img, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)RIG_IMG_MB << 20) < 0)
        return -errno;
    close(fd);
    unlink(r->log);
    char ram[16];
    snprintf(ram, sizeof(ram), "%uM", RIG_RAM_MB);
    char domid_arg[8];
    snprintf(domid_arg, sizeof(domid_arg), "%u", (unsigned)domid);
    const char *argv[32] = { be, "blk", "--domid", domid_arg, "--image", r->img, "-v" };
    int n = 7;
    if (dma == VDRV_DMA_PHYS) {
        argv[n++] = "--mode";
        argv[n++] = "foreign";
        argv[n++] = "--ram-size";
        argv[n++] = ram;
    }
    /* The sanitizer build runs the backend with --sandbox=off: LeakSanitizer's
     * exit-time scan needs /proc, ptrace and clone, all of which the sandbox removes. */
    static char sandbox_arg[32];
    const char *sb = getenv("VG_TEST_SANDBOX");
    if (sb && *sb) {
        snprintf(sandbox_arg, sizeof(sandbox_arg), "--sandbox=%s", sb);
        argv[n++] = sandbox_arg;
    }
    char slot_arg[8];
    if (r->pci_slot) {
        snprintf(slot_arg, sizeof(slot_arg), "%u", (unsigned)r->pci_slot);
        argv[n++] = "--transport";
        argv[n++] = "pci";
        argv[n++] = "--pci-slot";
        argv[n++] = slot_arg;
    }
    for (int i = 0; extra && extra[i] && n < 30; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    r->pid = sim_spawn((char *const *)argv, r->log);
    stale[domid % 8] = r->pid;
    int rc = r->pci_slot ? simdom_wait_backend_pci(r->d, (uint32_t)r->pci_slot << 3, 5000)
                         : simdom_wait_backend(r->d, RIG_BASE, 5000);
    if (rc == 0 && probe)
        rc = rig_default_probe(r, dma);
    return rc;
}

int rig_down(struct rig *r)
{
    if (r->probed)
        vdrv_remove(&r->v);
    int alive = sim_alive(r->pid);
    int st = sim_stop(r->pid);
    uint32_t left = simdom_grants_mapped_now(r->d);
    simdom_destroy(r->d);
    unlink(r->img);
    if (!alive || st != 0 || left) {
        fprintf(stderr, "rig: backend alive=%d exit=0x%x grants left mapped=%u; log follows\n",
                alive, st, left);
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "tail -n 30 %s >&2", r->log);
        if (system(cmd) < 0)
            perror("system");
        return -1;
    }
    return 0;
}
