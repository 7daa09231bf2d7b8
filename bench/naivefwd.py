"""A naive one-frame-per-syscall Python forwarder: the floor that softbond's
Python data path is compared against in bench/datapath.py.

    naivefwd.py TAP MEMBER ADDRESS/PREFIX

Run inside a network namespace (ip netns exec ...). Creates TAP (IFF_TAP |
IFF_NO_PI: no virtio-net header, so no offloads: every frame is at most
MTU-sized and carries full checksums), gives it MEMBER's MAC and ADDRESS,
and moves frames with two blocking threads:

    TAP read()  -> AF_PACKET send() on MEMBER
    AF_PACKET recv() on MEMBER -> TAP write()

one frame per system call, no batching, no epoll, no vnet header. The
kernel's own stack is kept off MEMBER by a drop program on its tc ingress
(softbond.kernel.isolate; AF_PACKET sees frames before tc ingress runs).

Frames arriving on MEMBER with a partial checksum (a sender whose veth has
tx checksum offload on) reach the TAP with that checksum unfinished and the
stack drops them: the caller turns tx offload off on the far sender for the
peer -> TAP direction. Prints "ready" on stdout once forwarding; runs until
killed.
"""
import fcntl
import os
import socket
import struct
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
ETH_P_ALL = 0x0003
SOL_PACKET, PACKET_IGNORE_OUTGOING = 263, 23


def isolate(member: str) -> None:
    from pyroute2 import IPRoute

    from softbond.kernel import isolate as iso
    with IPRoute() as ipr:
        idx = ipr.link_lookup(ifname=member)[0]
        warning = iso.apply(ipr, member, idx, False)
    if warning:
        print(f"naivefwd: {warning}", file=sys.stderr)


def main() -> int:
    tap_name, member, address = sys.argv[1:4]
    with open(f"/sys/class/net/{member}/address") as f:
        mac = f.read().strip()
    tap = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    fcntl.ioctl(tap, TUNSETIFF, struct.pack("16sH22x", tap_name.encode(), IFF_TAP | IFF_NO_PI))
    isolate(member)
    for argv in (["ip", "link", "set", tap_name, "address", mac],
                 ["ip", "addr", "add", address, "dev", tap_name],
                 ["ip", "link", "set", member, "up"],
                 ["ip", "link", "set", tap_name, "up"]):
        subprocess.run(argv, check=True)
    # Bound once the member is up (bound to a down device, the socket
    # reports ENETDOWN).
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    sock.bind((member, 0))

    def egress() -> None:          # TAP -> member
        read, send = os.read, sock.send
        while True:
            try:
                send(read(tap, 65536))
            except OSError:
                pass

    def ingress() -> None:         # member -> TAP
        recv, write = sock.recv, os.write
        while True:
            try:
                write(tap, recv(65536))
            except OSError:
                pass

    threads = [threading.Thread(target=f, daemon=True) for f in (egress, ingress)]
    for t in threads:
        t.start()
    print("ready", flush=True)
    for t in threads:
        t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
