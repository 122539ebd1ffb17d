#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""TCP transfers of the kni shell selftests, checked end to end.

usage: kni_tcp.py sink ADDR PORT
           accept one connection on ADDR:PORT, read it to the end and
           print "BYTES SHA256" of what arrived
       kni_tcp.py send ADDR PORT FILE
           connect to ADDR:PORT (retrying while the sink starts) and
           send FILE

The budgets are generous: a debug kernel under emulation is slow, and a
correct run never comes near them.
"""

import hashlib
import socket
import sys
import time

TIMEOUT = 120


def sink(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    s.settimeout(TIMEOUT)
    c, _ = s.accept()
    c.settimeout(TIMEOUT)
    h, n = hashlib.sha256(), 0
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        h.update(b)
        n += len(b)
    print(n, h.hexdigest())


def send(addr, port, path):
    for _ in range(100):
        try:
            s = socket.create_connection((addr, port), timeout=TIMEOUT)
            break
        except OSError:
            time.sleep(0.2)
    else:
        sys.exit("cannot connect to %s:%d" % (addr, port))
    with open(path, "rb") as f:
        s.sendall(f.read())
    s.shutdown(socket.SHUT_WR)
    s.close()


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "sink":
        sink(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 5 and sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
