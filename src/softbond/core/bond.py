"""One bond: its device, members, mode runner, link monitors and the
forwarding snapshot the data path reads.

Everything here runs on the control plane's asyncio loop. The data path
(datapath.DataPath) only ever sees immutable Snapshots published by
`_publish`.

The decisions (active member, updelay/downdelay, carrier, the ARP/NS
verdicts, the mode runner's output) are the pure core's (decide.BondCore),
which the bond holds as `self.core` and whose actions `_run` carries out.
What the bond needs of the machine comes through ports (ports.py): the
links, the clock and the data path factory, which a unit test replaces
(tests/unit/test_whole_bond.py).

The bond composes objects that own their state and take what they need in
their constructors: `membership` (membership.Membership: enslaving,
releasing, member MACs, link messages about members), `failover`
(failover.Failover: reselect, MAC moves, carrier), `health`
(health.LinkHealth: link messages, miimon, the ARP/NS monitor),
`listeners` (listeners.ControlListeners: the members' control-plane
sockets), `notifier` (notify.PeerNotifier: GARP/NA rounds, IGMP resend),
`limits` (limits.DeviceLimits: MTU, GSO) and `inheritance`
(inherit.Inheritance: `up --inherit`). `live` (live.LiveOptions:
`softbond set`) is given the bond: it replaces the bond's options, runner
and device. This module keeps the lifecycle, the control socket's API, the
mode runner's glue, publishing, events and status.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import logging
import os
import time
from typing import Any, Callable, Iterator, Optional

from .. import __version__
from ..kernel import rundir as runtime
from ..config.model import BondConfig
from ..config.options import BOND_MODE_ACTIVEBACKUP, MODE_NAMES, BondOptions, options_to_json
from ..datapath import devices as bonddev
from ..faces import metrics_textfile
from .decide import BondCore, Log, MoveMac, NotifyPeers, Publish, ResendIgmp, SendControl, SetCarrier, WakeAt
from .carrierthread import CarrierThread
from .errors import BondError
from .failover import Failover
from .health import LinkHealth
from .inherit import Inheritance
from .listeners import ControlListeners
from .ports import Clock, LinksPort, MonotonicClock
from .pathprobe import PathProbe, check_target as check_path_target
from .limits import DeviceLimits
from .notify import PeerNotifier
from .live import LiveOptions
from .membership import Member, Membership
from ..modes import make_runner
from ..modes.flowlet import flowlet_status
from ..kernel import links as linkops
from ..faces.status_mode import lacp_status
from ..wire.ethernet import mac_to_bytes

__all__ = ["Bond", "BondError", "Member"]  # daemon, fuzz and tests import these from here

log = logging.getLogger("softbond")

#: devices.choose's signature: (bond, datapath, mac=, workers=) -> (device, notice or None)
MakeDevice = Callable[..., tuple[Any, Optional[str]]]

EVENT_HISTORY = 500
WORKER_CHECK_INTERVAL = 0.2  # seconds between looks at the data path workers


def _resolve(future: "asyncio.Future[bool]", value: bool) -> None:
    if not future.done():
        future.set_result(value)


class Bond:
    """A bond and its members, composed of parts that own their state (see
    the module's docstring); what is the bond's own is set here."""

    def __init__(
        self, config: BondConfig, links: LinksPort, clock: Clock | None = None, make_device: MakeDevice = bonddev.choose
    ) -> None:
        self.name = config.name
        self.config = config
        runner = make_runner(config.options)
        runner.bond_name = self.name
        # The decisions (active member, link delays, carrier, the runner's
        # output) and the state they decide on: opts, runner, members,
        # active, carrier and failovers below are the core's.
        self.core = BondCore(config.options, runner)
        self._runner_task: asyncio.Task | None = None
        self._tick_faults = 0  # runner ticks that raised (logged, the tick goes on)
        self.links = links
        self.clock = clock or MonotonicClock()
        self._make_device = make_device  # devices.choose, or a test's fake data path
        self.mac: str | None = config.hwaddr.lower() if config.hwaddr else None
        self.ifindex = 0  # the bond device's
        self.limits = DeviceLimits(self.name, links, self.core.members, lambda: self.device, self._event)
        self.events: collections.deque = collections.deque(maxlen=EVENT_HISTORY)
        # Log lines held back while a link event is handled (see _logs_after).
        self._held_logs: list[tuple[int, str]] | None = None
        # Warnings raised while `softbond set` applies an option (warnings_collected).
        self._set_warnings: list[str] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.device: bonddev.PythonDevice | bonddev.EbpfDevice | None = None
        self.health = LinkHealth(
            self.name,
            lambda: self.ifindex,
            links,
            self.clock,
            self.core,
            self._run,
            self._logs_after,
            lambda: self.mac,
            self._send_control,
        )
        self._carrier_thread: CarrierThread | None = None  # eBPF active-backup's fast failover
        self._path: PathProbe | None = None  # [path monitor] path_monitor=on
        self.listeners = ControlListeners(
            links,
            self.clock,
            self.core,
            self.health,
            lambda: self._path,
            self._send_control,
            self._runner_output,
            self._event,
        )
        self.failover = Failover(
            self.name,
            links,
            self.clock,
            self.core,
            self._run,
            lambda: self.device,
            lambda: self.mac,
            self._take_mac,
            self._send_control,
            self._event,
        )
        self.inheritance = Inheritance(
            self.name, links, lambda: self.opts, config.slaves, lambda: self.ifindex, self.core.members, self._event
        )
        self.membership = Membership(
            self.name,
            lambda: self.config,
            links,
            self.clock,
            self.core,
            self.health,
            self.limits,
            self.listeners,
            self.failover,
            self.inheritance,
            path=lambda: self._path,
            device=lambda: self.device,
            mac=lambda: self.mac,
            ifindex=lambda: self.ifindex,
            stopping=lambda: self._stopped,
            take_mac=self._take_mac,
            run=self._run,
            event=self._event,
            publish=self._publish,
        )
        self.live = LiveOptions(self)
        self.notifier = PeerNotifier(
            self.name, links, lambda: self.opts, lambda: self.mac, lambda: self.active, self._send_control
        )
        self._workers_task: asyncio.Task | None = None
        self._stopped = False
        # Wall-clock stamps of the link event being handled ("heard": its
        # netlink message read, "published": the plan written), carried in
        # its failover event so bench/failover.py can split the time.
        self.stamps: dict[str, float] | None = None

    # ------------------------------------------------- the core's state
    opts: BondOptions = property(lambda self: self.core.opts, lambda self, v: setattr(self.core, "opts", v))
    runner = property(lambda self: self.core.runner, lambda self, v: setattr(self.core, "runner", v))
    active: Member | None = property(lambda self: self.core.active, lambda self, v: setattr(self.core, "active", v))
    members: list[Member] = property(lambda self: self.core.members)
    carrier: bool = property(lambda self: self.core.carrier)
    failovers: int = property(lambda self: self.core.failovers)
    mtu: int = property(lambda self: self.limits.mtu)  # the bond device's, as last seen
    gso_limits = property(lambda self: self.limits.gso_limits)  # its gso_max_size, gso_max_segs

    def _run(self, actions: list) -> None:
        """Carry out the core's actions, in the order it gave them."""
        for action in actions:
            kind = type(action)
            if kind is Publish:
                self._publish()
            elif kind is SendControl:
                self._send_control(action.member, action.frame)
            elif kind is Log:
                self._event(action.kind, action.message, action.member, level=action.level)
            elif kind is SetCarrier:
                self.failover.set_carrier(action.on)
            elif kind is NotifyPeers:
                self.notifier.notify(action.member)
            elif kind is ResendIgmp:
                self.notifier.resend_igmp(action.member)
            elif kind is MoveMac:
                self.failover.move_mac(action.old, action.new)
            elif kind is WakeAt:
                self.health.wake_at(action.member, action.when)
            else:
                raise TypeError(f"unknown action {action!r}")

    # ------------------------------------------------------------------ life
    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.notifier.loop = self.health.loop = self.listeners.loop = self.membership.loop = self.loop
        self.membership.check_enslaveable(self.config.slaves)
        check_path_target(self, self.opts, starting=True)  # [path monitor]
        metrics_textfile.check_dir(self.name, self.opts.metrics_textfile)
        self.membership.adopted.update(runtime.recover_leftovers(self.name, self.links, adopt=self.config.slaves))
        if self.opts.inherit:  # the first member's MAC and MTU shape the device
            source = self.inheritance.prepare(self.membership.adopted)
            if self.mac is None:
                self.mac = source.mac.lower()
            if self.config.mtu is None:
                self.config = dataclasses.replace(self.config, mtu=source.mtu)
        try:
            self.device, notice = self._make_device(
                self.name, self.opts.datapath, mac=self.mac, workers=self.opts.datapath_workers
            )
        except RuntimeError as exc:
            raise BondError(str(exc)) from None
        if notice:
            self._event("warning", notice, level=logging.WARNING, prefix=False)
        runtime.write_state(self.name, os.getpid(), [])
        if self.mac:
            self.links.set_mac(self.name, self.mac)
        self.ifindex = self.links.index(self.name)
        self.limits.read()
        try:
            self.limits.apply_configured_mtu(self.config.mtu)
        except linkops.LinkError as exc:
            raise BondError(f"{self.name}: {exc}") from None
        self.failover.set_carrier(False)
        self.links.set_up(self.name, True)
        for cidr in self.config.addresses:
            self.links.add_address(self.name, cidr)
        self.device.start()
        self.listeners.open_bond_arp(self.device)
        # SOFTBOND_LINK_EVENTS=0 leaves only the miimon poll (benchmarks
        # compare the two detection paths with it).
        if os.environ.get("SOFTBOND_LINK_EVENTS", "1") != "0":
            self.health.open_link_monitor(self._on_link_events)
            self._carrier_thread = CarrierThread.start_for(self)
        if self.opts.inherit:
            self.inheritance.take_over()
        for name in self.config.slaves:
            self.membership.enslave_checked(name)  # checked, all of them, before anything was touched
        self._add_default_routes()
        self._restart_monitors()
        self._start_runner_tick()
        self._start_worker_watch()
        for warning in self.config.warnings:
            self._event("warning", warning, level=logging.WARNING, prefix=False)

    async def stop(self) -> None:
        """Release every member (restoring it) and remove the bond device."""
        if self._stopped:
            return
        self._stopped = True
        self.notifier.stop()
        self.health.stop()
        for task in (self._runner_task, self._workers_task):
            if task:
                task.cancel()
        if self._path is not None:  # [path monitor]
            self._path.stop()
        if self._carrier_thread is not None:
            self._carrier_thread.stop()
            self._carrier_thread = None
        self.listeners.close_bond_arp()
        for member in self.inheritance.release_order():
            self.membership.detach(member, log_it=False)
        self.inheritance.give_back()
        if self.device is not None:
            self.device.close()
            # Only a bond that got as far as its device wrote the record: a
            # refused start leaves a crashed run's record (or a running
            # bond's) for whoever repairs it.
            runtime.remove_state(self.name)

    # ------------------------------------------------------------ public API
    def set_active(self, name: str) -> None:
        """ifenslave -c / sysfs active_slave: force a member active."""
        if not self.core.uses_primary():
            raise BondError(
                f"{self.name}: option active_slave: mode dependency failed, not supported in mode "
                f"{MODE_NAMES[self.opts.mode]}({self.opts.mode})"
            )
        member = self.membership.member(name)
        if not member.up:
            raise BondError(f"{self.name}: (slave {name}): Setting {name} as active slave failed: link is not up")
        if member is not self.active:
            self.failover.change_active(member)
            self._publish()

    # The control socket's requests (daemon.ControlServer; fuzz/harnesses.py
    # fakes the same API): members checked first, all of them, then changed.
    def check_enslaveable(self, names: list[str]) -> None:
        self.membership.check_enslaveable(names)

    def enslave(self, name: str) -> None:
        self.membership.enslave(name)

    def check_releasable(self, names: list[str]) -> None:
        self.membership.check_releasable(names)

    def release(self, name: str) -> None:
        self.membership.release(name)

    def set_option(self, name: str, value: str) -> list[str]:
        return self.live.set_option(name, value)

    def _take_mac(self, mac: str) -> None:
        """The bond device takes `mac` (its first member's, or with
        fail_over_mac=active the new active member's)."""
        self.mac = mac
        self.links.set_mac(self.name, mac)

    def _add_default_routes(self) -> None:
        """One default route per address family, through the bond."""
        for gateway in (self.config.gateway, self.config.gateway6):
            if gateway:
                self.links.add_default_route(self.name, gateway)

    def _restart_monitors(self) -> None:
        """The link monitors and the members' listeners as the options say
        now (at start, and after `softbond set` changed them)."""
        self.health.stop_monitors()
        for member in self.members:
            self.listeners.close(member)
        if self._path is not None:  # [path monitor]
            self._path.stop()
        for member in (m for m in self.members if not m.path_ok):
            member.path_ok = True
            self.health.observe(member, member.carrier, self.clock.now())
        self._path = PathProbe.start(self)
        self.health.start_monitors(self.opts)
        for member in self.members:
            self.listeners.open(member)

    # ------------------------------------------------------------ mode runner
    def _start_runner_tick(self) -> None:
        if self._runner_task:
            self._runner_task.cancel()
        self._runner_task = None
        self.runner.read_queues = self.links.root_queues  # flowlet: the gap follows the members' qdiscs
        self.runner.read_committed = self._committed_slots  # flowlet: loads where frames leave
        self.runner.read_rates = self.links.line_rates  # flowlet: the data paths model the members' queues
        if self.runner.tick_interval and self.loop is not None:
            self._runner_task = self.loop.create_task(self._runner_tick(self.runner))

    def _committed_slots(self) -> list[int] | None:
        return self.device.read_committed() if self.device is not None else None

    async def _runner_tick(self, runner) -> None:
        """The mode's periodic work: tlb rebalancing, alb learning frames and
        client updates, the 802.3ad state machines; run when the runner
        says it is due (next_tick), asked again whenever it calls wake."""
        last = self.clock.now()
        while True:
            due = runner.next_tick(last)
            if self.clock.now() < due:
                woken = self.loop.create_future()
                runner.wake = functools.partial(_resolve, woken, True)
                self.clock.call_at(due, _resolve, woken, False)
                if await woken:
                    continue  # a timer may have moved earlier: ask again
            now = last = self.clock.now()
            try:
                self._run(self.core.runner_tick(now))
                if self.device is not None and self.device.tick(runner, now):
                    self._publish()
            except Exception:
                # A fault in one tick must not end the mode's periodic work
                # for good (LACP's timers, tlb/flowlet rebalancing): said in
                # the log, the first time and then at every power of two.
                self._tick_faults += 1
                if self._tick_faults & (self._tick_faults - 1) == 0:
                    log.exception(
                        "%s: the %s runner's tick failed (%d times so far); it goes on",
                        self.name,
                        MODE_NAMES[self.opts.mode],
                        self._tick_faults,
                    )

    def _start_worker_watch(self) -> None:
        """Only a device with worker processes is watched: the others would
        wake the daemon five times a second for nothing."""
        if self._workers_task:
            self._workers_task.cancel()
            self._workers_task = None
        if self.device.workers() and self.loop is not None:
            self._workers_task = self.loop.create_task(self._watch_workers())

    async def _watch_workers(self) -> None:
        """datapath_workers > 1: a worker process that died is replaced on
        its TAP queue at once (its share of the flows waits meanwhile)."""
        while True:
            await self.clock.sleep(WORKER_CHECK_INTERVAL)
            for message in self.device.check_workers():
                self._event("warning", f"{self.name}: {message}", level=logging.WARNING, prefix=False)
                self._publish()

    def _runner_output(self, frames) -> None:
        self._run(self.core.runner_output(frames))

    def _send_control(self, member: Member, frame: bytes) -> None:
        try:
            member.send_control(frame)
        except OSError:  # a full or vanished member socket: the frame is lost, counted
            member.control_send_errors += 1

    # --------------------------------------------------------------- publish
    def _on_link_events(self, events: list, now: float) -> None:
        """Link messages, as health's monitor read them, stamped for
        bench/failover.py's split of a failover ("heard": when they were
        read; the failover event carries the stamps)."""
        self.stamps = {"heard": time.time()}
        if self._carrier_thread is not None:
            self._carrier_thread.fire_first(events)
        try:
            self.membership.handle_link_events(events, now)
        finally:
            self.stamps = None

    def usable(self, failing: Member | None = None) -> list[Member]:
        """The members a plan may send by: up, and not taken out by the path
        monitor (which in 802.3ad leaves the link up: see
        Runner.path_takes_link_down); `failing` left out (the carrier
        thread's plan for after its failure)."""
        return [m for m in self.members if m.up and m.path_ok and m is not failing]

    def mac_bytes(self) -> bytes:
        return mac_to_bytes(self.mac) if self.mac else bytes(6)

    def _publish(self) -> None:
        if self.device is None:
            return
        self.device.publish(self.runner, self.members, self.usable(), self.active, self.mac_bytes())
        if self.stamps is not None:
            self.stamps["published"] = time.time()
        if self._carrier_thread is not None:
            self._carrier_thread.schedule_rearm()

    # ---------------------------------------------------------------- events
    def _event(
        self, kind: str, message: str, member: Member | None = None, *, level: int = logging.INFO, prefix: bool = True
    ) -> None:
        if member is not None:
            text = f"{self.name}: (slave {member.name}): {message}"
        elif prefix:
            text = f"{self.name}: {message}"
        else:
            text = message
        record = {"time": time.time(), "kind": kind, "slave": member.name if member else None, "message": text}
        if kind == "failover":
            stamps = {
                **(self.stamps or {}),
                **(self._carrier_thread.stamps_for(member) if self._carrier_thread else {}),
            }
            if stamps:
                record["stamps"] = stamps
        self.events.append(record)
        if kind == "warning" and self._set_warnings is not None:
            self._set_warnings.append(text)
        if self._held_logs is not None:
            self._held_logs.append((level, text))
        else:
            log.log(level, "%s", text)

    @contextlib.contextmanager
    def warnings_collected(self) -> Iterator[list[str]]:
        """The warning events logged meanwhile (`softbond set` replies with
        them; the CLI prints them on stderr)."""
        self._set_warnings = collected = []
        try:
            yield collected
        finally:
            self._set_warnings = None

    @contextlib.contextmanager
    def _logs_after(self):
        """Hold the log lines of a link event until it has been handled: a
        log call (formatting, the handler's write) costs about 0.1 ms, and
        the failover it reports should not wait for it. The event records
        are kept in order at once; the lines follow in the same order."""
        if self._held_logs is not None:  # nested: the outer one flushes
            yield
            return
        self._held_logs = []
        try:
            yield
        finally:
            held, self._held_logs = self._held_logs, None
            for level, text in held:
                log.log(level, "%s", text)

    # ---------------------------------------------------------------- status
    def _port_info(self, member: Member) -> dict | None:
        """The member's 802.3ad port (startup.py waits on it), or None."""
        return self.runner.member_status(member.name)

    def _slave_state(self, member: Member) -> str:
        """sysfs slave state: only active-backup has backups; in the load
        balancing modes (tlb and alb included, bond_is_lb) every member is
        active."""
        if self.opts.mode == BOND_MODE_ACTIVEBACKUP:
            return "active" if member is self.active else "backup"
        collecting = self.runner.member_collecting(member.name)
        return "backup" if collecting is False else "active"

    def _member_counters(self, m: Member) -> dict:
        nic = self.links.counters(m.name)
        return self.device.member_counters(m.name, m.ifindex, nic) if self.device else nic

    def status(self) -> dict:
        slaves = []
        for m in self.members:
            speed, duplex = self.links.speed_duplex(m.name)
            mtu = int(self.links.sysfs(m.name, "mtu") or 0)
            slaves.append(
                {
                    "name": m.name,
                    "mii_status": m.link.state,
                    "speed_mbps": speed,
                    "duplex": duplex,
                    "link_failure_count": m.link.failures,
                    "perm_hwaddr": m.perm_hwaddr,
                    "queue_id": 0,
                    "prio": m.prio,
                    "state": self._slave_state(m),
                    # As they are now, whoever changed them: the kernel
                    # leaves a slave's MAC and MTU to the admin once enslaved.
                    "hwaddr": self.links.sysfs(m.name, "address") or m.mac_bytes.hex(":"),
                    "mtu": mtu,
                    "mtu_below_bond": 0 < mtu < self.mtu,
                    "carrier": m.carrier,
                    "counters": self._member_counters(m),
                    "protocols": self.device.protocol_counters(m.ifindex) if self.device else None,
                    "control_send_errors": m.control_send_errors,
                    "ad": self._port_info(m),
                    "path": self._path.status(m) if self._path is not None else None,  # [path monitor]
                }
            )
        status = {
            "bond": self.name,
            "softbond_version": __version__,
            "driver_version": os.uname().release,
            "mode": MODE_NAMES[self.opts.mode],
            "mode_id": self.opts.mode,
            "options": options_to_json(self.opts),
            "mii_status": "up" if self.carrier else "down",
            "active_slave": self.active.name if self.active else None,
            "datapath": self.device.kind if self.device else None,
            "datapath_workers": self.device.workers() if self.device else None,
            "datapath_loop": self.device.loop() if self.device else None,
            "flowlet": flowlet_status(self.opts, self.device, self.runner),
            "pid": os.getpid(),
            "hwaddr": self.mac,
            "mtu": self.mtu,
            "gso_max_size": self.gso_limits[0],
            "gso_max_segs": self.gso_limits[1],
            "addresses": self.links.addresses(self.name),
            "failovers": self.failovers,
            "member_packets": bonddev.WIRE_PACKETS,
            "rx_dropped_inactive": self.device.rx_dropped(self.members) if self.device else 0,
            "carrier_rescue": self.device.carrier_rescue if self.device else None,
            "slaves": slaves,
            "protocols": bonddev.protocol_totals(s["protocols"] for s in slaves),
            "ad_info": None,
            "alb_clients": None,
            "events": list(self.events)[-20:],
        }
        status.update(self.runner.status())  # the keys above keep their places
        status["lacp_status"] = lacp_status(status)  # negotiated | configured (no partner) | ...
        return status
