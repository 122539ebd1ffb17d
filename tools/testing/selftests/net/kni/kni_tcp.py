#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""TCP and UDP transfers of the kni shell selftests, checked end to end.

usage: kni_tcp.py sink ADDR PORT
           accept one connection on ADDR:PORT, read it to the end and
           print "BYTES SHA256" of what arrived
       kni_tcp.py send ADDR PORT FILE
           connect to ADDR:PORT (retrying while the sink starts) and
           send FILE
       kni_tcp.py udp-sink ADDR PORT
           receive one UDP transfer on ADDR:PORT and print "BYTES SHA256"
       kni_tcp.py udp-send ADDR PORT FILE SEGMENT
           send FILE to ADDR:PORT over UDP, in chunks the kernel segments
           (UDP_SEGMENT) into datagrams of SEGMENT bytes; each chunk is
           acknowledged, and sent again until it is
       kni_tcp.py big DEV SIZE
           count the packets longer than SIZE bytes that DEV receives and
           sends, from when it prints "ready" until SIGTERM; then print
           "rx N tx N"

A UDP datagram carries the chunk's number and its own index in the chunk
(4 bytes each) before its data; chunk 0xffffffff, with the length of the
file, ends the transfer.

Every mode has a budget for the whole of what it does, not only for each
call, and exits with an error when it runs out: a path that stopped
carrying packets fails the test instead of stalling it (TCP's own
retries would keep a connect or a read waiting for minutes each time).
The budgets are generous: a debug kernel under emulation is slow, and a
correct run never comes near them.
"""

import ctypes
import hashlib
import signal
import socket
import struct
import sys
import time

TIMEOUT = 120
UDP_SEGMENT = 103
END = 0xFFFFFFFF
ETH_P_ALL = 3
SO_ATTACH_FILTER = 26


def left(deadline, what):
    """The seconds left until deadline; exits with WHAT when none are."""
    t = deadline - time.monotonic()
    if t <= 0:
        sys.exit("%s: out of time" % what)
    return t


def sink(addr, port):
    what = "receiving on %s:%d" % (addr, port)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    s.settimeout(TIMEOUT)
    try:
        c, _ = s.accept()
    except socket.timeout:
        sys.exit("%s: nobody connected within %d s" % (what, TIMEOUT))
    deadline = time.monotonic() + 2 * TIMEOUT
    h, n = hashlib.sha256(), 0
    while True:
        c.settimeout(min(TIMEOUT, left(deadline, what)))
        try:
            b = c.recv(1 << 16)
        except socket.timeout:
            sys.exit("%s: %d bytes arrived, then nothing" % (what, n))
        if not b:
            break
        h.update(b)
        n += len(b)
    print(n, h.hexdigest())


def send(addr, port, path):
    what = "sending to %s:%d" % (addr, port)
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            s = socket.create_connection((addr, port),
                                         timeout=left(deadline, what))
            break
        except socket.timeout:
            sys.exit("%s: the connection was not set up within %d s" %
                     (what, TIMEOUT))
        except OSError:
            time.sleep(0.2)
    with open(path, "rb") as f:
        data = f.read()
    # sendall()'s timeout bounds the whole call.
    s.settimeout(TIMEOUT)
    try:
        s.sendall(data)
    except socket.timeout:
        sys.exit("%s: the data was not taken within %d s" % (what, TIMEOUT))
    s.shutdown(socket.SHUT_WR)
    s.close()


def udp_sink(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
    s.bind((addr, port))
    what = "receiving UDP on %s:%d" % (addr, port)
    deadline = time.monotonic() + 2 * TIMEOUT
    chunks, done = {}, set()
    while True:
        s.settimeout(min(TIMEOUT, left(deadline, what)))
        try:
            b, peer = s.recvfrom(1 << 16)
        except socket.timeout:
            sys.exit("%s: %d chunks arrived, then nothing" % (what, len(done)))
        chunk, index = struct.unpack("!II", b[:8])
        if chunk == END:
            total = struct.unpack("!Q", b[8:16])[0]
            s.sendto(struct.pack("!I", END), peer)
            break
        parts, count = chunks.setdefault(chunk, ({}, None))
        parts[index] = b[8:]
        if index == 0:
            count = struct.unpack("!I", b[8:12])[0]
            parts[0] = b[12:]
            chunks[chunk] = (parts, count)
        if count is not None and len(parts) == count:
            done.add(chunk)
        if chunk in done:
            s.sendto(struct.pack("!I", chunk), peer)
    h, n = hashlib.sha256(), 0
    for chunk in range(len(chunks)):
        parts, count = chunks[chunk]
        for index in range(count):
            h.update(parts[index])
            n += len(parts[index])
    print(n if n == total else "%d of %d" % (n, total), h.hexdigest())


def udp_send(addr, port, path, segment):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_UDP, UDP_SEGMENT, segment)
    s.settimeout(0.5)
    data = open(path, "rb").read()
    per = min(64, 65000 // segment)
    room = segment - 8
    chunk_len = per * room - 4
    deadline = time.monotonic() + TIMEOUT
    for chunk, off in enumerate(range(0, len(data), chunk_len)):
        body = data[off:off + chunk_len]
        pieces = [struct.pack("!I", 0) + body[:room - 4]]
        pieces += [body[i:i + room] for i in range(room - 4, len(body), room)]
        pieces[0] = struct.pack("!I", len(pieces)) + pieces[0][4:]
        buf = b"".join(struct.pack("!II", chunk, i) + p
                       for i, p in enumerate(pieces))
        while True:
            if time.monotonic() > deadline:
                sys.exit("UDP transfer timed out at chunk %d" % chunk)
            s.sendto(buf, (addr, port))
            try:
                while struct.unpack("!I", s.recv(16))[0] != chunk:
                    pass
                break
            except socket.timeout:
                continue
    s.setsockopt(socket.IPPROTO_UDP, UDP_SEGMENT, 0)
    while time.monotonic() < deadline:
        s.sendto(struct.pack("!IIQ", END, 0, len(data)), (addr, port))
        try:
            if struct.unpack("!I", s.recv(16))[0] == END:
                return
        except socket.timeout:
            pass
    sys.exit("the UDP sink did not acknowledge the end")


def big(dev, size):
    # The kernel passes on only the packets longer than SIZE (classic BPF:
    # load the length, return all of it when greater, else nothing), and
    # of those only the first bytes are copied, MSG_TRUNC giving the
    # length: the counter costs next to nothing beside the transfer it
    # watches. It is attached before the socket is bound, so that no
    # packet comes unfiltered.
    prog = [(0x80, 0, 0, 0),             # ld len
            (0x25, 0, 1, size),          # jgt #size, next, drop
            (0x06, 0, 0, 0xFFFFFFFF),    # ret #-1
            (0x06, 0, 0, 0)]             # drop: ret #0
    insns = ctypes.create_string_buffer(
        b"".join(struct.pack("HBBI", *i) for i in prog))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER,
                 struct.pack("HL", len(prog), ctypes.addressof(insns)))
    s.bind((dev, ETH_P_ALL))
    s.settimeout(0.2)
    buf = bytearray(64)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    count = {"rx": 0, "tx": 0}
    print("ready", flush=True)
    while not stop:
        try:
            n, addr = s.recvfrom_into(buf, 0, socket.MSG_TRUNC)
        except socket.timeout:
            continue
        if n > size:
            count["tx" if addr[2] == socket.PACKET_OUTGOING else "rx"] += 1
    print(f"rx {count['rx']} tx {count['tx']}")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "sink":
        sink(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 5 and sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 4 and sys.argv[1] == "udp-sink":
        udp_sink(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "big":
        big(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 6 and sys.argv[1] == "udp-send":
        udp_send(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
