#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Send one RTM_NEWLINK for a kni device with raw attributes, including
# values and sizes iproute2 would never send, and print the kernel's
# answer: "ok", or "error ERRNO: EXTACK MESSAGE".
#
# usage: kni_nl.py [--change] NAME [ATTR=VALUE[:SIZE]]...
#   ATTR is an IFLA_KNI_* name without the prefix (ring_size, frame_size,
#   loopback, owner, group) or a number, sent in the kni data
#   (IFLA_INFO_DATA); or one of the link's standard attributes numtxqueues
#   (IFLA_NUM_TX_QUEUES), numrxqueues (IFLA_NUM_RX_QUEUES) and carrier
#   (IFLA_CARRIER), sent next to the link info; queues=N stands for
#   numtxqueues=N numrxqueues=N, a device's queue pairs. SIZE is the
#   payload size in bytes (1, 2, 4 or 8), by default the attribute's own.
#   --change sends the attributes to an existing device (changelink).

import errno
import os
import socket
import struct
import sys

NETLINK_ROUTE = 0
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
SOL_NETLINK = 270

RTM_NEWLINK = 16
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLMSG_ERROR = 2
NLMSGERR_ATTR_MSG = 1

IFLA_IFNAME = 3
IFLA_LINKINFO = 18
IFLA_NUM_TX_QUEUES = 31
IFLA_NUM_RX_QUEUES = 32
IFLA_CARRIER = 33
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
NLA_F_NESTED = 0x8000

# IFLA_KNI_* in IFLA_INFO_DATA; name: (type, default size)
KNI_ATTRS = {
    'ring_size': (1, 4),
    'frame_size': (2, 4),
    'loopback': (3, 4),
    'owner': (4, 4),
    'group': (5, 4),
}
# The link's own attributes; name: ((type, ...), default size)
LINK_ATTRS = {
    'numtxqueues': ((IFLA_NUM_TX_QUEUES,), 4),
    'numrxqueues': ((IFLA_NUM_RX_QUEUES,), 4),
    'queues': ((IFLA_NUM_TX_QUEUES, IFLA_NUM_RX_QUEUES), 4),
    'carrier': ((IFLA_CARRIER,), 1),
}
SIZES = {1: 'B', 2: 'H', 4: 'I', 8: 'Q'}


def nla(atype, payload):
    length = 4 + len(payload)
    pad = (4 - length % 4) % 4
    return struct.pack('=HH', length, atype) + payload + b'\0' * pad


def attr(spec):
    """(the link's attributes, the kni data's) that SPEC makes."""
    key, value = spec.split('=', 1)
    size = None
    if ':' in value:
        value, size = value.split(':', 1)
        size = int(size)
    if key in LINK_ATTRS:
        atypes, default = LINK_ATTRS[key]
    elif key in KNI_ATTRS:
        atypes, default = (KNI_ATTRS[key][0],), KNI_ATTRS[key][1]
    else:
        atypes, default = (int(key),), 4
    payload = struct.pack('=' + SIZES[size or default], int(value, 0))
    data = b''.join(nla(t, payload) for t in atypes)
    return (data, b'') if key in LINK_ATTRS else (b'', data)


def main(argv):
    change = False
    if argv and argv[0] == '--change':
        change = True
        argv = argv[1:]
    if not argv:
        sys.stderr.write('usage: kni_nl.py [--change] NAME [ATTR=VALUE[:SIZE]]...\n')
        return 2
    name = argv[0].encode() + b'\0'
    attrs = [attr(a) for a in argv[1:]]
    link = b''.join(a[0] for a in attrs)
    data = b''.join(a[1] for a in attrs)
    linkinfo = nla(IFLA_INFO_KIND, b'kni\0') + \
        nla(IFLA_INFO_DATA | NLA_F_NESTED, data)
    ifinfo = struct.pack('=BxHiII', socket.AF_UNSPEC, 0, 0, 0, 0)
    body = ifinfo + nla(IFLA_IFNAME, name) + link + \
        nla(IFLA_LINKINFO | NLA_F_NESTED, linkinfo)
    flags = NLM_F_REQUEST | NLM_F_ACK
    if not change:
        flags |= NLM_F_CREATE | NLM_F_EXCL
    msg = struct.pack('=IHHII', 16 + len(body), RTM_NEWLINK, flags, 1, 0) + body

    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    sock.send(msg)
    reply = sock.recv(65536)
    _, mtype, mflags, _, _ = struct.unpack_from('=IHHII', reply)
    if mtype != NLMSG_ERROR:
        print('unexpected reply type %d' % mtype)
        return 1
    (err,) = struct.unpack_from('=i', reply, 16)
    if err == 0:
        print('ok')
        return 0
    text = ''
    off = 16 + 4 + 16  # nlmsghdr, error, capped copy of the request header
    while off + 4 <= len(reply):
        alen, atype = struct.unpack_from('=HH', reply, off)
        if alen < 4:
            break
        if atype == NLMSGERR_ATTR_MSG:
            text = reply[off + 4:off + alen].split(b'\0')[0].decode()
        off += (alen + 3) & ~3
    print('error %s: %s' % (errno.errorcode.get(-err, str(-err)), text))
    return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
