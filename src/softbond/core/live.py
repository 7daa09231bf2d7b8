"""`softbond set` on a running bond: every option changes live.

The kernel refuses mode and fail_over_mac while the bond has slaves, and
lacp_rate, ad_select, tlb_dynamic_lb and the other IFDOWN options while it
is up. softbond is a userspace program: a new mode runner takes over the
members where they are (their MACs, listeners and 802.3ad ports are set up
as enslaving would), and the data path only gets a new snapshot. The
registry's OptionSpec.effect says what each option needs.

`LiveOptions` is the bond's object for it (`bond.live`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..faces import metrics_textfile
from ..kernel import proctitle
from ..config.names import validate_ifname
from ..config.options import (
    BOND_MODE_ACTIVEBACKUP,
    EFFECT_DATAPATH,
    EFFECT_MONITORS,
    EFFECT_PRIOS,
    EFFECT_RESELECT,
    EFFECT_RUNNER,
    OPTIONS,
    BondOptions,
    change_option,
    option_to_text,
)
from .errors import BondError
from .pathprobe import check_target as check_path_target
from .failover import FAIL_OVER_MAC_FOLLOW, FAIL_OVER_MAC_NONE
from ..modes import make_runner
from ..wire.ethernet import mac_to_bytes

if TYPE_CHECKING:
    from .bond import Bond


class LiveOptions:
    """Changing options, the mode and the data path of a running bond.

    A bond-level operation: it holds no state of its own and changes the
    bond's (options, mode runner, device), so it is given the bond."""

    def __init__(self, bond: Bond) -> None:
        self.bond = bond

    def set_option(self, name: str, value: str) -> list[str]:
        """Apply one option; returns every warning the change raised (the
        kernel's rules, and those of applying it), which also go to the log.
        A refused change raises BondError and changes nothing."""
        try:
            new, rule_warnings = change_option(self.bond.name, self.bond.opts, name, value)
        except ValueError as exc:
            raise BondError(str(exc)) from None
        spec = OPTIONS[name.strip()]
        if spec.name == "prio":
            self._check_prios(new)
        if spec.name.startswith("path_monitor"):  # [path monitor] refused without a probe target
            check_path_target(self.bond, new, starting=False)
        if spec.name == "metrics_textfile":
            metrics_textfile.check_dir(self.bond.name, new.metrics_textfile)
        if spec.name == "primary" and new.primary:
            try:
                validate_ifname(new.primary)
            except Exception as exc:
                raise BondError(f"{self.bond.name}: option primary: {exc}") from None
        with self.bond.warnings_collected() as warnings:
            if spec.effect == EFFECT_DATAPATH:
                # Refuses (eBPF unavailable) before anything is torn down.
                if (new.datapath, new.datapath_workers) != (self.bond.opts.datapath, self.bond.opts.datapath_workers):
                    self._switch_datapath(new.datapath, new.datapath_workers)
            for warning in rule_warnings:
                self.bond._event("warning", warning, level=logging.WARNING, prefix=False)
            # The value applied, which the rules may have changed (a delay
            # rounded to a multiple of miimon).
            self.bond._event("option", f"option {spec.name} set to {option_to_text(spec.name, new.get(spec.name))}")
            # A new runner whenever anything changed: the rules may change more
            # than the option itself (a mode resets arp_validate).
            if spec.effect == EFFECT_RUNNER and new != self.bond.opts:
                self._switch_runner(new)
            else:
                self.bond.runner.configure(new)
                self.bond.opts = new
            if spec.effect == EFFECT_MONITORS:
                self.bond._restart_monitors()
            elif spec.effect == EFFECT_RESELECT:
                self.bond.failover.reselect(force_primary=(spec.name == "primary"))
            elif spec.effect == EFFECT_PRIOS:
                self._apply_prios()
            self.bond._publish()
        return warnings

    def _check_prios(self, new: BondOptions) -> None:
        """Like `ip link set IFACE type bond_slave prio N`: only a member's
        prio can be changed on a running bond."""
        old = dict(self.bond.opts.prio)
        for iface, prio in new.prio:
            if old.get(iface) != prio and not any(m.name == iface for m in self.bond.members):
                raise BondError(f"{self.bond.name}: option prio: {iface} is not a slave of {self.bond.name}")

    def _apply_prios(self) -> None:
        """bond_option_prio_set: the bond chooses again with the new prios,
        unless a primary member makes them moot for now."""
        prios = dict(self.bond.opts.prio)
        changed = [m for m in self.bond.members if m.prio != prios.get(m.name, 0)]
        for member in changed:
            member.prio = prios.get(member.name, 0)
        if not changed:
            return
        if any(m.name == self.bond.opts.primary for m in self.bond.members):
            for member in changed:
                self.bond._event(
                    "warning",
                    "prio updated, but will not affect failover re-selection as primary slave have been set",
                    member,
                    level=logging.WARNING,
                )
        else:
            self.bond.failover.reselect()

    # ---------------------------------------------------------------- mode
    def _switch_runner(self, new: BondOptions) -> None:
        """A new mode (or fail_over_mac) on a running bond: the new runner
        takes every member as enslaving would give it one, and the active
        member is chosen afresh. Members, addresses and the bond device stay;
        the data path switches at the next snapshot."""
        self.bond.listeners.close_bond_arp()
        self._retire_runner()
        self.bond.opts = new
        self.bond.runner = make_runner(new)
        self.bond.runner.bond_name = self.bond.name
        self.bond.active = None
        self._place_member_macs()
        if self.bond.members:  # else the first enslave starts it
            self.bond.runner.start(self.bond.mac_bytes())
        now = self.bond.clock.now()
        for member in self.bond.members:
            self.bond.runner.add_member(member, now)
        assert self.bond.device is not None, "set on a bond that has not started"
        self.bond.listeners.open_bond_arp(self.bond.device)
        self.bond._start_runner_tick()
        self.bond._restart_monitors()  # the mode may have changed miimon or arp_interval; and the listeners
        self.bond.failover.reselect()
        if not self.bond.runner.uses_active:
            # A new active member announces the bond's MAC (_change_active);
            # without one, do it here: alb told peers other members' MACs.
            first_up = next((m for m in self.bond.members if m.up), None)
            if first_up is not None:
                self.bond.notifier.notify_round(first_up)

    def _retire_runner(self) -> None:
        """Leaving 802.3ad: every port sends its last LACPDU (no longer
        aggregating), so the partner stops using the links now rather than
        at its LACP timeout (3 or 90 s)."""
        for member, frame in self.bond.runner.stop(list(self.bond.members), self.bond.clock.now()):
            self.bond._send_control(member, frame)

    def _place_member_macs(self) -> None:
        """Each member's MAC as _attach would set it under the new runner:
        tlb/alb give every member its own, fail_over_mac active/follow leave
        members their permanent ones (the active member's is handled when it
        is chosen), otherwise every member carries the bond's."""
        fom = self.bond.opts.fail_over_mac
        for i, member in enumerate(self.bond.members):
            if self.bond.runner.unique_macs:
                mac = mac_to_bytes(self.bond.membership.unique_mac_for(member.original, self.bond.members[:i]))
            elif (
                fom == FAIL_OVER_MAC_NONE
                or self.bond.opts.mode != BOND_MODE_ACTIVEBACKUP
                or (fom == FAIL_OVER_MAC_FOLLOW and i == 0)
            ):
                mac = self.bond.mac_bytes()
            else:
                mac = mac_to_bytes(member.perm_hwaddr)
            if mac != member.mac_bytes:
                self.bond.failover.set_member_mac(member, mac)

    # ----------------------------------------------------------- data path
    def _switch_datapath(self, datapath: str, workers: int) -> None:
        """Rebuild the bond device on another data path, keeping members,
        addresses and the gateway; traffic pauses for the rebuild (about
        0.1-0.5 s)."""
        if datapath == "ebpf":  # refuse before tearing anything down
            from ..datapath import ebpf

            ok, why = ebpf.available()
            if not ok:
                raise BondError(f"{self.bond.name}: datapath=ebpf: the eBPF data path cannot run here: {why}")
        addresses = self.bond.links.addresses(self.bond.name)
        old = self.bond.device
        assert old is not None, "set on a bond that has not started"
        self.bond.listeners.close_bond_arp()
        for member in self.bond.members:
            old.close_member(member.sock, member.ifindex)
            member.sock.close()
        old.close()
        self.bond.device, notice = self.bond._make_device(self.bond.name, datapath, mac=self.bond.mac, workers=workers)
        # A new device is a new ifindex: the link monitor's filter and the
        # bond's own link events (MTU, GSO limits) must follow it.
        self.bond.ifindex = self.bond.links.index(self.bond.name)
        self.bond.health.listen_to_links()
        if notice:
            self.bond._event("warning", notice, level=logging.WARNING, prefix=False)
        if self.bond.mac:
            self.bond.links.set_mac(self.bond.name, self.bond.mac)
        self.bond.device.set_carrier(self.bond.carrier)
        self.bond.links.set_up(self.bond.name, True)
        self.bond.inheritance.carry_over()  # up --inherit: addresses with their flags, and routes
        for cidr in addresses:
            self.bond.links.add_address(self.bond.name, cidr)
        self.bond._add_default_routes()
        self.bond.device.start()
        for member in self.bond.members:
            member.sock, member.send_control = self.bond.device.open_member(
                member.name, member.ifindex, member.mac_bytes
            )
        self.bond.listeners.open_bond_arp(self.bond.device)
        self.bond._start_worker_watch()
        proctitle.set_bond_title(self.bond.name, self.bond.device.kind)  # ps showed the old path
        self.bond._event(
            "option",
            f"data path switched to {self.bond.device.kind}"
            + (f" with {workers} workers" if self.bond.device.workers() else ""),
        )
        self.bond._publish()
