"""The flows the transmit-choice comparison sends (issue 19, section 2):
TCP and UDP over IPv4 and IPv6, ICMP echo, IPv4 fragments (first and
later), GRE, GRE carrying Ethernet, IPIP, VXLAN, IPv6 behind a hop-by-hop
header, ARP, frames through two VLAN devices on the bond, and frames whose
VLAN tag a raw socket wrote in-band. Each frame carries a marker, so the
far side knows which flow it is whatever else crosses the wire.

Run inside the namespace of xmit_choice.py (the guest's and the host's
Python, stdlib only): sends every flow once through an AF_PACKET socket on
its device and prints, as JSON, which far end (p0, p1, p2) saw each flow.

Usage: python3 xmit_flows.py MEMBER_COUNT [--vlan-in-band]
"""
from __future__ import annotations

import ipaddress
import json
import re
import select
import socket
import struct
import sys
import time

VLANS = (100, 3001)
ETH_P_ALL, ETH_P_IP, ETH_P_IPV6, ETH_P_ARP, ETH_P_8021Q, ETH_P_TEB = 0x0003, 0x0800, 0x86DD, 0x0806, 0x8100, 0x6558
MARK = re.compile(rb"<<(\d{4})>>")
PACKET_OUTGOING = 4
QUIET = 1.5          # seconds without a marked frame: whatever arrives has arrived (TCG is slow)
WAIT_CAP = 15.0

SRC_MACS = ("02:11:22:33:44:01", "00:16:3e:aa:bb:05", "52:54:00:12:34:07", "02:00:00:00:00:0c",
            "0a:bc:de:f0:12:3f")
DST_MACS = ("02:00:00:00:01:01", "02:00:00:00:01:02", "00:16:3e:00:00:09", "52:54:00:ab:cd:ee")


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ether(dst: str, src: str, proto: int, body: bytes) -> bytes:
    return _mac(dst) + _mac(src) + struct.pack("!H", proto) + body


def ipv4(src: str, dst: str, proto: int, payload: bytes, *, ident: int = 1, flags: int = 0, offset: int = 0) -> bytes:
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, (flags << 13) | offset, 64, proto, 0,
                       ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return head[:10] + struct.pack("!H", _csum(head)) + head[12:] + payload


def ipv6(src: str, dst: str, next_header: int, payload: bytes) -> bytes:
    return (struct.pack("!IHBB", 6 << 28, len(payload), next_header, 64) + ipaddress.IPv6Address(src).packed
            + ipaddress.IPv6Address(dst).packed + payload)


def udp(sport: int, dport: int, data: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(sport: int, dport: int, data: bytes) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0) + data


def icmp_echo(ident: int, seq: int, data: bytes, kind: int = 8) -> bytes:
    return struct.pack("!BBHHH", kind, 0, 0, ident, seq) + data


def gre(proto: int, inner: bytes) -> bytes:
    return struct.pack("!HH", 0, proto) + inner


def arp(src_mac: str, src_ip: str, dst_ip: str) -> bytes:
    return (struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, 1) + _mac(src_mac) + ipaddress.IPv4Address(src_ip).packed
            + bytes(6) + ipaddress.IPv4Address(dst_ip).packed)


def flows() -> list[tuple[str, str, bytes]]:
    """(name, device, frame) for every flow; the frame's marker is added by send()."""
    out: list[tuple[str, str, bytes]] = []

    def add(name, frame_of, device="bond0"):
        i = len(out)
        out.append((name, device, frame_of(i, SRC_MACS[i % len(SRC_MACS)], DST_MACS[i % len(DST_MACS)])))

    for k in range(6):
        add(f"tcp4 {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_IP, ipv4(
            f"10.0.0.{1 + k}", f"10.0.1.{(37 * k) % 250 + 1}", 6, tcp(40000 + 37 * k, 80 + k, b""))))
        add(f"udp4 {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_IP, ipv4(
            f"10.0.2.{9 + 3 * k}", "10.0.3.1", 17, udp(5000 + 11 * k, 53, b""))))
    for k in range(4):
        add(f"tcp6 {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_IPV6, ipv6(
            f"fd00::{k + 1:x}", f"fd00:1::{7 * k + 2:x}", 6, tcp(33000 + k, 443, b""))))
        add(f"udp6 {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_IPV6, ipv6(
            "fd00::1", f"fd00:2::{k + 5:x}", 17, udp(6000 + 5 * k, 4000 + k, b""))))
    for k in range(3):
        add(f"icmp4 echo {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_IP, ipv4(
            "10.0.4.1", f"10.0.4.{k + 2}", 1, icmp_echo(0x100 + k, 1, b""))))
    for k in range(2):
        add(f"icmp6 echo {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_IPV6, ipv6(
            "fd00::4", f"fd00::{k + 9:x}", 58, icmp_echo(0x200 + k, 1, b"", kind=128))))
    for k in range(3):        # the first fragment carries the UDP ports, a later one does not
        add(f"frag4 first {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_IP, ipv4(
            "10.0.5.1", f"10.0.5.{k + 2}", 17, udp(7000 + k, 7100 + k, b""), ident=50 + k, flags=1)))
        add(f"frag4 later {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_IP, ipv4(
            "10.0.5.1", f"10.0.5.{k + 2}", 17, b"", ident=50 + k, offset=185)))
    for k in range(4):        # one outer header, inner flows that differ: only encap policies look inside
        add(f"gre4 inner udp {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_IP, ipv4(
            "10.9.0.1", "10.9.0.2", 47, gre(ETH_P_IP, ipv4(f"10.8.{k}.1", f"10.8.{k}.{k + 2}", 17,
                                                        udp(8000 + 3 * k, 8080, b""))))))
    for k in range(3):
        add(f"ipip inner tcp {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_IP, ipv4(
            "10.9.0.1", "10.9.0.3", 4, ipv4(f"10.7.0.{k + 1}", "10.7.1.1", 6, tcp(9000 + k, 22, b"")))))
    for k in range(2):
        add(f"gre-teb inner ether {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_IP, ipv4(
            "10.9.0.1", "10.9.0.4", 47, gre(ETH_P_TEB, ether(DST_MACS[k], SRC_MACS[k + 1], ETH_P_IP, ipv4(
                f"10.6.0.{k + 1}", "10.6.0.9", 17, udp(9100 + k, 9200, b"")))))))
    for k in range(3):        # VXLAN is plain UDP to the dissector: the outer source port decides
        add(f"vxlan {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_IP, ipv4(
            "10.9.0.1", "10.9.0.5", 17, udp(49152 + 101 * k, 4789, bytes([8, 0, 0, 0, 0, 0, 42, 0]) + ether(
                DST_MACS[0], SRC_MACS[k], ETH_P_IP, ipv4(f"10.5.0.{k + 1}", "10.5.0.9", 17, udp(1, 2, b"")))))))
    for k in range(2):        # a hop-by-hop header in front of TCP
        add(f"tcp6 behind hop-by-hop {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_IPV6, ipv6(
            f"fd00::{k + 20:x}", "fd00:3::1", 0, bytes([6, 0, 1, 4, 0, 0, 0, 0]) + tcp(34000 + k, 80, b""))))
    for k in range(3):
        add(f"arp {k}", lambda i, s, d, k=k: ether("ff:ff:ff:ff:ff:ff", s, ETH_P_ARP, arp(s, "10.0.6.1",
                                                                                            f"10.0.6.{k + 2}")))
    for vlan in VLANS:        # through a VLAN device: the kernel bond sees the tag offloaded
        for k in range(3):
            add(f"vlan{vlan} udp4 {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_IP, ipv4(
                f"10.1.0.{k + 1}", "10.1.1.1", 17, udp(5100 + 13 * k, 53, b""))), f"bond0.{vlan}")
        add(f"vlan{vlan} tcp6", lambda i, s, d: ether(d, s, ETH_P_IPV6, ipv6(
            "fd01::1", "fd01::2", 6, tcp(35000, 80, b""))), f"bond0.{vlan}")
        add(f"vlan{vlan} arp", lambda i, s, d: ether("ff:ff:ff:ff:ff:ff", s, ETH_P_ARP, arp(
            s, "10.1.0.1", "10.1.0.9")), f"bond0.{vlan}")
    for k in range(3):        # a tag a raw socket wrote into the data (see RAW_TAG in xmit_choice.py)
        add(f"raw-tag vlan{VLANS[k % 2]} udp4 {k}", lambda i, s, d, k=k: ether(d, s, ETH_P_8021Q, struct.pack(
            "!HH", VLANS[k % 2], ETH_P_IP) + ipv4(f"10.2.0.{k + 1}", "10.2.1.1", 17, udp(5200 + 7 * k, 53, b""))))
    return out


def marked(frame: bytes, index: int) -> bytes:
    return frame + b"<<%04d>>" % index


def tagged(frame: bytes, vlan: int) -> bytes:
    """The frame as a VLAN device on a TAP hands it over: the tag in-band."""
    return frame[:12] + struct.pack("!HH", ETH_P_8021Q, vlan) + frame[12:]


def send_and_see(members: int, vlan_devices: bool) -> dict[str, list[str]]:
    """Sends every flow once; flow name -> the far ends (p0...) that saw it.
    Without vlan_devices (a kernel without 8021q, as on the CI host) a VLAN
    device's flow goes to bond0 with its tag in-band, which is exactly what a
    VLAN device on softbond's TAP would hand over."""
    ears = {}
    for i in range(members):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sock.bind((f"p{i}", 0))
        sock.setblocking(False)
        ears[sock] = f"p{i}"
    table = flows()
    senders: dict[str, socket.socket] = {}
    for index, (name, device, frame) in enumerate(table):
        if not vlan_devices and device != "bond0":
            device, frame = "bond0", tagged(frame, int(device.split(".")[1]))
        if device not in senders:
            senders[device] = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        proto = struct.unpack_from("!H", frame, 12)[0]
        senders[device].sendto(marked(frame, index), (device, proto))
    seen: dict[str, list[str]] = {name: [] for name, _, _ in table}
    start = last = time.monotonic()
    while time.monotonic() - start < WAIT_CAP and not all(seen.values()) \
            and not (any(seen.values()) and time.monotonic() - last > QUIET):
        ready, _, _ = select.select(list(ears), [], [], 0.2)
        for sock in ready:
            while True:
                try:
                    data, address = sock.recvfrom(65536)
                except BlockingIOError:
                    break
                found = MARK.search(data)
                if found and address[2] != PACKET_OUTGOING and int(found.group(1)) < len(table):
                    seen[table[int(found.group(1))][0]].append(ears[sock])
                    last = time.monotonic()
    return seen


if __name__ == "__main__":
    json.dump(send_and_see(int(sys.argv[1]), "--vlan-in-band" not in sys.argv), sys.stdout)
