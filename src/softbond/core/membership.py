"""Members joining and leaving a bond: the checks before enslaving, setting
an interface up as a port (MAC, MTU, isolation, data-path socket), putting
it back as it was on release, and the per-member MACs of tlb/alb.

`Membership` is the bond's object for it: it works on the core's members
and is given the bond's other parts (link health, limits, listeners,
failover, inheritance) in its constructor. The link messages about members
come here (`handle_link_events`): a member removed, renamed or given
another MAC is followed, its carrier handed to link health.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

from ..kernel import rundir as runtime
from ..datapath.devices import is_peer_name
from ..config.names import validate_ifname
from .errors import BondError
from .failover import FAIL_OVER_MAC_FOLLOW, FAIL_OVER_MAC_NONE
from ..monitors import link as linkmon
from ..kernel import links as linkops
from ..kernel.netlink import LinkEvent
from ..wire.ethernet import mac_to_bytes

if TYPE_CHECKING:  # the parts import Member from here
    from ..config.model import BondConfig
    from ..datapath.protocols import Device
    from .decide import Action, BondCore
    from .failover import Failover
    from .health import LinkHealth
    from .inherit import Inheritance
    from .limits import DeviceLimits
    from .listeners import ControlListeners
    from .pathprobe import PathProbe
    from .ports import Clock, LinksPort

log = logging.getLogger("softbond")

SOCKET_CLOSE_GRACE = 0.2


@dataclass
class Member:
    """A bonded interface: its state before enslaving (restored on release),
    its data-path socket and link state machine."""

    name: str
    ifindex: int
    original: linkops.LinkState
    sock: socket.socket
    link: linkmon.LinkState
    carrier: bool
    speed: int = 0
    duplex: int = 0
    prio: int = 0
    mac_bytes: bytes = bytes(6)  # current MAC (tlb/alb give members their own)
    send_control: object = None  # sends one Ethernet frame (GARP, LACPDU...) on this member
    gso_max_size: int = 0  # the member's GSO limits (0: unknown); see limits.py
    gso_max_segs: int = 0
    mtu_seen: int = 0  # its MTU in the last link message
    # Set when it moved to another namespace (where it is restored): that
    # namespace's id as seen from here, and its ifindex there.
    moved_to: tuple[int, int] | None = None
    mac_seen: bytes = b""  # its MAC in the last link message
    control_send_errors: int = 0  # control frames (GARP, LACPDU...) its socket refused
    # The health judges (decide.BondCore.verdict) holding it down: "arp".
    judged_down: set[str] = field(default_factory=set)

    @property
    def path_ok(self) -> bool:
        """The path monitor's verdict (core/pathprobe.py), one of the judges."""
        return "path" not in self.judged_down

    @path_ok.setter
    def path_ok(self, ok: bool) -> None:
        if ok:
            self.judged_down.discard("path")
        else:
            self.judged_down.add("path")

    @property
    def lacp_mac(self) -> bytes:
        """LACPDUs leave with the member's permanent MAC, as the kernel's do."""
        return mac_to_bytes(self.perm_hwaddr)

    @property
    def send(self) -> Callable[[bytes], int]:
        return self.sock.send

    @property
    def up(self) -> bool:
        return self.link.state == linkmon.UP

    @property
    def perm_hwaddr(self) -> str:
        return self.original.mac


class Membership:
    """Enslaving and releasing members, and the MACs they carry.

    Owns `adopted`: the members a crashed run left bonded, with the
    originals it recorded (restored on release instead of what is found
    now); `up --inherit` puts its source's snapshot there too. The members
    list is the core's. Needs: the bond's name and config (a getter: `up
    --inherit` gives it the source's MTU), the links port, the clock, the
    core, the bond's other parts (link health, limits, listeners, failover,
    inheritance), getters for what a running bond replaces (the path
    monitor, the data path device, the bond's MAC and ifindex, whether it is
    stopping), `take_mac` (the bond takes its first member's MAC), and
    `run`, `event` and `publish` of the bond. The bond sets `loop` at start.
    """

    def __init__(
        self,
        name: str,
        config: Callable[[], BondConfig],
        links: LinksPort,
        clock: Clock,
        core: BondCore,
        health: LinkHealth,
        limits: DeviceLimits,
        listeners: ControlListeners,
        failover: Failover,
        inheritance: Inheritance,
        *,
        path: Callable[[], PathProbe | None],
        device: Callable[[], Device | None],
        mac: Callable[[], str | None],
        ifindex: Callable[[], int],
        stopping: Callable[[], bool],
        take_mac: Callable[[str], None],
        run: Callable[[list[Action]], None],
        event: Callable[..., None],
        publish: Callable[[], None],
    ) -> None:
        self.name = name
        self._config = config
        self.links = links
        self.clock = clock
        self.core = core
        self.members = core.members
        self.health = health
        self.limits = limits
        self.listeners = listeners
        self.failover = failover
        self.inheritance = inheritance
        self._path = path
        self._device = device
        self._mac = mac
        self._ifindex = ifindex
        self._stopping = stopping
        self._take_mac = take_mac
        self._run = run
        self._event = event
        self._publish = publish
        self.loop: asyncio.AbstractEventLoop | None = None
        self.adopted: dict[str, linkops.LinkState] = {}

    def _bond_mac(self) -> str:
        """The bond's MAC, which it has (configured, inherited or its first
        member's) before any member is attached."""
        mac = self._mac()
        if mac is None:
            raise BondError(f"{self.name}: the bond has no MAC address yet")
        return mac

    def _record(self, *joining: linkops.LinkState) -> None:
        """The state file: every member's original (and one about to join:
        a crash from here on is repaired by the next `softbond up`), and
        what the bond inherited."""
        runtime.write_state(
            self.name,
            os.getpid(),
            [m.original for m in self.members] + list(joining),
            inherited=self.inheritance.record,
        )

    def check_enslaveable(self, names: Iterable[str]) -> None:
        """Every member of a starting bond, checked before anything is
        touched: a refused `up` changes no link (it used to fail on the
        second member after resetting the first)."""
        seen = set()
        for name in names:
            if name in seen:
                raise BondError(f"{self.name}: cannot enslave {name}: named twice")
            seen.add(name)
            self._check_enslaveable(name)

    def enslave(self, name: str) -> None:
        self._check_enslaveable(name)
        self.enslave_checked(name)

    def enslave_checked(self, name: str) -> None:
        # A member a crashed daemon left bonded keeps its recorded original.
        original = self.adopted.pop(name, None) or self.links.snapshot(name)
        # Record before touching anything: a crash from here on is repaired
        # by the next `softbond up`.
        self._record(original)
        # Hear its link messages before its carrier is first read.
        self.health.listen_to_links(original.ifindex)
        try:
            member = self._attach(name, original)
        except Exception as exc:
            try:
                self.links.restore(original)
            except linkops.LinkError:  # gone or busy: the attach error below says what failed
                pass
            self.health.listen_to_links()
            self._record()
            raise BondError(f"{self.name}: cannot enslave {name}: {exc}") from None
        self.members.append(member)
        self.limits.sync_gso_limits()
        if self.health.arp is not None:
            self.health.arp.add(name, self.clock.now())
        path = self._path()
        if path is not None:  # [path monitor]
            path.add(member)
        self.listeners.open(member)
        self.core.runner.start(mac_to_bytes(self._bond_mac()))
        self.core.runner.add_member(member, self.clock.now())
        # bond_enslave: the primary, once enslaved, takes over whatever
        # primary_reselect says (bond->force_primary).
        self.failover.reselect(force_primary=name == self.core.opts.primary)
        state = "an active" if member is self.core.active else "a backup"
        link = "an up" if member.link.state != linkmon.DOWN else "a down"
        self._event("enslave", f"Enslaving as {state} interface with {link} link", member)
        self._publish()

    def _check_enslaveable(self, name: str) -> None:
        try:
            validate_ifname(name)
        except Exception as exc:
            raise BondError(f"{self.name}: cannot enslave: {exc}") from None
        if name == self.name:
            raise BondError(f"{self.name}: cannot enslave the bond to itself")
        if any(m.name == name for m in self.members):
            raise BondError(f"{self.name}: {name} is already a slave of {self.name}")
        if not self.links.exists(name):
            raise BondError(f"{self.name}: cannot enslave {name}: no such interface")
        if self._is_softbond_device(name):
            raise BondError(f"{self.name}: cannot enslave {name}: it is a softbond device")
        owner = runtime.owner_of(name, exclude=self.name)
        if owner:
            raise BondError(f"{self.name}: cannot enslave {name}: it is already a slave of {owner}")
        if self.links.master(name):
            raise BondError(f"{self.name}: cannot enslave {name}: it already has a master device")
        if self.links.sysfs(name, "type") != "1":
            raise BondError(f"{self.name}: cannot enslave {name}: not an Ethernet interface")
        if name == "lo":
            raise BondError(f"{self.name}: cannot enslave {name}: loopback")
        addrs = self.links.addresses(name)
        if addrs and name != self.inheritance.source():
            raise BondError(
                f"{self.name}: cannot enslave {name}: it has address {addrs[0]}; "
                "remove its addresses first (the bond holds the IP)"
            )
        mtu = self._mtu_to_give()
        low, high = self.links.mtu_range(name)
        if mtu < low or (high and mtu > high):
            raise BondError(
                f"{self.name}: cannot enslave {name}: it cannot take the bond's MTU {mtu} (its range is {low}-{high})"
            )

    def _mtu_to_give(self) -> int:
        """The MTU a member takes at enslave: the bond device's, or before
        the device exists the configured one (else what is left of the
        device, else 1500)."""
        return self.limits.mtu or self._config().mtu or int(self.links.sysfs(self.name, "mtu") or 1500)

    def _is_softbond_device(self, name: str) -> bool:
        """A bond's device or hidden peer, of any bond in this namespace (a
        peer made active would swallow every frame, and its release would
        strip the bond's programs). A peer is known by its bond, or by its
        name when its bond's record is gone."""

        def is_bond(ifname: str) -> bool:
            return ifname in runtime.running_bonds() or runtime.read_state(ifname) is not None

        if is_bond(name):
            return True
        peer = self.links.veth_peer(name)
        return peer is not None and (is_bond(peer) or is_peer_name(name))

    def _attach(self, name: str, original: linkops.LinkState) -> Member:
        links = self.links
        device = self._device()
        assert device is not None, "enslaving before the bond's device exists"
        self.links.set_disable_ipv6(name, "1")  # a port needs no addresses or DAD of its own
        if self._mac() is None:
            self._take_mac(original.mac)
        bond_mac = self._bond_mac()
        # Compare with the member as it is now, not as first found: a member
        # adopted after a crash is already set up and must not be reset.
        mac = current_mac = self.links.sysfs(name, "address") or original.mac
        fom = self.core.opts.fail_over_mac
        if self.core.runner.unique_macs:
            mac = self.unique_mac_for(original)
            if mac != current_mac:
                links.set_mac(name, mac)
        elif fom == FAIL_OVER_MAC_NONE or (fom == FAIL_OVER_MAC_FOLLOW and not self.members):
            if current_mac != bond_mac:
                links.set_up(name, False)
                links.set_mac(name, bond_mac)
                mac = bond_mac
        bond_mtu = self._mtu_to_give()
        if int(self.links.sysfs(name, "mtu") or original.mtu) != bond_mtu:
            links.set_mtu(name, bond_mtu)
        gso_max_size, gso_max_segs = links.gso_limits(name)
        links.set_up(name, True)
        warning = links.isolate(original)
        if warning:
            log.warning("%s: (slave %s): %s", self.name, name, warning)
        sock, send_control = device.open_member(name, original.ifindex, mac_to_bytes(mac))
        carrier = self.links.carrier(name)
        speed, duplex = self.links.speed_duplex(name)
        return Member(
            name=name,
            ifindex=original.ifindex,
            original=original,
            sock=sock,
            link=linkmon.LinkState(carrier),
            carrier=carrier,
            send_control=send_control,
            prio=dict(self.core.opts.prio).get(name, 0),
            speed=speed or 0,
            duplex=1 if duplex == "full" else 0,
            mac_bytes=mac_to_bytes(mac),
            gso_max_size=gso_max_size,
            gso_max_segs=gso_max_segs,
            mtu_seen=bond_mtu,
        )

    def unique_mac_for(self, original: linkops.LinkState, placed: list[Member] | None = None) -> str:
        """tlb/alb keep one MAC per member (alb_handle_addr_collision_on_attach):
        the first member shares the bond's, which it carries as the active
        one; a later member clashing with the bond or another member takes a
        spare permanent address of the bond's members, or a local one.
        `placed`: the members whose MACs count (default all; a mode switch
        places them one by one)."""
        placed = self.members if placed is None else placed
        bond_mac = self._bond_mac()
        if not placed:
            return bond_mac
        in_use = {m.mac_bytes for m in placed} | {mac_to_bytes(bond_mac)}
        if mac_to_bytes(original.mac) not in in_use:
            return original.mac
        for perm in [m.perm_hwaddr for m in placed]:
            if mac_to_bytes(perm) not in in_use:
                return perm
        spare = bytearray(os.urandom(6))
        spare[0] = (spare[0] & 0xFC) | 0x02
        return ":".join(f"{b:02x}" for b in spare)

    def check_releasable(self, names: Iterable[str]) -> None:
        """Every member a release names is one, before any is released."""
        for name in names:
            self.member(name)
            self.inheritance.check_release(name)

    def release(self, name: str) -> None:
        member = self.member(name)
        self.detach(member, log_it=True)
        if member is self.core.active or self.core.active is None:
            self.failover.reselect()
        self._publish()

    def detach(self, member: Member, *, log_it: bool) -> None:
        was_active = member is self.core.active
        self.members.remove(member)
        self.health.listen_to_links()
        self._run(self.core.member_left(member, self.clock.now()))
        device = self._device()
        if device is not None:
            device.close_member(member.sock, member.ifindex)
        if self.health.arp is not None:
            self.health.arp.remove(member.name)
        path = self._path()
        if path is not None:  # [path monitor]
            path.remove(member)
        self.listeners.close(member)
        sock = member.sock
        # The data threads may still hold the previous snapshot for a moment.
        if self.loop is not None and not self._stopping():
            self.loop.call_later(SOCKET_CLOSE_GRACE, sock.close)
        else:
            sock.close()
        if log_it:
            self._event("release", f"Releasing {'active' if was_active else 'backup'} interface", member)
            if self._mac() == member.perm_hwaddr and self.members:
                self._event(
                    "warning",
                    f"the permanent HWaddr of slave - {member.perm_hwaddr} - is still in use "
                    f"by bond - set the HWaddr of slave to a different address to avoid conflicts",
                    member,
                    level=logging.WARNING,
                )
        if self.core.runner.unique_macs:
            self._free_perm_mac(member)
        try:
            if member.moved_to is not None:
                self.links.restore_moved(member.original, *member.moved_to)
            else:
                self.links.restore(member.original)
        except linkops.LinkError as exc:
            self._event("warning", f"could not fully restore: {exc}", member, level=logging.WARNING)
        self._record()
        if not self._stopping():
            self.limits.sync_gso_limits()

    def handle_link_events(self, events: list[LinkEvent], now: float) -> None:
        """A batch of link messages, the last one per interface: a message
        can be stale (a later one in the batch says otherwise), and the last
        says how the link is now, as of when the kernel sent it. Its flags
        are the carrier as miimon polls it (IFF_LOWER_UP of an admin-up
        link), so no sysfs read stands between the event and the failover.
        The carrier goes to link health; a member removed, renamed or given
        another MAC is followed here; MTU and GSO limits by the limits."""
        latest: dict[int, LinkEvent] = {}
        for event in events:
            if event.ifindex == 0:  # events were lost: look at every member
                for each in list(self.members):
                    self.health.observe(each, self.links.carrier(each.name), now)
                latest.clear()
                continue
            latest[event.ifindex] = event
        for event in latest.values():
            if event.ifindex == self._ifindex():
                self.limits.bond_link_changed(event)
                continue
            member = next((m for m in self.members if m.ifindex == event.ifindex), None)
            if member is None:
                continue
            if event.deleted:
                moved = event.new_netnsid >= 0  # the kernel releases a slave leaving the namespace
                if moved:
                    member.moved_to = (event.new_netnsid, event.new_ifindex)
                self._event(
                    "warning",
                    "moved to another network namespace, releasing it"
                    if moved
                    else "interface was removed, releasing it",
                    member,
                    level=logging.WARNING,
                )
                self.release(member.name)
            else:
                if event.ifname and event.ifname != member.name:
                    self._follow_rename(member, event.ifname)
                if event.address:
                    self._follow_mac(member, event.address)
                self.health.observe(member, event.admin_up and event.carrier, now)
                self.limits.member_link_changed(member, event)

    def _follow_rename(self, member: Member, new_name: str) -> None:
        """A member renamed under the bond (the kernel allows it, with the
        link down as for any rename) stays a member under its new name: what
        finds it by name - sysfs reads, the /proc text, the ARP monitor, the
        LACP port - follows. Its sockets and programs hold its ifindex."""
        self._event("rename", f"renamed to {new_name}", member)
        now = self.clock.now()
        lacp = self.core.runner.ports_keyed_by_name
        if lacp:  # the port is keyed by name; down for the rename anyway
            self.core.runner.remove_member(member, now)
        if self.health.arp is not None:
            self.health.arp.remove(member.name)
        member.name = new_name
        if self.health.arp is not None:
            self.health.arp.add(new_name, now)
        if lacp:
            self.core.runner.add_member(member, now)
        self._publish()

    def _follow_mac(self, member: Member, address: bytes) -> None:
        """With fail_over_mac=none every member carries the bond's MAC. One
        changed behind the bond's back is left as the admin set it (the
        kernel's bond does not set it back either) but is said, once per
        change: frames the switch sends to the bond's MAC may not reach it."""
        bond_mac = self._mac()
        if self.core.opts.fail_over_mac != FAIL_OVER_MAC_NONE or self.core.runner.unique_macs or not bond_mac:
            return
        if address != member.mac_seen and address != mac_to_bytes(bond_mac):
            self._event(
                "warning",
                f"MAC address changed to {address.hex(':')}, not {self.name}'s {bond_mac}",
                member,
                level=logging.WARNING,
            )
        member.mac_seen = address

    def _free_perm_mac(self, leaving: Member) -> None:
        """The leaving member gets its own MAC back: whoever borrowed it takes
        the address the leaving member was using instead."""
        perm = mac_to_bytes(leaving.perm_hwaddr)
        for other in self.members:
            if other.mac_bytes == perm and leaving.mac_bytes != perm:
                self.failover.set_member_mac(other, leaving.mac_bytes)

    def member(self, name: str) -> Member:
        for member in self.members:
            if member.name == name:
                return member
        raise BondError(f"{self.name}: {name} is not a slave of {self.name}")
