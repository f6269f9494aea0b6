#!/usr/bin/env python3
"""Write the committed seed corpora: one seed per hostile-guest catalogue
class (shared/reference/hostile-guest.md) in each harness's input format,
plus a well-formed request.  Run from anywhere; writes tests/fuzz/corpus/."""
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# fin_addr kinds: 4 = inside the granted data pages, 1 = the read-only page,
# 2 = an ungranted ref, 3 = the frame as a guest-physical address, 0 = raw.
def addr(off, kind=4):
    return bytes([kind]) + struct.pack('<H', off)

def raw_addr(v):
    return bytes([0, 0, 0]) + struct.pack('<Q', v)

NEXT, WRITE, INDIRECT = 1, 2, 4

def desc(a, length, flags, nxt):
    """virtq/device descriptor: addr, lk byte, u16 len, flags in lk, u8 next."""
    return a + bytes([flags & 7]) + struct.pack('<H', length) + bytes([nxt])

def desc_wide(a, length, flags, nxt):
    """u32 len (lk 0x80), u16 flags (0x40), u16 next (0x20)."""
    return a + bytes([0xe0]) + struct.pack('<IHH', length, flags, nxt)

def virtq(descs, avail_idx, heads, indirect=(), qs_code=3, cfg_extra=8):
    qs = 1 << qs_code
    body = bytes([qs_code | cfg_extra])
    d = list(descs) + [desc(addr(0), 0, 0, 0)] * (qs - len(descs))
    body += b''.join(d[:qs]) + bytes([avail_idx])
    h = list(heads) + [0] * (qs - len(heads))
    body += bytes(h[:qs]) + b''.join(indirect)
    return body

HDR = 0x1000  # a request header inside the data pages (page 1)
seeds = {
    'virtq': {
        'valid-chain': virtq([desc(addr(0x1000), 16, NEXT, 1), desc(addr(0x2000), 4096, NEXT | WRITE, 2),
                              desc(addr(0x3000), 1, WRITE, 0)], 1, [0]),
        'avail-idx-jump': virtq([desc(addr(0x1000), 16, 0, 0)], 200, [0]),
        'head-out-of-range': virtq([desc(addr(0x1000), 16, 0, 0)], 1, [9]),
        'next-out-of-range': virtq([desc(addr(0x1000), 16, NEXT, 9)], 1, [0]),
        'descriptor-loop': virtq([desc(addr(0x1000), 16, NEXT, 1), desc(addr(0x2000), 16, NEXT, 0)], 1, [0]),
        'indirect-zero-length': virtq([desc(addr(0), 0, INDIRECT, 0)], 1, [0]),
        'indirect-bad-length': virtq([desc(addr(0), 24, INDIRECT, 0)], 1, [0]),
        'indirect-nested': virtq([desc(addr(0), 32, INDIRECT, 0)], 1, [0],
                                 [desc(addr(0), 16, INDIRECT, 0), desc(addr(0x2000), 16, 0, 0)]),
        'indirect-with-next': virtq([desc(addr(0), 16, INDIRECT | NEXT, 1), desc(addr(0x2000), 16, 0, 0)], 1, [0],
                                    [desc(addr(0x1000), 16, 0, 0)]),
        'readable-after-writable': virtq([desc(addr(0x1000), 16, WRITE | NEXT, 1), desc(addr(0x2000), 16, 0, 0)],
                                         1, [0]),
        'total-length-overflow': virtq([desc_wide(addr(0x1000), 0xffffff00, NEXT, 1),
                                        desc_wide(addr(0x2000), 0x1000, 0, 0)], 1, [0]),
        'bit63-clear-address': virtq([desc(addr(0x1000, 3), 16, 0, 0)], 1, [0]),
        'ungranted-ref': virtq([desc(addr(0x10, 2), 16, 0, 0)], 1, [0]),
        'readonly-grant-for-writable-buffer': virtq([desc(addr(0x10, 1), 16, WRITE, 0)], 1, [0]),
        'raw-address': virtq([desc(raw_addr(0xdeadbeef000), 16, 0, 0)], 1, [0]),
    },
}

def blk(type_idx=0, sector=0, ro=False, nbufs=3, status_len=1, data_len=512, hdr_len=None):
    cfg = (1 if ro else 0) | 2 | (16 if hdr_len is not None else 0)
    b = bytes([cfg, type_idx]) + struct.pack('<H', sector)
    if hdr_len is not None:
        b += bytes([hdr_len])
    b += bytes([nbufs - 1])
    for i in range(1, nbufs):
        last = i == nbufs - 1
        length = status_len if last else data_len
        writable = 1 if (last or type_idx == 0) else 0
        if length == 0:  # raw length (0x40): a zero-length status buffer
            b += bytes([writable | 0x40]) + struct.pack('<HH', (i - 1) * 4096, 0)
        else:
            b += bytes([writable]) + struct.pack('<HH', (i - 1) * 4096, length - 1)
    return b + bytes(64)

seeds['blk'] = {
    'read': blk(0, 8),
    'write': blk(1, 8),
    'flush': blk(2, 0, nbufs=2),
    'get-id': blk(3, 0, data_len=20),
    'discard': blk(4, 0, data_len=16),
    'write-zeroes': blk(5, 0, data_len=16),
    'sector-past-capacity': blk(1, 2100),
    'short-header': blk(0, 0, hdr_len=7),
    'no-status-byte': blk(0, 0, nbufs=2, status_len=0),
    'write-on-read-only': blk(1, 8, ro=True),
}

def mmio_rec(off, val, write=True, size_code=0, ring=False):
    op = (1 if write else 0) | (size_code << 1) | (0x20 if ring else 0)
    return bytes([op]) + struct.pack('<HI', off, val)

bring_up = (mmio_rec(0x70, 0) + mmio_rec(0x70, 3) + mmio_rec(0x24, 1) + mmio_rec(0x20, 3) +
            mmio_rec(0x70, 11) + mmio_rec(0x30, 0) + mmio_rec(0x38, 8) +
            mmio_rec(0x80, 0, ring=True) + mmio_rec(0x84, 0, ring=True) +
            mmio_rec(0x90, 0x800, ring=True) + mmio_rec(0x94, 0, ring=True) +
            mmio_rec(0xa0, 0xa00, ring=True) + mmio_rec(0xa4, 0, ring=True) +
            mmio_rec(0x44, 1) + mmio_rec(0x70, 15))
# The same with GRANT_ADDRESSING and GRANT_POOL, and a 4-page pool announced before DRIVER_OK.
pool_bring_up = (mmio_rec(0x70, 0) + mmio_rec(0x70, 3) + mmio_rec(0x24, 1) + mmio_rec(0x20, 0x3003) +
                 mmio_rec(0x70, 11) + mmio_rec(0x30, 0) + mmio_rec(0x38, 8) +
                 mmio_rec(0x80, 0, ring=True) + mmio_rec(0x84, 0, ring=True) +
                 mmio_rec(0x90, 0x800, ring=True) + mmio_rec(0x94, 0, ring=True) +
                 mmio_rec(0xa0, 0xa00, ring=True) + mmio_rec(0xa4, 0, ring=True) +
                 mmio_rec(0x44, 1) + mmio_rec(0xd0, 0, ring=True) + mmio_rec(0xd4, 0, ring=True) +
                 mmio_rec(0xd8, 4) + mmio_rec(0x70, 15))
seeds['mmio'] = {
    'bring-up-and-notify': bring_up + mmio_rec(0x50, 0),
    'pool-announced-and-notify': pool_bring_up + mmio_rec(0x50, 0),
    'queue-sel-out-of-range': mmio_rec(0x70, 3) + mmio_rec(0x30, 7) + mmio_rec(0x38, 8) + mmio_rec(0x44, 1),
    'queue-num-not-power-of-two': bring_up[:6 * 7] + mmio_rec(0x38, 7) + mmio_rec(0x44, 1),
    'queue-regs-before-features-ok': mmio_rec(0x70, 3) + mmio_rec(0x38, 8) + mmio_rec(0x44, 1),
    'bad-access-size': mmio_rec(0x70, 3, size_code=5) + mmio_rec(0x10, 0, write=False, size_code=2),
    'config-read-past-end': mmio_rec(0x1f8, 0, write=False) + mmio_rec(0x1fe, 0, write=False, size_code=3),
    'status-bits-cleared-without-reset': bring_up + mmio_rec(0x70, 1),
    'ring-not-granted': mmio_rec(0x70, 3) + mmio_rec(0x24, 1) + mmio_rec(0x20, 3) + mmio_rec(0x70, 11) +
                        mmio_rec(0x38, 8) + mmio_rec(0x80, 0x1000) + mmio_rec(0x44, 1),
}

def dev(*ops, qs_code=3, ro=False):
    return bytes([qs_code | (8 if ro else 0)]) + struct.pack('<II', 0xffffffff, 0xffffffff) + b''.join(ops)

def d_desc(idx, a, length, flags, nxt, indirect_table=False):
    return bytes([0 | (8 if indirect_table else 0)]) + bytes([idx]) + a + struct.pack('<H', length) + bytes([flags, nxt])

def d_hdr(at, type_, sector):
    return bytes([2]) + struct.pack('<H', at) + bytes([type_]) + struct.pack('<H', sector)

def d_publish(head):
    return bytes([1, head])

NOTIFY, ACK, RESET = bytes([3]), bytes([5]), bytes([7])
seeds['device'] = {
    'read-request': dev(d_hdr(0, 0, 4), d_desc(0, addr(0), 16, NEXT, 1), d_desc(1, addr(0x1000), 512, NEXT | WRITE, 2),
                        d_desc(2, addr(0x1200), 1, WRITE, 0), d_publish(0), NOTIFY, ACK),
    'write-then-reset': dev(d_hdr(0, 1, 4), d_desc(0, addr(0), 16, NEXT, 1), d_desc(1, addr(0x1000), 512, NEXT, 2),
                            d_desc(2, addr(0x1200), 1, WRITE, 0), d_publish(0), NOTIFY, RESET, NOTIFY),
    'indirect-request': dev(d_hdr(0x100, 0, 0), d_desc(0, addr(0), 48, INDIRECT, 0),
                            d_desc(0, addr(0x100), 16, NEXT, 1, True), d_desc(1, addr(0x1000), 512, NEXT | WRITE, 2, True),
                            d_desc(2, addr(0x1300), 1, WRITE, 0, True), d_publish(0), NOTIFY),
    'loop-then-notify': dev(d_desc(0, addr(0), 16, NEXT, 1), d_desc(1, addr(0x10), 16, NEXT, 0), d_publish(0), NOTIFY),
    'ungranted-ref': dev(d_desc(0, addr(0x10, 2), 16, 0, 0), d_publish(0), NOTIFY),
    'bit63-clear-address': dev(d_desc(0, addr(0x10, 3), 16, 0, 0), d_publish(0), NOTIFY),
    'read-only-device-write': dev(d_hdr(0, 1, 4), d_desc(0, addr(0), 16, NEXT, 1), d_desc(1, addr(0x1000), 512, NEXT, 2),
                                  d_desc(2, addr(0x1200), 1, WRITE, 0), d_publish(0), NOTIFY, ro=True),
}

# fuzz_ioreq: a stale byte, then ioreq_t (addr, data, count, size, vp_eport,
# pad, state:4|data_is_ptr:1|dir:1|df:1, type), then what the register answers.
READY, INPROCESS, RESP_READY = 1, 2, 3
T_COPY, T_PCI_CONFIG, T_INVALIDATE = 1, 2, 8
WIN = 0x2000000

def ioreq(addr_, size, dir_read=True, state=READY, type_=T_COPY, count=1, ptr=0, data=0, stale=0):
    bits = state | (ptr << 4) | ((1 if dir_read else 0) << 5)
    return (bytes([stale]) + struct.pack('<QQIIIH', addr_, data, count, size, 7, 0) +
            bytes([bits, type_]) + struct.pack('<Q', 0x7472697600000000))

seeds['ioreq'] = {
    'read-magic': ioreq(WIN, 4),
    'write-status': ioreq(WIN + 0x70, 4, dir_read=False, data=0xf),
    'read-8-last': ioreq(WIN + 0x1f8, 8),
    'size-3': ioreq(WIN, 3),
    'count-2': ioreq(WIN, 4, count=2),
    'data-is-ptr': ioreq(WIN, 4, ptr=1),
    'past-window': ioreq(WIN + 0x1fe, 4),
    'below-window': ioreq(WIN - 4, 4),
    'invalidate': ioreq(0, 0, type_=T_INVALIDATE),
    'not-ready': ioreq(WIN, 4, state=RESP_READY),
    'stale-inprocess': ioreq(WIN, 4, state=INPROCESS, stale=1),
    'pio-type': ioreq(WIN, 4, type_=0),
    # configuration space: SBDF 0:0:5.0 (0x28) in bits 63-32, the register below
    'pci-config-read-id': ioreq(0x28 << 32, 4, type_=T_PCI_CONFIG),
    'pci-config-write-command': ioreq((0x28 << 32) | 4, 2, dir_read=False, data=0x406,
                                      type_=T_PCI_CONFIG),
    'pci-config-cross-dword': ioreq((0x28 << 32) | 0x3f, 4, type_=T_PCI_CONFIG),
    'pci-config-extended': ioreq((0x28 << 32) | 0x100, 4, type_=T_PCI_CONFIG),
    'pci-config-other-function': ioreq(0x29 << 32, 4, type_=T_PCI_CONFIG),
    'pci-config-size-8': ioreq(0x28 << 32, 8, type_=T_PCI_CONFIG),
    'pci-config-rep': ioreq(0x28 << 32, 4, type_=T_PCI_CONFIG, count=4, ptr=1),
}

# fuzz_tsinput: a number for the parsers and its bound, then which nodes are
# present (bit per node), each node's value, the domid, devid, want_ram_size.
TS_NODES = ['frontend-id', 'base', 'irq', 'transport', 'mode', 'params', 'static-max']

def tstr(v):
    return bytes([len(v)]) + v

def tsdir(vals, number=b'0x2000000', bound=2**64 - 1, domid=1, want=1):
    present = sum(1 << i for i, n in enumerate(TS_NODES) if n in vals)
    body = tstr(number) + struct.pack('<Q', bound) + bytes([present])
    for n in TS_NODES:
        body += tstr(vals.get(n, b''))
    return body + struct.pack('<HI', domid, 0) + bytes([want])

good = {'frontend-id': b'1', 'base': b'33554432', 'irq': b'33', 'transport': b'mmio',
        'mode': b'w', 'params': b'/var/lib/img', 'static-max': b'32768'}
seeds['tsinput'] = {
    'good': tsdir(good),
    'hex-base': tsdir(dict(good, base=b'0x2000000'), number=b'0x00ff'),
    'other-domid': tsdir(dict(good, **{'frontend-id': b'2'})),
    'leading-zero': tsdir(dict(good, irq=b'033'), number=b'007'),
    'nul-in-params': tsdir(dict(good, params=b'/a\x00b')),
    'relative-params': tsdir(dict(good, params=b'img')),
    'misaligned-base': tsdir(dict(good, base=b'33554433')),
    'irq-ppi': tsdir(dict(good, irq=b'16')),
    'mode-x': tsdir(dict(good, mode=b'rw')),
    'pci-transport': tsdir(dict(good, transport=b'pci')),
    'static-max-k': tsdir(dict(good, **{'static-max': b'32768k'})),
    'number-overflow': tsdir(good, number=b'18446744073709551616'),
}

# fuzz_config: a byte (odd: "blk" comes first), then NUL-separated words.
def argv(*words, blk=True):
    return bytes([1 if blk else 0]) + b'\0'.join(w.encode() for w in words)

seeds['config'] = {
    'defaults': argv('--domid', '3', '--image', '/x'),
    'foreign-premap': argv('--domid', '3', '--image', '/x', '--mode', 'foreign', '--ram-base',
                           '0x40000000', '--ram-size', '128M', '--premap'),
    'control-fd': argv('--control-fd', '5'),
    'help': argv('--help', blk=False),
    'octal-irq': argv('--domid', '3', '--image', '/x', '--irq', '041'),
    'negative-size': argv('--domid', '3', '--image', '/x', '--size', '-1'),
    'no-device': argv('--domid', '3', blk=False),
    'long-serial': argv('--domid', '3', '--image', '/x', '--serial', 'x' * 40),
}

# fuzz_vqgraph: structure bytes; any bytes are a graph, these are a few shapes.
seeds['vqgraph'] = {
    'chain-of-three': bytes([0x0b]) + bytes([0x40, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 2] * 3) + bytes([0, 0, 0]),
    'indirect': bytes([0x0a]) + bytes([0x05, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 3, 0, 0]) + bytes([1, 0, 0, 4]) +
                bytes([0x40, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2] * 4) + bytes([1, 0]),
    'loop': bytes([0x03]) + bytes([0x50, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0] * 8) + bytes([0, 0, 0]),
    # The one-hour run's finding of 2026-12-02: an indirect table at grant
    # ref 0, which the toolstack grants dom0 (the console ring); the walker
    # reads it, as it must, and the reference walk now knows those grants.
    'regress-indirect-table-in-reserved-grant-ref0':
        bytes.fromhex('f8ff070000000000008010 00dc00f40002ff'.replace(' ', '')),
}

# fuzz_pcicfg: 7-byte records: op (bit 0 write, bits 1-3 width code, bit 6
# an offset near 2^32, bit 7 a second offset byte), offset, offset high, value.
def cfg(op, reg, val, hi=0):
    return bytes([op, reg, hi]) + struct.pack('<I', val)

seeds['pcicfg'] = {
    'bar-sizing': cfg(0x05, 0x10, 0xffffffff) + cfg(0x04, 0x10, 0) + cfg(0x05, 0x10, 0xf0000000) +
                  cfg(0x03, 0x04, 0x0407) + cfg(0x04, 0x10, 0),
    'capability-walk': cfg(0x00, 0x34, 0) + cfg(0x00, 0x40, 0) + cfg(0x00, 0x41, 0) +
                       cfg(0x02, 0x42, 0) + cfg(0x03, 0x42, 0xc000),
    'past-the-end': cfg(0x85, 0xfe, 0xffffffff, hi=1) + cfg(0x45, 0xfc, 0xffffffff) +
                    cfg(0x09, 0x3c, 0xaa) + cfg(0x0c, 0x3c, 0),
}

# fuzz_msix: 6-byte records: op (bits 0-2 what, 3-4 width code, bit 6 a
# notify's vector from the value), offset, value.
def mx(op, off, val):
    return bytes([op, off]) + struct.pack('<I', val)

seeds['msix'] = {
    'pirq-masked-delivered': mx(4, 1, 0x23000) + mx(3, 0, 0x8000) + mx(5, 1, 0),
    'vector-pending-unmask': mx(0, 0x20, 0xfee00000) + mx(0, 0x28, 0x41) + mx(3, 0, 0x8000) +
                             mx(5, 2, 0) + mx(2, 0, 0) + mx(0, 0x2c, 0),
    'function-mask': mx(4, 0, 0x1000) + mx(3, 0, 0xc000) + mx(6, 0, 0) + mx(3, 0, 0x8000),
}

# fuzz_pci: op (bit 0 write, bit 1 config space, bits 2-4 width code: 4 2 1 4
# 8 3 2 4, bit 5 a queue address half aimed at the ring, bit 6 the input
# shapes the ring, bit 7 a second offset byte), a 32-bit value, then the
# register (config) or the BAR region and offset.
W4, W2, W1 = 0, 1, 2
def pcfg(reg, code, val):
    return bytes([0x03 | code << 2]) + struct.pack('<I', val) + bytes([reg])
def pbar(region, off, code, val, ring=False):
    op = 0x01 | code << 2 | (0x20 if ring else 0) | (0x80 if off > 0x3f else 0)
    return bytes([op]) + struct.pack('<I', val) + bytes([region, off])

linux_probe = (pcfg(0x04, W2, 6) + pcfg(0x10, W4, 0xf0000000) +
               pbar(0, 0x14, W1, 0) + pbar(0, 0x14, W1, 3) + pbar(0, 0x08, W4, 1) +
               pbar(0, 0x0c, W4, 3) + pbar(0, 0x14, W1, 11) + pbar(0, 0x16, W2, 0) +
               pbar(0, 0x18, W2, 64) + pbar(0, 0x20, W4, 0, True) + pbar(0, 0x24, W4, 0, True) +
               pbar(0, 0x28, W4, 0x400, True) + pbar(0, 0x2c, W4, 0x400, True) +
               pbar(0, 0x30, W4, 0x800, True) + pbar(0, 0x34, W4, 0x800, True) +
               pbar(0, 0x1c, W2, 1) + pbar(0, 0x14, W1, 15))
seeds['pci'] = {
    'linux-probe-notify': linux_probe + pbar(3, 0, W2, 0),
    'msix-pirq': (pcfg(0x04, W2, 6) + pbar(4, 0, W4, 0xfee30000) + pbar(4, 8, W4, 0x700) +
                  pcfg(0x42, W2, 0x8000) + linux_probe + pbar(0, 0x1a, W2, 0) + pbar(3, 0, W2, 0)),
    # the PCI_CFG capability sits at 0x90: offset 0x98, length 0x9c, data 0xa0
    'pci-cfg-window': (pcfg(0x98, W4, 0x12) + pcfg(0x9c, W4, 2) +
                       bytes([0x02 | W2 << 2]) + struct.pack('<I', 0) + bytes([0xa0])),
    'isr-read': linux_probe + bytes([0x00 | W1 << 2]) + struct.pack('<I', 0) + bytes([1, 0]),
}

for harness, cases in seeds.items():
    d = os.path.join(HERE, 'corpus', harness)
    os.makedirs(d, exist_ok=True)
    # Only the named seeds are rewritten: what make fuzz-long merged in stays,
    # less a hash-named copy of a seed (libFuzzer names its files by SHA-1).
    for name, data in cases.items():
        dup = os.path.join(d, hashlib.sha1(data).hexdigest())
        if os.path.exists(dup):
            os.unlink(dup)
        with open(os.path.join(d, name), 'wb') as fh:
            fh.write(data)
print('seeds:', ', '.join(f'{h} {len(c)}' for h, c in seeds.items()))
