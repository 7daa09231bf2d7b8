"""The eBPF bond: a veth pair as the bond device, tc programs, the maps.

    bond0 (the bond device; addresses, routes, sockets use it)
      |  clsact egress: sb_egress picks a member, bpf_redirect(member)
      |  veth
    sbp<hash> (hidden peer, same namespace, see bonddev.peer_name; its
      admin state is the bond's carrier; clsact ingress: sb_peer drops
      all; an AF_PACKET socket on it receives alb's outgoing ARP for the
      Python rlb code)

    eth0, eth1, ... (members): clsact ingress sb_ingress applies the
      member's receive policy and redirects to bond0's ingress.

The programs and maps belong to the kernel once attached: with
close(keep=True) (or a crash) forwarding goes on with the last published
state, and the next EbpfBond for the same name adopts the device, the maps
(pinned, or found through the attached egress program) and the members
(their entries in sb_rx), replacing the programs with freshly loaded ones.
"""
from __future__ import annotations

import os
import socket

from ..devices import legacy_peer_name, peer_name
from ...kernel import isolate, packet
from ...kernel.links import LinkError
from ...kernel.rtnl import Link, NetlinkError, Rtnl
from ...kernel.isolate import FILTER_PRIO
from . import bpfsys, build, loader
from ..abi import F_ARP_SLOWPATH, MODE_ALB, RESCUE_IN_CHECK, RESCUE_IN_VERDICT, RX_DROP, RXF_HAD_FILTER, RXF_MADE_CLSACT
from .rescue import U32, CarrierRescue, NoRescue
from .state import BondMaps
from ..plan import ForwardingPlan

CLSACT_INGRESS = 0xFFFFFFF2     # TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)
CLSACT_EGRESS = 0xFFFFFFF3      # TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)
ETH_P_ARP = 0x0806


def _mac_bytes(mac: str | bytes) -> bytes:
    if isinstance(mac, bytes):
        return mac
    return bytes.fromhex(mac.replace(":", "").replace("-", ""))


class EbpfBond:
    def __init__(self, bond: str, *, mac: str | None = None, mtu: int = 1500) -> None:
        if not bond or len(bond) > 15:
            raise ValueError(f"bad bond name {bond!r}")
        self.bond = bond
        self.peer = peer_name(bond)
        self.rtnl = Rtnl()
        self.obj = None
        self.rescue: CarrierRescue | NoRescue = NoRescue()
        self.rescue_state = "off"       # "on", or why not (status' carrier_rescue)
        self.members: dict[int, str] = {}
        self._arp_sock: socket.socket | None = None
        created = False
        try:
            path = build.object_path()
            self.ifindex, self.peer_ifindex, created = self._device(mac, mtu)
            self.pin_dir = loader.pin_dir(bond, loader.pin_base())
            reuse = None
            if created:
                loader.unpin(self.pin_dir)        # left over from a bond deleted behind our back
            else:
                reuse = self._existing_maps()
            self.obj, self.adopted = loader.load(path, reuse)
            self.maps = BondMaps(self.obj.maps)
            if self.adopted:
                self.maps.set_bond(self.ifindex)
            else:
                self.maps.initialize(self.ifindex, self._address(self.ifindex))
            if self.pin_dir is not None:
                try:
                    loader.pin_maps(self.pin_dir, self.obj.maps)
                except OSError:
                    self.pin_dir = None           # adoption through the filter still works
            self._attach(self.peer_ifindex, CLSACT_INGRESS, "sb_peer")
            self._attach(self.ifindex, CLSACT_EGRESS, "sb_egress")
            self.rescue, self.rescue_state = CarrierRescue.start(self.rtnl, bond, self._rx_rescue())
            if self.adopted:
                self._readopt_members()
            self.maps.prime_bucket_bytes()
        except BaseException:
            if self.obj is not None:
                self.obj.close()
            self.rescue.close()
            if created:
                self._del_link(self.bond)
            self.rtnl.close()
            raise

    def _rx_rescue(self) -> int:
        """sb_rx_rescue with sb_rescued_in in its verdict slot and no check
        yet (a reused map may hold a rescue loaded by a bond before this
        one, or by one started with the rescue off): the rescue fills it."""
        fd = self.obj.maps["sb_rx_rescue"]
        bpfsys.delete(fd, U32.pack(RESCUE_IN_CHECK))
        bpfsys.update(fd, U32.pack(RESCUE_IN_VERDICT), U32.pack(self.obj.progs["sb_rescued_in"]))
        return fd

    # -- device ----------------------------------------------------------------------
    def _link(self, **kw) -> Link | None:
        return self.rtnl.link(**kw)

    def _address(self, ifindex: int) -> bytes:
        link = self._link(index=ifindex)
        return _mac_bytes(link.mac or "") if link is not None else bytes(6)

    def _device(self, mac: str | None, mtu: int) -> tuple[int, int, bool]:
        link = self._link(name=self.bond)
        created = False
        if link is None:
            if self._link(name=self.peer) is not None:
                raise RuntimeError(f"{self.bond}: cannot create the bond device: its hidden peer's name "
                                   f"{self.peer} is taken by another interface")
            self.rtnl.add_veth(self.bond, self.peer)
            created = True
            link = self._link(name=self.bond)
            if link is None:
                raise RuntimeError(f"{self.bond}: the bond device went away as it was made")
        # A device left by a crash is adopted with its peer under either naming.
        peer = self._link(index=link.link) if link.link else None
        peer_ifname = peer.name if peer is not None else None
        if link.kind != "veth" or link.link_netnsid is not None or peer is None \
                or peer_ifname not in (self.peer, legacy_peer_name(self.bond)):
            raise RuntimeError(f"{self.bond} exists but is not a softbond eBPF bond device "
                               f"(a veth whose peer {self.peer} is in the same namespace)")
        self.peer = peer_ifname
        ifindex, peer_ifindex = link.index, peer.index
        try:
            # The hidden peer must never talk by itself (router solicitations,
            # DAD, MLD): no IPv6 on it.
            with open(f"/proc/sys/net/ipv6/conf/{self.peer}/disable_ipv6", "w") as f:
                f.write("1")
        except OSError:     # IPv6 is not in this kernel (no such file): nothing to silence
            pass
        if created:
            self.rtnl.set_link(peer_ifindex, up=False)
        if mtu and link.mtu != mtu:
            self.rtnl.set_link(peer_ifindex, mtu=mtu)
            self.rtnl.set_link(ifindex, mtu=mtu)
        if mac is not None and _mac_bytes(mac) != _mac_bytes(link.mac or ""):
            self.rtnl.set_link(ifindex, mac=_mac_bytes(mac).hex(":"))
        return ifindex, peer_ifindex, created

    def set_peer_mtu(self, mtu: int) -> None:
        try:
            self.rtnl.set_link(self.peer_ifindex, mtu=mtu)
        except NetlinkError as exc:
            raise LinkError(f"{self.peer}: cannot set MTU {mtu}: {os.strerror(exc.code)}") from None

    def _del_link(self, name: str) -> None:
        link = self._link(name=name)
        if link is not None:
            try:
                self.rtnl.del_link(link.index)
            except NetlinkError:
                pass

    # -- tc --------------------------------------------------------------------------
    def _has_clsact(self, ifindex: int) -> bool:
        return any(kind in ("clsact", "ingress") for kind in self.rtnl.qdisc_kinds(ifindex))

    def _our_filter(self, ifindex: int, parent: int) -> tuple[int, int | None] | None:
        """(prio, program id) of our filter there, if there is one."""
        try:
            filters = self.rtnl.bpf_filters(ifindex, parent)
        except NetlinkError:
            return None
        return next((f for f in filters if f[0] == FILTER_PRIO), None)

    def _attach(self, ifindex: int, parent: int, prog: str) -> bool:
        """Put `prog` at our prio (replacing what is there); True when the
        clsact qdisc had to be added."""
        made = False
        if not self._has_clsact(ifindex):
            self.rtnl.add_clsact(ifindex)
            made = True
        self.rtnl.set_bpf_filter(ifindex, parent, FILTER_PRIO, self.obj.progs[prog], prog, replace=True)
        return made

    def _existing_maps(self) -> dict[str, int] | None:
        """The pinned maps, unless the programs attached to the device use
        other ones (then those: they are what forwards now)."""
        live = self._maps_from_filter()
        pinned = loader.pinned_maps(self.pin_dir)
        if live and pinned and bpfsys.map_info(live["sb_config"])["id"] != bpfsys.map_info(pinned["sb_config"])["id"]:
            loader.close_fds(pinned)
            pinned = None
        if pinned:
            loader.close_fds(live)
            return pinned
        return live

    def _filter_maps(self, ifindex: int, parent: int) -> dict[str, int] | None:
        f = self._our_filter(ifindex, parent)
        prog_id = f[1] if f is not None else None
        return loader.maps_of_program(prog_id) if prog_id else None

    def _maps_from_filter(self) -> dict[str, int] | None:
        """The maps of the programs still attached: the bond's egress program
        has all but sb_rx and sb_rx_slots, a member's ingress program (any
        link in the namespace whose program shares our sb_config) has those."""
        fds = self._filter_maps(self.ifindex, CLSACT_EGRESS)
        if not fds or "sb_config" not in fds:
            loader.close_fds(fds)
            return None
        config_id = bpfsys.map_info(fds["sb_config"])["id"]
        for link in self.rtnl.links():
            index = link.index
            if index in (self.ifindex, self.peer_ifindex):
                continue
            more = self._filter_maps(index, CLSACT_INGRESS)
            if more and "sb_rx" in more and "sb_config" in more \
                    and bpfsys.map_info(more["sb_config"])["id"] == config_id:
                for name in loader.MEMBER_ONLY_MAPS & more.keys():
                    fds[name] = more.pop(name)
                loader.close_fds(more)
                break
            loader.close_fds(more)
        return fds

    def _readopt_members(self) -> None:
        for ifindex in self.maps.rx_entries():
            link = self._link(index=ifindex)
            if link is None:
                self.maps.del_rx(ifindex)
                self.maps.drop_stats(ifindex)
                continue
            self.members[ifindex] = link.name
            if self._our_filter(ifindex, CLSACT_INGRESS) is not None:
                self._attach(ifindex, CLSACT_INGRESS, "sb_ingress")
                self.rescue.attach(ifindex)

    # -- API ---------------------------------------------------------------------------
    def set_carrier(self, on: bool) -> None:
        self.rtnl.set_link(self.peer_ifindex, up=on)

    def attach_member(self, ifname: str, ifindex: int, mac: bytes) -> None:
        entry = self.maps.rx_entries().get(ifindex)
        if entry is None:
            flags = RXF_HAD_FILTER if self._our_filter(ifindex, CLSACT_INGRESS) is not None else 0
            policy = RX_DROP
        else:
            policy, flags, _ = entry
        self.maps.ensure_stats(ifindex)
        # The entry first: the program drops frames of members it does not know.
        self.maps.set_rx(ifindex, policy, flags, _mac_bytes(mac))
        if self._attach(ifindex, CLSACT_INGRESS, "sb_ingress"):
            flags |= RXF_MADE_CLSACT
            self.maps.set_rx(ifindex, policy, flags, _mac_bytes(mac))
        self.rescue.attach(ifindex)
        self.members[ifindex] = ifname

    def detach_member(self, ifindex: int) -> None:
        """Undo attach_member: the isolate drop filter that was there goes
        back (the member stays off its own stack until links.restore), or
        our filter and any clsact we added go."""
        entry = self.maps.rx_entries().get(ifindex)
        flags = entry[1] if entry else 0
        self.rescue.detach(ifindex)
        if self._link(index=ifindex) is not None and self._our_filter(ifindex, CLSACT_INGRESS) is not None:
            try:
                if flags & RXF_HAD_FILTER:
                    fd = isolate.load_drop_program()
                    try:
                        self.rtnl.set_bpf_filter(ifindex, CLSACT_INGRESS, FILTER_PRIO, fd, "softbond_drop",
                                                 replace=True)
                    finally:
                        os.close(fd)
                elif flags & RXF_MADE_CLSACT:
                    self.rtnl.del_clsact(ifindex)
                else:
                    self.rtnl.del_filter(ifindex, CLSACT_INGRESS, FILTER_PRIO)
            except NetlinkError:
                pass
        self.maps.del_rx(ifindex)
        self.maps.drop_stats(ifindex)
        self.members.pop(ifindex, None)

    def publish(self, snap: ForwardingPlan) -> None:
        self.maps.publish(snap, bond_ifindex=self.ifindex, arp_slowpath=self._arp_sock is not None)

    def member_counters(self, ifindex: int) -> dict:
        return {**self.maps.counters(ifindex), **self.rescue.counters(ifindex)}

    def set_rescue(self, plan: ForwardingPlan) -> None:
        """Where each member's frames go while it has no carrier, and whose
        it receives then (plan.rescue_to, plan.stand_ins)."""
        self.rescue.publish(plan.rescue_to, list(self.members), plan.stand_ins)

    def rescue_to(self, ifindex: int, target: int) -> None:
        self.rescue.set(ifindex, target)

    def bucket_bytes(self) -> list[int]:
        return self.maps.bucket_bytes()

    def arp_socket(self) -> socket.socket | None:
        """alb: outgoing ARP frames of the bond, as sent by its stack, for the
        rlb code to rewrite and send on the member it chooses. Opening it
        turns the ARP slow path on (for alb plans); before that, and
        after close(keep=True), ARP leaves by the active member."""
        if self._arp_sock is None:
            self._arp_sock = packet.open_listener(self.peer, ETH_P_ARP)
            if self.maps.config()["mode"] == MODE_ALB:
                self.maps.set_flags(set_=F_ARP_SLOWPATH)
        return self._arp_sock

    def close(self, *, keep: bool = False) -> None:
        if self.obj is None:
            return
        try:
            if keep:
                # Nobody will read the peer: ARP goes by the active member.
                self.maps.set_flags(clear=F_ARP_SLOWPATH)
            else:
                for ifindex in set(self.maps.rx_entries()) | set(self.members):
                    self.detach_member(ifindex)
                self._del_link(self.bond)
                loader.unpin(self.pin_dir)
        finally:
            if self._arp_sock is not None:
                self._arp_sock.close()
                self._arp_sock = None
            self.obj.close()
            self.obj = None
            self.rescue.close()
            self.rescue = NoRescue()
            self.rtnl.close()

    def __enter__(self) -> "EbpfBond":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EbpfBond({self.bond!r}, ifindex={getattr(self, 'ifindex', None)})"

