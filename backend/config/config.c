/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/checked.h"

void vg_config_usage(FILE *f)
{
    fprintf(f,
            "usage: virtio-grant blk --domid N --image PATH [options]\n"
            "       virtio-grant watch [--images DIR] [options]\n"
            "       virtio-grant sandbox-rules grant|grant-copy|foreign|foreign-premap "
            "[io_uring|sync]\n"
            "\n"
            "Serve one virtio block device to Xen guest N through an ioreq server, as\n"
            "virtio-mmio (the default) or as a virtio-pci function (x86 HVM guests).\n"
            "'watch' serves every disk the toolstack creates with backendtype=standalone,\n"
            "specification=virtio: it validates each device's xenstore directory, opens\n"
            "the image and starts one jailed 'blk' process per device with the options\n"
            "that follow ('virtio-grant watch --help').  'sandbox-rules' prints the\n"
            "device process's seccomp allowlist for a mode, with the reason for each rule.\n"
            "\n"
            "  --domid N          guest domain id (required)\n"
            "  --image PATH       raw image file or block device, an absolute path (required)\n"
            "  --transport mmio|pci\n"
            "                     mmio (default): a virtio-mmio window and an Arm SPI;\n"
            "                     pci: a virtio-pci function whose configuration space\n"
            "                     this process claims, with one memory BAR the guest\n"
            "                     places and MSI-X or INTx (started by hand: the\n"
            "                     toolstack describes virtio-mmio disks only)\n"
            "  --pci-slot N       pci: the slot on bus 0, 3..31, that the device model\n"
            "                     leaves free (required with --transport pci)\n"
            "  --base ADDR        mmio: window base (default 0x2000000)\n"
            "  --size BYTES       mmio: window size (default 0x200)\n"
            "  --irq N            mmio: guest SPI for the device (default 33)\n"
            "  --read-only        offer VIRTIO_BLK_F_RO; writes fail with IOERR\n"
            "  --serial ID        GET_ID string, at most 20 bytes (default: vg-DOMID-0)\n"
            "  --mode grant|grant-copy|foreign\n"
            "                     grant (default): buffers are grant references and only\n"
            "                     granted pages are ever mapped; grant-copy: the same\n"
            "                     references, but data is copied in and out with grant copy\n"
            "                     (only the rings are mapped); foreign: buffers are guest\n"
            "                     physical addresses (for comparison only)\n"
            "  --premap           foreign mode: map all guest RAM once at start\n"
            "  --aio auto|io_uring|sync\n"
            "                     image I/O: io_uring keeps many requests in flight, locked\n"
            "                     to the image before the jail; sync serves one at a time;\n"
            "                     auto (default) is io_uring where the kernel allows it\n"
            "  --ram-base ADDR    foreign mode: guest RAM base (default 0x40000000)\n"
            "  --ram-size BYTES   foreign mode: guest RAM size (required there)\n"
            "  --sandbox=kill|log|off\n"
            "                     after set-up: handles pinned to the guest, empty root,\n"
            "                     unprivileged ids, no new privileges, seccomp allowlist whose\n"
            "                     default kills (kill, the default) or only logs (log); off is\n"
            "                     for debugging\n"
            "  --uid N, --gid N   ids the sandboxed backend runs as (default 65534)\n"
            "  --log-format text|json\n"
            "                     json: one object per line, the device's domid and devid\n"
            "                     as fields (default text)\n"
            "  -v, --verbose      debug logging\n"
            "  -q, --quiet        errors only\n"
            "  -h, --help         this text\n"
            "  -V, --version      print the version\n"
            "\n"
            "Numbers are decimal or 0x hex; sizes and addresses accept K, M and G.\n");
}

/*
 * Decimal, or hexadecimal after 0x; never octal (a leading 0 is refused
 * rather than read as octal: "040" is not 32).  Sizes and addresses
 * (--base, --size, --ram-base, --ram-size) may end in K, M or G.
 */
static int parse_u64(const char *opt, const char *s, uint64_t *out)
{
    bool size = !strcmp(opt, "--base") || !strcmp(opt, "--size") || !strcmp(opt, "--ram-base") ||
                !strcmp(opt, "--ram-size");
    bool hex = s && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    char *end;
    errno = 0;
    if (!s || !(hex ? isxdigit((unsigned char)s[2]) : isdigit((unsigned char)s[0])) ||
        (!hex && s[0] == '0' && isdigit((unsigned char)s[1])))
        goto bad;
    unsigned long long v = strtoull(s, &end, hex ? 16 : 10);
    if (errno)
        goto bad;
    uint64_t mul = 1;
    if (size && (*end == 'K' || *end == 'k'))
        mul = 1ull << 10;
    else if (size && (*end == 'M' || *end == 'm'))
        mul = 1ull << 20;
    else if (size && (*end == 'G' || *end == 'g'))
        mul = 1ull << 30;
    if (mul != 1)
        end++;
    if (*end || !vg_mul_u64(v, mul, out))
        goto bad;
    return 0;
bad:
    fprintf(stderr, "virtio-grant: invalid value for %s: '%s' (decimal, or 0x hex%s)\n", opt,
            s ? s : "", size ? "; K, M, G" : "");
    return -EINVAL;
}

static int bad(const char *msg)
{
    fprintf(stderr, "virtio-grant: %s (see --help)\n", msg);
    return -EINVAL;
}

int vg_config_parse(struct vg_config *c, int argc, char **argv)
{
    enum { O_DOMID = 256, O_BASE, O_SIZE, O_IRQ, O_IMAGE, O_RO, O_MODE, O_PREMAP, O_RAMBASE,
           O_RAMSIZE, O_SERIAL, O_CONTROL_FD, O_SANDBOX, O_UID, O_GID, O_AIO, O_LOGFMT, O_TRANSPORT, O_PCI_SLOT };
    static const struct option opts[] = {
        { "domid", required_argument, 0, O_DOMID },
        { "base", required_argument, 0, O_BASE },
        { "size", required_argument, 0, O_SIZE },
        { "irq", required_argument, 0, O_IRQ },
        { "transport", required_argument, 0, O_TRANSPORT },
        { "pci-slot", required_argument, 0, O_PCI_SLOT },
        { "image", required_argument, 0, O_IMAGE },
        { "read-only", no_argument, 0, O_RO },
        { "mode", required_argument, 0, O_MODE },
        { "premap", no_argument, 0, O_PREMAP },
        { "aio", required_argument, 0, O_AIO },
        { "ram-base", required_argument, 0, O_RAMBASE },
        { "ram-size", required_argument, 0, O_RAMSIZE },
        { "serial", required_argument, 0, O_SERIAL },
        { "control-fd", required_argument, 0, O_CONTROL_FD },
        { "sandbox", required_argument, 0, O_SANDBOX },
        { "log-format", required_argument, 0, O_LOGFMT },
        { "uid", required_argument, 0, O_UID },
        { "gid", required_argument, 0, O_GID },
        { "verbose", no_argument, 0, 'v' },
        { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, 'V' },
        { 0, 0, 0, 0 },
    };
    memset(c, 0, sizeof(*c));
    c->base = 0x2000000;
    c->size = 0x200;
    c->irq = 33;
    c->mode = GMEM_GRANT;
    c->ram_base = 0x40000000;
    c->log_level = VG_LOG_INFO;
    c->control_fd = -1;
    c->sandbox.mode = VG_SANDBOX_KILL;
    c->sandbox.uid = VG_SANDBOX_DEFAULT_ID;
    c->sandbox.gid = VG_SANDBOX_DEFAULT_ID;
    uint64_t v;

    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        vg_config_usage(stdout);
        return 1;
    }
    if (argc >= 2 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
        printf("virtio-grant " VG_VERSION "\n");
        return 1;
    }
    if (argc < 2 || argv[1][0] == '-')
        return bad("missing device type: 'blk'");
    if (strcmp(argv[1], "blk") != 0)
        return bad("unknown device type (only 'blk' exists)");
    c->device = argv[1];
    optind = 2;
    int o;
    while ((o = getopt_long(argc, argv, "vqhV", opts, NULL)) != -1) {
        switch (o) {
        case O_DOMID:
            if (parse_u64("--domid", optarg, &v) < 0)
                return -EINVAL;
            if (!vg_domid_ok(v))
                return bad("--domid must name a guest (1..0x7fef)");
            c->domid = (uint16_t)v;
            c->have_domid = true;
            break;
        case O_BASE:
            if (parse_u64("--base", optarg, &c->base) < 0)
                return -EINVAL;
            c->window_given = true;
            break;
        case O_SIZE:
            if (parse_u64("--size", optarg, &c->size) < 0)
                return -EINVAL;
            c->window_given = true;
            break;
        case O_IRQ:
            if (parse_u64("--irq", optarg, &v) < 0)
                return -EINVAL;
            if (!vg_irq_ok(v))
                return bad("--irq must be an Arm SPI (32..1019)");
            c->irq = (unsigned)v;
            c->window_given = true;
            break;
        case O_TRANSPORT:
            if (!strcmp(optarg, "mmio"))
                c->transport = VG_TRANSPORT_MMIO;
            else if (!strcmp(optarg, "pci"))
                c->transport = VG_TRANSPORT_PCI;
            else
                return bad("--transport is 'mmio' or 'pci'");
            break;
        case O_PCI_SLOT:
            if (parse_u64("--pci-slot", optarg, &v) < 0)
                return -EINVAL;
            if (v < VG_PCI_SLOT_MIN || v > VG_PCI_SLOT_MAX)
                return bad("--pci-slot is a slot on bus 0, 3..31 (0-2 are the device model's: "
                           "host bridge, PIIX3, platform device)");
            c->pci_slot = (unsigned)v;
            break;
        case O_IMAGE:
            c->image = optarg;
            break;
        case O_RO:
            c->read_only = true;
            break;
        case O_MODE:
            if (!strcmp(optarg, "grant"))
                c->mode = GMEM_GRANT;
            else if (!strcmp(optarg, "grant-copy"))
                c->mode = GMEM_GRANT_COPY;
            else if (!strcmp(optarg, "foreign"))
                c->mode = GMEM_FOREIGN;
            else
                return bad("--mode is 'grant', 'grant-copy' or 'foreign'");
            break;
        case O_PREMAP:
            c->premap = true;
            break;
        case O_AIO:
            if (aio_pref_parse(optarg, &c->aio) < 0)
                return bad("--aio is 'auto', 'io_uring' or 'sync'");
            break;
        case O_RAMBASE:
            if (parse_u64("--ram-base", optarg, &c->ram_base) < 0)
                return -EINVAL;
            break;
        case O_RAMSIZE:
            if (parse_u64("--ram-size", optarg, &c->ram_size) < 0)
                return -EINVAL;
            break;
        case O_CONTROL_FD:
            if (parse_u64("--control-fd", optarg, &v) < 0)
                return -EINVAL;
            if (v < 3 || v > 1023)
                return bad("--control-fd is for the launcher (an inherited fd, 3..1023)");
            c->control_fd = (int)v;
            break;
        case O_LOGFMT:
            if (vg_log_format_parse(optarg, &c->log_format) < 0)
                return bad("--log-format is 'text' or 'json'");
            break;
        case O_SANDBOX:
            if (!strcmp(optarg, "kill"))
                c->sandbox.mode = VG_SANDBOX_KILL;
            else if (!strcmp(optarg, "log"))
                c->sandbox.mode = VG_SANDBOX_LOG;
            else if (!strcmp(optarg, "off"))
                c->sandbox.mode = VG_SANDBOX_OFF;
            else
                return bad("--sandbox is 'kill', 'log' or 'off'");
            break;
        case O_UID:
        case O_GID:
            if (parse_u64(o == O_UID ? "--uid" : "--gid", optarg, &v) < 0)
                return -EINVAL;
            if (v == 0 || v >= 0xffffffffu)
                return bad("--uid/--gid must name an unprivileged id (not 0)");
            if (o == O_UID)
                c->sandbox.uid = (uid_t)v;
            else
                c->sandbox.gid = (gid_t)v;
            break;
        case O_SERIAL:
            if (strlen(optarg) > 20)
                return bad("--serial is at most 20 bytes");
            c->serial = optarg;
            break;
        case 'v':
            if (c->log_level < VG_LOG_DEBUG)
                c->log_level++;
            break;
        case 'q':
            c->log_level = VG_LOG_ERROR;
            break;
        case 'h':
            vg_config_usage(stdout);
            return 1;
        case 'V':
            printf("virtio-grant " VG_VERSION "\n");
            return 1;
        default:
            return bad("unknown option");
        }
    }
    if (optind < argc)
        return bad("unexpected argument");
    if (c->control_fd >= 0) {
        /* libxl 4.17 describes virtio disks as virtio-mmio only (tsinput.c). */
        if (c->transport == VG_TRANSPORT_PCI || c->pci_slot)
            return bad("the launcher serves virtio-mmio devices only: start a virtio-pci "
                       "device by hand");
        if (c->have_domid || c->image)
            return bad("with --control-fd the launcher gives the domid and the image");
        return 0; /* vg_config_check() runs once the launcher's CONFIG filled in the rest */
    }
    return vg_config_check(c);
}

int vg_config_check(struct vg_config *c)
{
    if (!c->have_domid)
        return bad("--domid is required");
    if (!c->image && c->control_fd < 0)
        return bad("--image is required");
    if (c->transport == VG_TRANSPORT_PCI) {
        /* The guest places the BAR and its interrupts are the function's. */
        if (c->window_given)
            return bad("--base, --size and --irq are for --transport mmio: a PCI device's "
                       "window is its BAR, placed by the guest");
        if (!c->pci_slot)
            return bad("--transport pci needs --pci-slot (a slot the device model leaves free)");
    } else if (c->pci_slot) {
        return bad("--pci-slot needs --transport pci");
    } else if (!vg_window_ok(c->base, c->size)) {
        return bad("--base must be 512-byte aligned and --size within 0x200..0x1000");
    }
    if (c->premap && c->mode != GMEM_FOREIGN && c->mode != GMEM_FOREIGN_PREMAP)
        return bad("--premap needs --mode foreign");
    if (!gmem_mode_is_grant(c->mode)) {
        if (c->premap)
            c->mode = GMEM_FOREIGN_PREMAP;
        if (c->ram_size == 0 || c->ram_size % VG_PAGE_SIZE || c->ram_base % VG_PAGE_SIZE ||
            c->ram_base + c->ram_size < c->ram_base)
            return bad("foreign mode needs page-aligned --ram-base and --ram-size");
    } else if (c->ram_size) {
        return bad("--ram-size is for foreign mode: grant mode never maps guest RAM");
    }
    c->sandbox.gmem_mode = c->mode;
    return 0;
}
