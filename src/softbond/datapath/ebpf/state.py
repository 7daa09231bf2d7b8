"""The maps of bond.bpf.c as Python sees them: the bond's ForwardingPlan
(datapath/plan.py) written into them, and the counters read back.

Everything one frame's member choice depends on sits in one of two banks
(sb_config[bank], sb_members[bank * MAX_MEMBERS ...], sb_buckets[bank *
BUCKETS ...]). `publish` fills the bank the programs are not using and then
flips sb_bank[0] (one aligned u32 store), so a frame sees the old choice or
the new one, never a mix. Receive policies are per member (sb_rx, keyed by
ifindex): policies that let more through are written before the flip,
those that let less through after it, so a failover never drops frames on
both members at once.

Counters (sb_stats) sit in an array, one slot per member and one for the
bond, so that a frame looks them up by index rather than hashing an
ifindex. The slots are only ever written into the maps (sb_rx, sb_members,
sb_config), which is where adopted maps give them back.
"""
from __future__ import annotations

import struct
import threading

from ..abi import (BUCKETS, CONFIG, F_ARP_SLOWPATH, F_DYNAMIC, F_FLOWLET, F_FLOWLET_QUEUES,
                   MAX_MEMBERS, MEMBER, RX, RX_DROP, RX_SLOT,
                   RX_SLOTS, STAT_NAMES, STAT_SLOTS, STATS)
from ..plan import ForwardingPlan
from . import bpfsys

U32 = struct.Struct("=I")
S32 = struct.Struct("=i")
U64 = struct.Struct("=Q")
FLOWLET = struct.Struct("=QiIQ")    # struct sb_flowlet: last_ns, slot, pad, depart_ns


class BondMaps:
    """Reads and writes the maps through their fds (owned by the caller).

    The control plane is the maps' only writer, so what it wrote last - the
    bank in use, the receive entries, which stats entries exist - is kept
    here as well and read back from the kernel only once (maps adopted
    after a restart hold what the previous daemon wrote). A failover's
    publish then costs the few updates it makes: each syscall skipped is
    tens of microseconds when the daemon wakes on a cold cache."""

    def __init__(self, fds: dict[str, int]) -> None:
        self.fd = dict(fds)
        self.ncpu = bpfsys.num_cpus()
        self._bucket_seen = [0] * BUCKETS
        self.generation = 0
        self._bank: int | None = None
        self._rx: dict[int, tuple[int, int, bytes]] | None = None
        self._slots: dict[int, int] | None = None     # ifindex -> sb_stats slot
        self._rx_slots: dict[int, int] = {}             # the slots sb_rx held when first read
        self._slot_entry: dict[int, tuple[int, bytes]] = {}   # sb_rx_slots: slot -> (ifindex, struct sb_rx)
        # The carrier thread's fire() and the loop's publish/arm write the
        # banks and sb_rx: one at a time, so the bank cache stays true.
        self.lock = threading.Lock()
        self._armed: tuple[int, int, list] | None = None     # (trigger ifindex, bank, rx entries to open)

    # -- raw access -------------------------------------------------------------
    def _percpu(self, name: str, key: bytes, size: int) -> list[bytes] | None:
        stride = (size + 7) & ~7
        raw = bpfsys.lookup(self.fd[name], key, stride * self.ncpu)
        if raw is None:
            return None
        return [raw[i * stride:i * stride + size] for i in range(self.ncpu)]

    def bank(self) -> int:
        if self._bank is None:
            raw = bpfsys.lookup(self.fd["sb_bank"], U32.pack(0), 4)
            self._bank = U32.unpack(raw)[0] & 1 if raw else 0
        return self._bank

    def _set_bank(self, bank: int) -> None:
        bpfsys.update(self.fd["sb_bank"], U32.pack(0), U32.pack(bank))
        self._bank = bank

    def config(self, bank: int | None = None) -> dict:
        bank = self.bank() if bank is None else bank
        raw = bpfsys.lookup(self.fd["sb_config"], U32.pack(bank), CONFIG.size)
        v = CONFIG.unpack(raw)
        return {"mode": v[0], "policy": v[1], "packets_per_slave": v[2], "count": v[3], "active_ifindex": v[4],
                "active_slot": v[5], "flags": v[6], "bond_ifindex": v[7], "bond_mac": v[8], "generation": v[10],
                "bond_stat": v[9], "active_stat": v[11], "flowlet_gap_us": v[12]}

    def _config_fields(self, c: dict) -> dict:
        """config()'s dict as _write_config's keywords."""
        return dict(mode=c["mode"], policy=c["policy"], pps=c["packets_per_slave"], count=c["count"],
                    active=c["active_ifindex"], active_slot=c["active_slot"], flags=c["flags"],
                    bond_ifindex=c["bond_ifindex"], bond_mac=c["bond_mac"], generation=c["generation"],
                    flowlet_gap_us=c["flowlet_gap_us"])

    def members(self, bank: int | None = None) -> list[tuple[int, bytes]]:
        bank = self.bank() if bank is None else bank
        count = self.config(bank)["count"]
        out = []
        for i in range(min(count, MAX_MEMBERS)):
            ifindex, mac, *_ = MEMBER.unpack(bpfsys.lookup(self.fd["sb_members"], U32.pack(bank * MAX_MEMBERS + i),
                                                          MEMBER.size))
            out.append((ifindex, mac))
        return out

    def _write_config(self, bank: int, *, mode=0, policy=0, pps=1, count=0, active=0, active_slot=-1, flags=0,
                      bond_ifindex=0, bond_mac=b"\0" * 6, generation=0, flowlet_gap_us=0) -> None:
        bpfsys.update(self.fd["sb_config"], U32.pack(bank),
                      CONFIG.pack(mode, policy, pps, count, active, active_slot, flags, bond_ifindex, bond_mac,
                                  self.stat_slot(bond_ifindex), generation, self.stat_slot(active), flowlet_gap_us))

    def initialize(self, bond_ifindex: int, bond_mac: bytes) -> None:
        """A fresh bond: no member, everything the bond sends is dropped."""
        self._slots = {}
        self.ensure_stats(bond_ifindex)
        for bank in (0, 1):
            self._write_config(bank, bond_ifindex=bond_ifindex, bond_mac=bond_mac)
        self._set_bank(0)

    def set_bond(self, bond_ifindex: int) -> None:
        """Adopted maps: make sure they point at this bond device."""
        self.ensure_stats(bond_ifindex)
        for bank in (0, 1):
            c = self.config(bank)
            if c["bond_ifindex"] != bond_ifindex:
                self._write_config(bank, **dict(self._config_fields(c), bond_ifindex=bond_ifindex))

    def slots(self) -> dict[int, int]:
        """ifindex -> sb_stats slot of the bond and its members, read back
        from the maps once (adopted maps hold the previous daemon's)."""
        if self._slots is None:
            self.rx_entries()
            c = self.config()
            slots = {ifindex: slot for ifindex, slot in self._rx_slots.items() if slot}
            if c["bond_ifindex"] and c["bond_stat"]:
                slots[c["bond_ifindex"]] = c["bond_stat"]
            self._slots = slots
        return self._slots

    def stat_slot(self, ifindex: int) -> int:
        """The slot of `ifindex`, 0 (no one's) when it has none."""
        return self.slots().get(ifindex, 0) if ifindex else 0

    def ensure_stats(self, ifindex: int) -> None:
        """A zeroed slot for `ifindex` unless it has one."""
        slots = self.slots()
        if ifindex in slots:
            return
        used = set(slots.values())
        slot = next((s for s in range(1, STAT_SLOTS) if s not in used), None)
        if slot is None:
            raise OSError(f"all {STAT_SLOTS - 1} counter slots of the eBPF data path are in use")
        bpfsys.update(self.fd["sb_stats"], U32.pack(slot), b"\0" * (STATS.size * self.ncpu))
        slots[ifindex] = slot

    def drop_stats(self, ifindex: int) -> None:
        """Free the slot (zeroed when it is given out again)."""
        self.slots().pop(ifindex, None)

    # -- receive side -------------------------------------------------------------
    def rx_entries(self) -> dict[int, tuple[int, int, bytes]]:
        if self._rx is None:
            rx, self._rx_slots = {}, {}
            for key in bpfsys.keys(self.fd["sb_rx"], 4):
                raw = bpfsys.lookup(self.fd["sb_rx"], key, RX.size)
                if raw is not None:
                    policy, flags, mac, slot = RX.unpack(raw)
                    rx[U32.unpack(key)[0]] = (policy, flags, mac)
                    self._rx_slots[U32.unpack(key)[0]] = slot
            self._rx = rx
            self._slot_entry = {}
            for ifindex in rx:
                raw = bpfsys.lookup(self.fd["sb_rx_slots"], U32.pack(ifindex % RX_SLOTS), RX_SLOT.size)
                if raw is not None and RX_SLOT.unpack(raw)[-1] == ifindex:
                    self._slot_entry[ifindex % RX_SLOTS] = (ifindex, raw[:RX.size])
        return dict(self._rx)

    def set_rx(self, ifindex: int, policy: int, flags: int, mac: bytes) -> None:
        """The member's receive entry, which carries its counter slot to sb_ingress."""
        self.rx_entries()
        self.ensure_stats(ifindex)
        entry = RX.pack(policy, flags, mac, self.stat_slot(ifindex))
        bpfsys.update(self.fd["sb_rx"], U32.pack(ifindex), entry)
        self._rx[ifindex] = (policy, flags, mac)
        self._set_rx_slot(ifindex, entry)

    def del_rx(self, ifindex: int) -> None:
        self.rx_entries()
        held = self._slot_entry.get(ifindex % RX_SLOTS)
        if held is not None and held[0] == ifindex:
            # Only the owner changes (to no one): a frame reads the entry or sb_rx's.
            self._write_rx_slot(ifindex % RX_SLOTS, 0, held[1])
        bpfsys.delete(self.fd["sb_rx"], U32.pack(ifindex))
        self._rx.pop(ifindex, None)

    def _set_rx_slot(self, ifindex: int, entry: bytes) -> None:
        """The entry into its sb_rx_slots slot too, unless another member
        holds the slot (sb_ingress then finds it in sb_rx). A slot's value
        is copied in place, not swapped: a frame could read half of it. So
        a value changes whole only while the slot is no one's (the frame
        reads sb_rx, written already), and then it is given its owner;
        the common change, the policy (an aligned u32) of the member that
        holds the slot, is one write."""
        assert self._rx is not None
        slot = ifindex % RX_SLOTS
        held = self._slot_entry.get(slot)
        if held is not None and held[0] != ifindex and held[0] in self._rx:
            return
        if held is None or held[0] != ifindex or held[1][4:] != entry[4:]:
            self._write_rx_slot(slot, 0, entry)
        self._write_rx_slot(slot, ifindex, entry)

    def _write_rx_slot(self, slot: int, owner: int, entry: bytes) -> None:
        bpfsys.update(self.fd["sb_rx_slots"], U32.pack(slot), entry + U32.pack(owner))
        self._slot_entry[slot] = (owner, entry)

    # -- publish -----------------------------------------------------------------
    def publish(self, snap: ForwardingPlan, *, bond_ifindex: int, arp_slowpath: bool = False) -> None:
        """Write `snap`; `arp_slowpath`: the daemon reads the hidden peer's
        ARP, so an alb plan may send ARP there. Disarms a plan `arm` left."""
        snap.validate()
        with self.lock:
            self._armed = None
            opening, closing = self._rx_changes(snap)
            for entry in opening:
                self.set_rx(*entry)
            bank = self.bank() ^ 1
            self._write_bank(bank, snap, bond_ifindex, arp_slowpath)
            self._set_bank(bank)
            for entry in closing:
                self.set_rx(*entry)

    def _rx_changes(self, snap: ForwardingPlan) -> tuple[list[tuple[int, int, int, bytes]], list]:
        """The receive entries `snap` changes: (those that let more through,
        those that let less through)."""
        macs = dict(snap.tx_members)
        opening, closing = [], []
        for ifindex, (old_policy, flags, old_mac) in self.rx_entries().items():
            policy = snap.rx_policy.get(ifindex, RX_DROP)
            mac = macs.get(ifindex, old_mac)
            if (policy, mac) != (old_policy, old_mac):
                (closing if policy == RX_DROP else opening).append((ifindex, policy, flags, mac))
        return opening, closing

    def _write_bank(self, bank: int, snap: ForwardingPlan, bond_ifindex: int, arp_slowpath: bool) -> None:
        members = snap.tx_members
        for ifindex, _ in members:
            self.ensure_stats(ifindex)
        if snap.active:
            self.ensure_stats(snap.active)
        # Only the slots below count: the program never reads past it.
        rates = snap.flowlet_rates or {}
        if members:
            self._write_array("sb_members", bank * MAX_MEMBERS,
                              [MEMBER.pack(i, mac, self.stat_slot(i), *rates.get(i, (0, 0))) for i, mac in members])
        flags = 0
        if snap.buckets is not None:
            flags |= F_DYNAMIC
            self._write_buckets(bank, snap.buckets)
        if arp_slowpath and snap.arp_slowpath:
            flags |= F_ARP_SLOWPATH
        if snap.flowlet_gap_ns and snap.buckets is not None:
            flags |= F_FLOWLET
            if snap.flowlet_rates:
                flags |= F_FLOWLET_QUEUES
        self.generation += 1
        self._write_config(bank, mode=snap.mode, policy=snap.xmit_hash_policy, pps=snap.packets_per_slave,
                           count=len(members), active=snap.active, active_slot=snap.active_slot, flags=flags,
                           bond_ifindex=bond_ifindex, bond_mac=snap.bond_mac, generation=self.generation,
                           flowlet_gap_us=snap.flowlet_gap_ns // 1000)

    # -- [failtail] a failover written ahead, switched to by the carrier thread -----
    def arm(self, trigger: int, snap: ForwardingPlan, *, bond_ifindex: int) -> None:
        """Write `snap` into the bank not in use, for `fire(trigger)` to
        switch to: what the control plane will publish when member
        `trigger` loses its carrier (core/carrierthread.py), written while
        nothing is failing so the failover itself is one store and the
        receive entries it opens."""
        snap.validate()
        with self.lock:
            bank = self.bank() ^ 1
            self._write_bank(bank, snap, bond_ifindex, False)
            self._armed = (trigger, bank, self._rx_changes(snap)[0])

    def disarm(self) -> None:
        with self.lock:
            self._armed = None

    def fire(self, ifindex: int) -> bool:
        """Member `ifindex` lost its carrier: switch to the bank armed for
        it, if any (once). The control plane publishes its own decision
        next, which leaves the maps as they are now when the two agree."""
        with self.lock:
            armed = self._armed
            if armed is None or armed[0] != ifindex:
                return False
            self._armed = None
            for entry in armed[2]:
                self.set_rx(*entry)
            self._set_bank(armed[1])
            return True

    def _write_buckets(self, bank: int, buckets) -> None:
        self._write_array("sb_buckets", bank * BUCKETS, [S32.pack(b) for b in buckets])

    def _write_array(self, name: str, base: int, values: list[bytes]) -> None:
        """values[i] into key base + i: one BPF_MAP_UPDATE_BATCH, or one
        update per element where batches are not supported."""
        fd = self.fd[name]
        keys = b"".join(U32.pack(base + i) for i in range(len(values)))
        try:
            bpfsys.update_batch(fd, keys, b"".join(values), len(values))
        except OSError:
            for i, value in enumerate(values):
                bpfsys.update(fd, U32.pack(base + i), value)

    def set_flags(self, set_: int = 0, clear: int = 0) -> None:
        """Change the current bank's flags in place (a u32 in one config
        entry: copied whole, the other fields unchanged)."""
        bank = self.bank()
        c = self.config(bank)
        self._write_config(bank, **dict(self._config_fields(c), flags=(c["flags"] | set_) & ~clear))

    # -- counters ----------------------------------------------------------------
    def _stat_totals(self, ifindex: int) -> list[int]:
        """struct sb_stats of the member, summed over the CPUs."""
        slot = self.stat_slot(ifindex)
        per_cpu = self._percpu("sb_stats", U32.pack(slot), STATS.size) if slot else None
        totals = [0] * (STATS.size // 8)          # every field is a u64
        for raw in per_cpu or ():
            for i, v in enumerate(STATS.unpack(raw)):
                totals[i] += v
        return totals

    def counters(self, ifindex: int) -> dict[str, int]:
        return dict(zip(STAT_NAMES, self._stat_totals(ifindex)))

    def protocol_block(self, ifindex: int) -> list[int]:
        """sb_stats.proto of the member (abi.proto_index), summed over the CPUs."""
        return self._stat_totals(ifindex)[len(STAT_NAMES):]

    def bucket_totals(self) -> list[int]:
        out = []
        for i in range(BUCKETS):
            per_cpu = self._percpu("sb_bucket_bytes", U32.pack(i), 8)
            out.append(sum(U64.unpack(v)[0] for v in per_cpu or ()))
        return out

    def bucket_bytes(self) -> list[int]:
        """Bytes per bucket since the previous call. The per-CPU counters are
        never written from here (a reset would race the programs); the
        difference to the last reading is returned instead."""
        totals = self.bucket_totals()
        delta = [max(0, t - s) for t, s in zip(totals, self._bucket_seen)]
        self._bucket_seen = totals
        return delta

    def flowlet_moves(self) -> int:
        """sb_flow_moves summed over the CPUs."""
        return sum(U64.unpack(v)[0] for v in self._percpu("sb_flow_moves", U32.pack(0), 8) or ())

    def flowlet_slots(self) -> list[int]:
        """sb_flowlet's committed slot per bucket, where its frames leave now
        (-1, or a slot past the members: hash % count; a bucket that never
        sent holds a zeroed entry and is -1): one batch lookup, one lookup
        per bucket where batches are not supported."""
        fd = self.fd["sb_flowlet"]
        try:
            raw = bpfsys.lookup_batch(fd, 4, FLOWLET.size, BUCKETS)
        except OSError:
            raw = b"".join(bpfsys.lookup(fd, U32.pack(i), FLOWLET.size) or bytes(FLOWLET.size)
                           for i in range(BUCKETS))
        return [slot if last_ns else -1 for last_ns, slot, *_ in FLOWLET.iter_unpack(raw)]

    def prime_bucket_bytes(self) -> None:
        self._bucket_seen = self.bucket_totals()
