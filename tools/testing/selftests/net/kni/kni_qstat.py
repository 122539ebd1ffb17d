#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Print one per-queue counter of a device from the netdev generic netlink
# family (qstats-get, queue scope), which no tool in Debian's userspace
# reads yet; exit 1 with a message when the device, the queue or the
# counter is not there.
#
# usage: kni_qstat.py DEV rx|tx QUEUE COUNTER
#   COUNTER is the spec's name without the rx-/tx- prefix: packets, bytes,
#   hw-drops, or stop (tx).

import os
import socket
import struct
import sys

from kni_nl import nla

NETLINK_GENERIC = 16
GENL_ID_CTRL = 16
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3

NETDEV_CMD_QSTATS_GET = 12
A_IFINDEX, A_QUEUE_TYPE, A_QUEUE_ID, A_SCOPE = 1, 2, 3, 4
SCOPE_QUEUE = 1
QUEUE_TYPES = {"rx": 0, "tx": 1}
COUNTERS = {
    ("rx", "packets"): 8, ("rx", "bytes"): 9,
    ("tx", "packets"): 10, ("tx", "bytes"): 11,
    ("rx", "hw-drops"): 13, ("tx", "hw-drops"): 24, ("tx", "stop"): 33,
}


def attrs(data):
    out = {}
    while len(data) >= 4:
        alen, atype = struct.unpack_from("=HH", data)
        if alen < 4 or alen > len(data):
            break
        out[atype & 0x3fff] = data[4:alen]
        data = data[(alen + 3) & ~3:]
    return out


def uint(payload):
    return int.from_bytes(payload, sys.byteorder)


def talk(sock, mtype, flags, cmd, payload):
    """The attributes of each answer to one request."""
    msg = struct.pack("=BBH", cmd, 1, 0) + payload
    sock.send(struct.pack("=IHHII", 16 + len(msg), mtype, flags, 1, 0) + msg)
    while True:
        data = sock.recv(65536)
        while len(data) >= 16:
            mlen, mtype_in, _, _, _ = struct.unpack_from("=IHHII", data)
            body = data[16:mlen]
            if mtype_in == NLMSG_ERROR:
                err = struct.unpack_from("=i", body)[0]
                if err:
                    raise OSError(-err, os.strerror(-err))
                return
            if mtype_in == NLMSG_DONE:
                return
            yield attrs(body[4:])
            data = data[(mlen + 3) & ~3:]
        if not flags & NLM_F_DUMP:
            return


def main(argv):
    if len(argv) != 5 or argv[2] not in QUEUE_TYPES or \
            (argv[2], argv[4]) not in COUNTERS:
        sys.exit("usage: kni_qstat.py DEV rx|tx QUEUE COUNTER")
    dev, qtype, queue, counter = argv[1], argv[2], int(argv[3]), argv[4]
    ifindex = socket.if_nametoindex(dev)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    family = None
    for a in talk(sock, GENL_ID_CTRL, NLM_F_REQUEST, CTRL_CMD_GETFAMILY,
                  nla(CTRL_ATTR_FAMILY_NAME, b"netdev\0")):
        family = uint(a[CTRL_ATTR_FAMILY_ID])
    if family is None:
        sys.exit("no netdev generic netlink family")
    req = nla(A_IFINDEX, struct.pack("=I", ifindex)) + \
        nla(A_SCOPE, struct.pack("=I", SCOPE_QUEUE))
    for a in talk(sock, family, NLM_F_REQUEST | NLM_F_DUMP,
                  NETDEV_CMD_QSTATS_GET, req):
        if uint(a.get(A_QUEUE_TYPE, b"\xff")) != QUEUE_TYPES[qtype] or \
                uint(a.get(A_QUEUE_ID, b"\xff\xff")) != queue:
            continue
        key = COUNTERS[(qtype, counter)]
        if key not in a:
            sys.exit(f"{dev} {qtype} queue {queue} reports no {counter}")
        print(uint(a[key]))
        return
    sys.exit(f"{dev} has no {qtype} queue {queue} in qstats-get")


if __name__ == "__main__":
    main(sys.argv)
