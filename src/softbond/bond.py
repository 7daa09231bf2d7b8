"""One bond: its device, members, mode runner, link monitors and the
forwarding snapshot the data path reads.

Everything here runs on the control plane's asyncio loop. The data path
(datapath.DataPath) only ever sees immutable Snapshots published by
`_publish`.
"""
from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
import os
import socket
import time
from dataclasses import dataclass

from . import __version__, runtime
from .config.model import BondConfig
from .config.names import validate_ifname
from .config.options import (
    BOND_MODE_ACTIVEBACKUP, BOND_MODE_ALB, BOND_MODE_TLB, MODE_NAMES, BondOptions, change_option, options_to_json,
)
from . import bonddev
from .modes import make_runner
from .modes.active_backup import choose_active
from .modes.alb import Alb
from .modes.ieee8023ad import Ieee8023ad
from .monitors import link as linkmon
from .monitors.arp import ArpJudge, probe_frames
from .ports import links as linkops
from .ports import netlink, packet
from .wire import arp as wire_arp
from .wire.ethernet import mac_to_bytes
from .wire import ndisc as wire_ndisc

log = logging.getLogger("softbond")

ETH_P_ARP = 0x0806
ETH_P_SLOW = 0x8809
LISTENER_BATCH = 64   # frames a control-plane listener reads per wakeup
ETH_P_IPV6 = 0x86DD
VNET_NONE = bytes(10)
FAIL_OVER_MAC_NONE, FAIL_OVER_MAC_ACTIVE, FAIL_OVER_MAC_FOLLOW = 0, 1, 2
EVENT_HISTORY = 500
SOCKET_CLOSE_GRACE = 0.2


class BondError(Exception):
    """A refused request; the message names the bond and the culprit."""


@dataclass
class Member:
    name: str
    ifindex: int
    original: linkops.LinkState
    sock: socket.socket
    link: linkmon.LinkState
    carrier: bool
    speed: int = 0
    duplex: int = 0
    prio: int = 0
    arp_ok: bool = True
    listener: socket.socket | None = None
    ns_listener: socket.socket | None = None
    mac_bytes: bytes = bytes(6)   # current MAC (tlb/alb give members their own)
    slow_listener: socket.socket | None = None   # 802.3ad: LACPDUs and Markers
    send_control: object = None   # sends one Ethernet frame (GARP, LACPDU...) on this member

    @property
    def lacp_mac(self) -> bytes:
        """LACPDUs leave with the member's permanent MAC, as the kernel's do."""
        return mac_to_bytes(self.perm_hwaddr)

    @property
    def send(self):
        return self.sock.send

    @property
    def up(self) -> bool:
        return self.link.state == linkmon.UP

    @property
    def perm_hwaddr(self) -> str:
        return self.original.mac


class Bond:
    def __init__(self, config: BondConfig, links: linkops.Links) -> None:
        self.name = config.name
        self.config = config
        self.opts: BondOptions = config.options
        self.runner = make_runner(self.opts)
        self.runner.bond_name = self.name
        self._runner_task: asyncio.Task | None = None
        self.links = links
        self.members: list[Member] = []
        self.active: Member | None = None
        self.carrier = False
        self.mac: str | None = config.hwaddr.lower() if config.hwaddr else None
        self.events: collections.deque = collections.deque(maxlen=EVENT_HISTORY)
        self.failovers = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.device: bonddev.PythonDevice | bonddev.EbpfDevice | None = None
        self._bond_arp: socket.socket | None = None
        self._nl: socket.socket | None = None
        self._miimon_task: asyncio.Task | None = None
        self._arp_task: asyncio.Task | None = None
        self._arp: ArpJudge | None = None
        self._arp_rotation = 0
        self._ours_v4: set[bytes] = set()
        self._ours_v6: set[bytes] = set()
        self._notify_task: asyncio.Task | None = None
        self._watched: set[int] = set()
        self._stopped = False
        self._adopted: dict[str, linkops.LinkState] = {}

    # ------------------------------------------------------------------ life
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._adopted = runtime.recover_leftovers(self.name, self.links, adopt=self.config.slaves)
        try:
            self.device, notice = bonddev.choose(self.name, self.opts.datapath, mac=self.mac)
        except RuntimeError as exc:
            raise BondError(str(exc)) from None
        if notice:
            self._event("warning", notice, level=logging.WARNING, prefix=False)
        runtime.write_state(self.name, os.getpid(), [])
        if self.mac:
            self.links.set_mac(self.name, self.mac)
        self._set_carrier(False)
        self.links.set_up(self.name, True)
        for cidr in self.config.addresses:
            self.links.add_address(self.name, cidr)
        self.device.start()
        if isinstance(self.runner, Alb) and self.device.kind == "ebpf":
            # alb's ARP rewriting stays in Python: the programs hand the
            # bond's outgoing ARP to this socket.
            self._bond_arp = self.device.dev.arp_socket()
            self.loop.add_reader(self._bond_arp.fileno(), self._on_bond_arp)
        # SOFTBOND_LINK_EVENTS=0 leaves only the miimon poll (benchmarks
        # compare the two detection paths with it).
        if os.environ.get("SOFTBOND_LINK_EVENTS", "1") != "0":
            self._nl = netlink.open_link_monitor()
            self.loop.add_reader(self._nl.fileno(), self._on_netlink)
        for name in self.config.slaves:
            self.enslave(name)
        if self.config.gateway:
            self.links.add_default_route(self.name, self.config.gateway)
        self._restart_monitors()
        self._start_runner_tick()
        for warning in self.config.warnings:
            self._event("warning", warning, level=logging.WARNING, prefix=False)

    async def stop(self) -> None:
        """Release every member (restoring it) and remove the bond device."""
        if self._stopped:
            return
        self._stopped = True
        for task in (self._miimon_task, self._arp_task, self._notify_task, self._runner_task):
            if task:
                task.cancel()
        if self._nl is not None and self.loop is not None:
            self.loop.remove_reader(self._nl.fileno())
            self._nl.close()
        if self._bond_arp is not None:
            self.loop.remove_reader(self._bond_arp.fileno())
        for member in list(self.members):
            self._detach(member, log_it=False)
        if self.device is not None:
            self.device.close()
        runtime.remove_state(self.name)

    # -------------------------------------------------------------- members
    def enslave(self, name: str) -> None:
        try:
            validate_ifname(name)
        except Exception as exc:
            raise BondError(f"{self.name}: cannot enslave: {exc}") from None
        self._check_enslaveable(name)
        # A member a crashed daemon left bonded keeps its recorded original.
        original = self._adopted.pop(name, None) or self.links.snapshot(name)
        # Record before touching anything: a crash from here on is repaired
        # by the next `softbond up`.
        runtime.write_state(self.name, os.getpid(), [m.original for m in self.members] + [original])
        try:
            member = self._attach(name, original)
        except Exception as exc:
            try:
                self.links.restore(original)
            except linkops.LinkError:
                pass
            runtime.write_state(self.name, os.getpid(), [m.original for m in self.members])
            raise BondError(f"{self.name}: cannot enslave {name}: {exc}") from None
        self.members.append(member)
        if self._arp is not None:
            self._arp.add(name, time.monotonic())
        self._open_listeners(member)
        if isinstance(self.runner, Ieee8023ad):
            self.runner.start(mac_to_bytes(self.mac))
        self.runner.add_member(member, time.monotonic())
        self._reselect()
        state = "an active" if member is self.active else "a backup"
        link = "an up" if member.link.state != linkmon.DOWN else "a down"
        self._event("enslave", f"Enslaving as {state} interface with {link} link", member)
        self._publish()

    def _check_enslaveable(self, name: str) -> None:
        if name == self.name:
            raise BondError(f"{self.name}: cannot enslave the bond to itself")
        if any(m.name == name for m in self.members):
            raise BondError(f"{self.name}: {name} is already a slave of {self.name}")
        if not self.links.exists(name):
            raise BondError(f"{self.name}: cannot enslave {name}: no such interface")
        owner = runtime.owner_of(name, exclude=self.name)
        if owner:
            raise BondError(f"{self.name}: cannot enslave {name}: it is already a slave of {owner}")
        if self.links.master(name):
            raise BondError(f"{self.name}: cannot enslave {name}: it already has a master device")
        if linkops.sysfs(name, "type") != "1":
            raise BondError(f"{self.name}: cannot enslave {name}: not an Ethernet interface")
        if name == "lo":
            raise BondError(f"{self.name}: cannot enslave {name}: loopback")
        addrs = self.links.addresses(name)
        if addrs:
            raise BondError(f"{self.name}: cannot enslave {name}: it has address {addrs[0]}; "
                            "remove its addresses first (the bond holds the IP)")

    def _attach(self, name: str, original: linkops.LinkState) -> Member:
        links = self.links
        linkops.set_disable_ipv6(name, "1")  # a port needs no addresses or DAD of its own
        if self.mac is None:
            self.mac = original.mac
            links.set_mac(self.name, self.mac)
        # Compare with the member as it is now, not as first found: a member
        # adopted after a crash is already set up and must not be reset.
        mac = current_mac = linkops.sysfs(name, "address") or original.mac
        fom = self.opts.fail_over_mac
        if self.runner.unique_macs:
            mac = self._unique_mac_for(original)
            if mac != current_mac:
                links.set_mac(name, mac)
        elif fom == FAIL_OVER_MAC_NONE or (fom == FAIL_OVER_MAC_FOLLOW and not self.members):
            if current_mac != self.mac:
                links.set_up(name, False)
                links.set_mac(name, self.mac)
                mac = self.mac
        tap_mtu = int(linkops.sysfs(self.name, "mtu") or 1500)
        if int(linkops.sysfs(name, "mtu") or original.mtu) != tap_mtu:
            links.set_mtu(name, tap_mtu)
        links.set_up(name, True)
        warning = links.isolate(original)
        if warning:
            log.warning("%s: (slave %s): %s", self.name, name, warning)
        sock, send_control = self.device.open_member(name, original.ifindex, mac_to_bytes(mac))
        carrier = linkops.carrier(name)
        speed, duplex = linkops.speed_duplex(name)
        return Member(name=name, ifindex=original.ifindex, original=original, sock=sock,
                      link=linkmon.LinkState(carrier), carrier=carrier, send_control=send_control,
                      speed=speed or 0, duplex=1 if duplex == "full" else 0, mac_bytes=mac_to_bytes(mac))

    def _unique_mac_for(self, original: linkops.LinkState) -> str:
        """tlb/alb keep one MAC per member (alb_handle_addr_collision_on_attach):
        the first member shares the bond's, which it carries as the active
        one; a later member clashing with the bond or another member takes a
        spare permanent address of the bond's members, or a local one."""
        if not self.members:
            return self.mac
        in_use = {m.mac_bytes for m in self.members} | {mac_to_bytes(self.mac)}
        if mac_to_bytes(original.mac) not in in_use:
            return original.mac
        for perm in [m.perm_hwaddr for m in self.members]:
            if mac_to_bytes(perm) not in in_use:
                return perm
        spare = bytearray(os.urandom(6))
        spare[0] = (spare[0] & 0xFC) | 0x02
        return ":".join(f"{b:02x}" for b in spare)

    def release(self, name: str) -> None:
        member = self._member(name)
        self._detach(member, log_it=True)
        if member is self.active or self.active is None:
            self._reselect()
        self._publish()

    def _detach(self, member: Member, *, log_it: bool) -> None:
        was_active = member is self.active
        self.members.remove(member)
        if was_active:
            self.active = None
        self.runner.remove_member(member, time.monotonic())
        self._publish()
        if self.device is not None:
            self.device.close_member(member.sock, member.ifindex)
        if self._arp is not None:
            self._arp.remove(member.name)
        self._close_listeners(member)
        sock = member.sock
        # The data threads may still hold the previous snapshot for a moment.
        if self.loop is not None and not self._stopped:
            self.loop.call_later(SOCKET_CLOSE_GRACE, sock.close)
        else:
            sock.close()
        if log_it:
            self._event("release", f"Releasing {'active' if was_active else 'backup'} interface", member)
            if self.mac == member.perm_hwaddr and self.members:
                self._event("warning", f"the permanent HWaddr of slave - {member.perm_hwaddr} - is still in use "
                            f"by bond - set the HWaddr of slave to a different address to avoid conflicts",
                            member, level=logging.WARNING)
        if self.runner.unique_macs:
            self._free_perm_mac(member)
        try:
            self.links.restore(member.original)
        except linkops.LinkError as exc:
            self._event("warning", f"could not fully restore: {exc}", member, level=logging.WARNING)
        runtime.write_state(self.name, os.getpid(), [m.original for m in self.members])

    def _switch_datapath(self, datapath: str) -> None:
        """Rebuild the bond device on another data path, keeping members,
        addresses and the gateway; traffic pauses for the rebuild (about
        0.1-0.5 s)."""
        if datapath == "ebpf":   # refuse before tearing anything down
            from . import ebpf
            ok, why = ebpf.available()
            if not ok:
                raise BondError(f"{self.name}: datapath=ebpf: the eBPF data path cannot run here: {why}")
        addresses = self.links.addresses(self.name)
        if self._bond_arp is not None:
            self.loop.remove_reader(self._bond_arp.fileno())
            self._bond_arp = None
        for member in self.members:
            self.device.close_member(member.sock, member.ifindex)
            member.sock.close()
        self.device.close()
        self.device, notice = bonddev.choose(self.name, datapath, mac=self.mac)
        if notice:
            self._event("warning", notice, level=logging.WARNING, prefix=False)
        if self.mac:
            self.links.set_mac(self.name, self.mac)
        self.device.set_carrier(self.carrier)
        self.links.set_up(self.name, True)
        for cidr in addresses:
            self.links.add_address(self.name, cidr)
        if self.config.gateway:
            self.links.add_default_route(self.name, self.config.gateway)
        self.device.start()
        for member in self.members:
            member.sock, member.send_control = self.device.open_member(member.name, member.ifindex,
                                                                       member.mac_bytes)
        if isinstance(self.runner, Alb) and self.device.kind == "ebpf":
            self._bond_arp = self.device.dev.arp_socket()
            self.loop.add_reader(self._bond_arp.fileno(), self._on_bond_arp)
        self._event("option", f"data path switched to {self.device.kind}")
        self._publish()

    def _free_perm_mac(self, leaving: Member) -> None:
        """The leaving member gets its own MAC back: whoever borrowed it takes
        the address the leaving member was using instead."""
        perm = mac_to_bytes(leaving.perm_hwaddr)
        for other in self.members:
            if other.mac_bytes == perm and leaving.mac_bytes != perm:
                self._set_member_mac(other, leaving.mac_bytes)

    def _set_member_mac(self, member: Member, mac: bytes) -> None:
        try:
            self.links.set_mac(member.name, mac.hex(":"))
            member.mac_bytes = mac
        except linkops.LinkError as exc:
            self._event("warning", f"cannot set MAC address: {exc}", member, level=logging.WARNING)

    def _member(self, name: str) -> Member:
        for member in self.members:
            if member.name == name:
                return member
        raise BondError(f"{self.name}: {name} is not a slave of {self.name}")

    def set_active(self, name: str) -> None:
        """ifenslave -c / sysfs active_slave: force a member active."""
        if not self._uses_primary():
            raise BondError(f"{self.name}: option active_slave: mode dependency failed, not supported in mode "
                            f"{MODE_NAMES[self.opts.mode]}({self.opts.mode})")
        member = self._member(name)
        if not member.up:
            raise BondError(f"{self.name}: (slave {name}): Setting {name} as active slave failed: link is not up")
        if member is not self.active:
            self._change_active(member)
            self._publish()

    def set_option(self, name: str, value: str) -> list[str]:
        # The data path can be switched live (the bond device is rebuilt);
        # everything else follows the kernel's rules for a running bond.
        live_datapath = name.strip() == "datapath"
        try:
            new, warnings = change_option(self.name, self.opts, name, value,
                                          has_slaves=bool(self.members), is_up=not live_datapath)
        except ValueError as exc:
            raise BondError(str(exc)) from None
        if live_datapath and new.datapath != self.opts.datapath:
            self._switch_datapath(new.datapath)
        if new.mode != self.opts.mode:
            self.runner = make_runner(new)
            self.active = None
            self._start_runner_tick()
        else:
            self.runner.configure(new)
        if name == "primary" and new.primary:
            try:
                validate_ifname(new.primary)
            except Exception as exc:
                raise BondError(f"{self.name}: option primary: {exc}") from None
        self.opts = new
        for warning in warnings:
            self._event("warning", warning, level=logging.WARNING, prefix=False)
        self._event("option", f"option {name} set to {value}")
        if name in ("miimon", "arp_interval", "arp_ip_target", "ns_ip6_target", "arp_validate",
                    "arp_all_targets", "arp_missed_max"):
            self._restart_monitors()
        if name in ("primary", "primary_reselect"):
            self._reselect(force_primary=(name == "primary"))
        self._publish()
        return warnings

    # ------------------------------------------------------- link monitoring
    def _on_netlink(self) -> None:
        now = time.monotonic()
        for event in netlink.read_link_events(self._nl):
            if event.ifindex == 0:  # events were lost: look at every member
                for member in self.members:
                    self._observe(member, linkops.carrier(member.name), now)
                continue
            for member in self.members:
                if member.ifindex == event.ifindex:
                    if event.deleted:
                        self._event("warning", "interface was removed, releasing it", member, level=logging.WARNING)
                        self.release(member.name)
                    else:
                        # The message may be stale (queued before a later
                        # change): read the carrier as it is now.
                        self._observe(member, linkops.carrier(member.name), now)
                    break

    def _observe(self, member: Member, carrier: bool, now: float) -> None:
        if carrier != member.carrier:
            member.carrier = carrier
            if carrier:
                speed, duplex = linkops.speed_duplex(member.name)
                member.speed, member.duplex = speed or 0, 1 if duplex == "full" else 0
        role = ("active " if member is self.active else "backup ") if self._uses_primary() else ""
        change = member.link.observe(carrier and member.arp_ok, now, self.opts.updelay / 1000,
                                     self.opts.downdelay / 1000, role)
        self._apply(member, change)

    def _apply(self, member: Member, change: linkmon.Change | None) -> None:
        if change is None:
            return
        message = change.message
        if message == "link status definitely up":
            speed = f"{member.speed} Mbps" if member.speed else "Unknown"
            message += f", {speed} {'full' if member.duplex else 'half'} duplex"
        self._event("link", message, member,
                    level=logging.INFO if member.link.state != linkmon.DOWN else logging.WARNING)
        if member.link.state in (linkmon.FAIL, linkmon.BACK):
            self.loop.call_at(self.loop.time() + (member.link.deadline - time.monotonic()) + 0.0005,
                              self._expire, member)
        if change.settled:
            self.runner.link_changed(member, time.monotonic())
            self._reselect()
            self._publish()

    def _expire(self, member: Member) -> None:
        if member in self.members:
            self._apply(member, member.link.expire(time.monotonic()))

    async def _miimon(self, interval: float) -> None:
        """The miimon poll: a safety net under the netlink events."""
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for member in list(self.members):
                self._observe(member, linkops.carrier(member.name), now)

    def _restart_monitors(self) -> None:
        for task in (self._miimon_task, self._arp_task):
            if task:
                task.cancel()
        self._miimon_task = self._arp_task = None
        for member in self.members:
            self._close_listeners(member)
            member.arp_ok = True
        self._arp = None
        if self.opts.miimon > 0:
            self._miimon_task = self.loop.create_task(self._miimon(self.opts.miimon / 1000))
        if self.opts.arp_interval > 0 and (self.opts.arp_ip_target or self.opts.ns_ip6_target):
            now = time.monotonic()
            targets = [socket.inet_aton(t) for t in self.opts.arp_ip_target]
            targets += [socket.inet_pton(socket.AF_INET6, t) for t in self.opts.ns_ip6_target]
            self._arp = ArpJudge(self.opts.arp_interval / 1000, self.opts.arp_missed_max,
                                 self.opts.arp_validate, bool(self.opts.arp_all_targets), targets)
            for member in self.members:
                self._arp.add(member.name, now)
            self._arp_task = self.loop.create_task(self._arp_monitor())
        for member in self.members:
            self._open_listeners(member)

    def _start_runner_tick(self) -> None:
        if self._runner_task:
            self._runner_task.cancel()
        self._runner_task = None
        if self.runner.tick_interval and self.loop is not None:
            self._runner_task = self.loop.create_task(self._runner_tick(self.runner))

    async def _runner_tick(self, runner) -> None:
        """The mode's periodic work: tlb rebalancing, alb learning frames and
        client updates, the 802.3ad state machines."""
        while True:
            await asyncio.sleep(runner.tick_interval)
            now = time.monotonic()
            self._runner_output(runner.tick(now, list(self.members)))
            if self.device is not None and self.device.tick(runner, now):
                self._publish()

    def _runner_output(self, frames) -> None:
        runner = self.runner
        for member, frame in frames:
            if member in self.members:
                self._send_control(member, frame)
        for name, message in runner.drain_events():
            member = next((m for m in self.members if m.name == name), None)
            self._event("lacp", message, member, level=logging.WARNING if "No 802.3ad" in message
                        or "different" in message or "illegal" in message else logging.INFO)
        if runner.dirty:
            runner.dirty = False
            self._publish()
            self._update_carrier()

    def _on_bond_arp(self) -> None:
        """alb on eBPF: an ARP frame our stack sent, handed over by the
        programs; the rlb picks the member and rewrites it, as in Python."""
        runner = self.runner
        for _ in range(LISTENER_BATCH):
            try:
                frame = self._bond_arp.recv(2048)
            except OSError:
                return
            buf = bytearray(VNET_NONE + frame)
            member = runner.rlb.arp_xmit(memoryview(buf), time.monotonic())
            if member is None or member is self.active or member not in self.members:
                member = self.active
            elif member is not self.active:
                buf[16:22] = member.mac_bytes
            if member is not None:
                self._send_control(member, bytes(buf[10:]))

    def _on_slow(self, member: Member) -> None:
        """LACPDUs and Marker PDUs from a member, for the 802.3ad runner. The
        protocol object counts, rate-limits and refuses bad frames itself."""
        runner = self.runner
        for _ in range(LISTENER_BATCH):   # a flood must not starve the event loop
            if member.slow_listener is None:
                return
            try:
                frame = member.slow_listener.recv(2048)
            except OSError:
                break
            if isinstance(runner, Ieee8023ad):
                self._runner_output(runner.receive(member, frame, time.monotonic()))

    def _open_listeners(self, member: Member) -> None:
        try:
            if (self._arp is not None and self.opts.arp_ip_target) or isinstance(self.runner, Alb):
                member.listener = packet.open_listener(member.name, ETH_P_ARP)
                self.loop.add_reader(member.listener.fileno(), self._on_arp, member)
            if isinstance(self.runner, Ieee8023ad) and member.slow_listener is None:
                member.slow_listener = packet.open_listener(member.name, ETH_P_SLOW)
                self.loop.add_reader(member.slow_listener.fileno(), self._on_slow, member)
            if self._arp is not None and self.opts.ns_ip6_target:
                member.ns_listener = packet.open_listener(member.name, ETH_P_IPV6)
                self.loop.add_reader(member.ns_listener.fileno(), self._on_na, member)
        except OSError as exc:
            self._event("warning", f"cannot listen for ARP/NS replies: {exc}", member, level=logging.WARNING)

    def _close_listeners(self, member: Member) -> None:
        for attr in ("listener", "ns_listener", "slow_listener"):
            sock = getattr(member, attr)
            if sock is not None:
                self.loop.remove_reader(sock.fileno())
                sock.close()
                setattr(member, attr, None)

    def _our_ips(self, family: int) -> set[bytes]:
        out = set()
        for cidr in self.links.addresses(self.name, scope_global_only=False):
            ip = ipaddress.ip_interface(cidr).ip
            if ip.version == (4 if family == socket.AF_INET else 6):
                out.add(ip.packed)
        return out

    def _on_arp(self, member: Member) -> None:
        ours = self._ours_v4
        now = time.monotonic()
        # At most a batch per wakeup: an ARP flood must not starve the loop.
        for _ in range(LISTENER_BATCH):
            if member.listener is None:
                return
            try:
                frame = member.listener.recv(2048)
            except OSError:
                return
            parsed = wire_arp.parse_arp(frame)
            if parsed is None:
                continue
            if self._arp is not None:
                self._arp.saw_reply(member.name, parsed.sender_ip, parsed.target_ip, ours,
                                    member is self.active, now)
            if isinstance(self.runner, Alb):
                self.runner.rlb.arp_recv(parsed.op, parsed.sender_mac, parsed.sender_ip, parsed.target_ip)

    def _on_na(self, member: Member) -> None:
        ours = self._ours_v6
        now = time.monotonic()
        for _ in range(LISTENER_BATCH):
            if member.ns_listener is None:
                return
            try:
                frame = member.ns_listener.recv(2048)
            except OSError:
                return
            na = wire_ndisc.parse_na(frame)
            if na is not None and self._arp is not None:
                # An NA answering our NS comes from the target itself.
                self._arp.saw_reply(member.name, na.target, next(iter(ours), b""), ours,
                                    member is self.active, now)

    async def _arp_monitor(self) -> None:
        interval = self.opts.arp_interval / 1000
        while True:
            self._arp_tick(time.monotonic())
            await asyncio.sleep(interval)

    def _arp_tick(self, now: float) -> None:
        # Our addresses, refreshed once per interval rather than per frame:
        # a flood of ARP must not turn into a flood of netlink dumps.
        self._ours_v4 = self._our_ips(socket.AF_INET)
        self._ours_v6 = self._our_ips(socket.AF_INET6)
        judge = self._arp
        for member in list(self.members):
            active = member is self.active
            judge.saw_counters(member.name, linkops.counters(member.name)["rx_packets"], active, now)
            alive = judge.alive(member.name, active, now)
            if alive != member.arp_ok:
                member.arp_ok = alive
                self._observe(member, member.carrier, now)
        prober = self.active
        if prober is None:
            candidates = [m for m in self.members if m.carrier]
            if candidates:
                prober = candidates[self._arp_rotation % len(candidates)]
                self._arp_rotation += 1
        if prober is None:
            return
        v4 = [c for c in self.links.addresses(self.name) if ":" not in c]
        v6 = [c for c in self.links.addresses(self.name, scope_global_only=False) if ":" in c]
        for frame in probe_frames(mac_to_bytes(self.mac), v4, list(self.opts.arp_ip_target),
                                  v6, list(self.opts.ns_ip6_target)):
            self._send_control(prober, frame)

    # ------------------------------------------------------ active selection
    def _uses_primary(self) -> bool:
        return self.opts.mode in (BOND_MODE_ACTIVEBACKUP, BOND_MODE_TLB, BOND_MODE_ALB)

    def _reselect(self, force_primary: bool = False) -> None:
        if not self.runner.uses_active:
            self._publish()
            self._update_carrier()
            return
        primary = next((m for m in self.members if m.name == self.opts.primary), None)
        new = choose_active(self.members, self.active, primary, self.opts.primary_reselect, force_primary)
        if new is None:
            back = [m for m in self.members if m.link.state == linkmon.BACK]
            if back:
                new = min(back, key=lambda m: m.link.deadline)
                early = new.link.promote_early(time.monotonic())
                self._event("link", f"making interface the new active one {early} ms earlier", new)
                self._change_active(new, announce=False)
                return
        if new is not self.active:
            self._change_active(new)
        else:
            self._update_carrier()

    def _change_active(self, new: Member | None, announce: bool = True) -> None:
        old = self.active
        self.active = new
        if new is not None:
            if announce:
                self._event("failover" if old is not None else "active", "making interface the new active one", new)
            if self.runner.unique_macs:
                self._move_bond_mac(old, new)
            else:
                self._apply_fail_over_mac(old, new)
            if old is not None:
                self.failovers += 1
        self._publish()
        self._update_carrier()
        if new is not None and not self.runner.unique_macs:
            self._schedule_peer_notify(new)

    def _move_bond_mac(self, old: Member | None, new: Member) -> None:
        """tlb/alb (bond_alb_handle_active_change): the active member carries
        the bond's MAC. The member holding it swaps MACs with the new one,
        then both send learning frames so the switch moves them at once."""
        bond_mac = mac_to_bytes(self.mac)
        if new.mac_bytes == bond_mac:
            return
        holder = next((m for m in self.members if m.mac_bytes == bond_mac and m is not new), None)
        previous = new.mac_bytes
        self._set_member_mac(new, bond_mac)
        if holder is not None:
            self._set_member_mac(holder, previous)
        moved = [m for m in (new, holder) if m is not None]
        if isinstance(self.runner, Alb):
            self.runner.rlb.member_changed_mac(*moved)
        from .modes.alb import learning_frame
        for member in moved:
            for _ in range(2):
                self._send_control(member, learning_frame(member.mac_bytes))

    def _apply_fail_over_mac(self, old: Member | None, new: Member) -> None:
        fom = self.opts.fail_over_mac
        try:
            if fom == FAIL_OVER_MAC_ACTIVE:
                current = linkops.sysfs(new.name, "address")
                if current and current != self.mac:
                    self.mac = current
                    self.links.set_mac(self.name, current)
            elif fom == FAIL_OVER_MAC_FOLLOW and old is not None and old in self.members:
                new_mac = linkops.sysfs(new.name, "address")
                self.links.set_mac(new.name, self.mac)
                if new_mac and new_mac != self.mac:
                    self.links.set_mac(old.name, new_mac)
            elif fom == FAIL_OVER_MAC_FOLLOW:
                self.links.set_mac(new.name, self.mac)
        except linkops.LinkError as exc:
            self._event("warning", f"fail_over_mac: {exc}", new, level=logging.WARNING)

    def _update_carrier(self) -> None:
        carrier = self.runner.carrier([m for m in self.members if m.up], self.active)
        if carrier == self.carrier:
            return
        self._set_carrier(carrier)
        if carrier:
            if self.runner.uses_active:
                self._event("carrier", "active interface up!")
            else:
                self._event("carrier", "link status up")
        else:
            self._event("carrier", "now running without any active interface!", level=logging.ERROR)

    def _set_carrier(self, on: bool) -> None:
        self.carrier = on
        if self.device is not None:
            self.device.set_carrier(on)

    # -------------------------------------------------------- peer notifying
    def _schedule_peer_notify(self, member: Member) -> None:
        if self._notify_task:
            self._notify_task.cancel()
        count = self.opts.num_grat_arp
        if count <= 0:
            return
        gap = (self.opts.peer_notif_delay or self.opts.miimon or self.opts.arp_interval or 0) / 1000
        self._notify_task = self.loop.create_task(self._peer_notify(member, count, gap))

    async def _peer_notify(self, member: Member, count: int, gap: float) -> None:
        """Gratuitous ARP and unsolicited NA so the switch and the peers learn
        at once where our MAC now lives (num_grat_arp / num_unsol_na)."""
        for i in range(count):
            if member is not self.active:
                return
            mac = mac_to_bytes(self.mac)
            for cidr in self.links.addresses(self.name, scope_global_only=False):
                ip = ipaddress.ip_interface(cidr).ip
                if ip.version == 4:
                    frame = wire_arp.build_gratuitous_arp(mac, str(ip))
                else:
                    frame = wire_ndisc.build_unsolicited_na(mac, str(ip))
                self._send_control(member, frame)
            if i + 1 < count:
                await asyncio.sleep(gap)

    def _send_control(self, member: Member, frame: bytes) -> None:
        try:
            member.send_control(frame)
        except OSError:
            pass

    # --------------------------------------------------------------- publish
    def _publish(self) -> None:
        if self.device is None:
            return
        self.device.publish(self.runner, self.members, [m for m in self.members if m.up], self.active,
                            mac_to_bytes(self.mac) if self.mac else bytes(6))

    # ---------------------------------------------------------------- events
    def _event(self, kind: str, message: str, member: Member | None = None, *,
               level: int = logging.INFO, prefix: bool = True) -> None:
        if member is not None:
            text = f"{self.name}: (slave {member.name}): {message}"
        elif prefix:
            text = f"{self.name}: {message}"
        else:
            text = message
        log.log(level, "%s", text)
        self.events.append({"time": time.time(), "kind": kind, "slave": member.name if member else None,
                            "message": text})

    # ---------------------------------------------------------------- status
    def _lacp_running(self) -> bool:
        return isinstance(self.runner, Ieee8023ad) and self.runner.system is not None

    def _port_info(self, member: Member) -> dict | None:
        if not self._lacp_running():
            return None
        try:
            return self.runner.system.port_info(member.name)
        except KeyError:
            return None

    def _slave_state(self, member: Member) -> str:
        """sysfs slave state: only active-backup has backups; in the load
        balancing modes (tlb and alb included, bond_is_lb) every member is
        active."""
        if self.opts.mode == BOND_MODE_ACTIVEBACKUP:
            return "active" if member is self.active else "backup"
        if self._lacp_running():
            return "active" if self.runner.system.collecting(member.name) else "backup"
        return "active"

    def status(self) -> dict:
        slaves = []
        for m in self.members:
            speed, duplex = linkops.speed_duplex(m.name)
            slaves.append({
                "name": m.name,
                "mii_status": m.link.state,
                "speed_mbps": speed,
                "duplex": duplex,
                "link_failure_count": m.link.failures,
                "perm_hwaddr": m.perm_hwaddr,
                "queue_id": 0,
                "state": self._slave_state(m),
                "hwaddr": m.mac_bytes.hex(":"),
                "carrier": m.carrier,
                "counters": linkops.counters(m.name),
                "ad": self._port_info(m),
            })
        return {
            "bond": self.name,
            "softbond_version": __version__,
            "driver_version": os.uname().release,
            "mode": MODE_NAMES[self.opts.mode],
            "mode_id": self.opts.mode,
            "options": options_to_json(self.opts),
            "mii_status": "up" if self.carrier else "down",
            "active_slave": self.active.name if self.active else None,
            "datapath": self.device.kind if self.device else None,
            "pid": os.getpid(),
            "hwaddr": self.mac,
            "addresses": self.links.addresses(self.name),
            "failovers": self.failovers,
            "rx_dropped_inactive": self.device.rx_dropped(self.members) if self.device else 0,
            "slaves": slaves,
            "ad_info": self.runner.system.ad_info() if self._lacp_running() else None,
            "alb_clients": self.runner.rlb.to_json() if isinstance(self.runner, Alb) else None,
            "events": list(self.events)[-20:],
        }
