"""Debian's kernel under QEMU, for the differential tests against the real
bonding driver (tests/oracle/, issue 19).

The recipe (see docs/kernel-differences.md): TCG, because the host's KVM is
PVM and cannot run a stock kernel; the uncompressed vmlinux through qboot,
because decompressing the bzImage under emulation costs 5-6 s of a boot; the
host's root over virtio-9p read-only with a tmpfs overlay, so the guest runs
the host's own Python and iproute2; a busybox initramfs that only mounts
that and runs /oracle/run.sh from a writable share, where the guest also
leaves its results. One boot serves a whole test session.
"""
from __future__ import annotations

import glob
import hashlib
import lzma
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CACHE = Path(os.environ.get("SOFTBOND_ORACLE_CACHE", "/var/cache/softbond-oracle"))
QEMU = "qemu-system-x86_64"
QBOOT = "/usr/share/qemu/qboot.rom"
BUSYBOX = "/bin/busybox"
# What the initramfs must load to mount the host's root over 9p.
BOOT_MODULES = ("virtio_pci", "9pnet_virtio", "9p", "overlay")
SETUP_HINT = "run scripts/setup.sh --test (apt: qemu-system-x86 linux-image-amd64 busybox-static)"
XZ_MAGIC = b"\xfd7zXZ\x00"

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
for m in $(cat /modules.order); do insmod /modules/$m || echo "oracle-init: insmod $m failed"; done
mkdir -p /host /upper /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro hostroot /host || echo "oracle-init: 9p failed"
mount -t tmpfs tmpfs /upper
mkdir -p /upper/u /upper/w
mount -t overlay overlay -o lowerdir=/host,upperdir=/upper/u,workdir=/upper/w /newroot
for d in proc sys dev tmp run oracle; do mkdir -p /newroot/$d; done
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mount -t tmpfs tmpfs /newroot/tmp
mount -t tmpfs tmpfs /newroot/run
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results /newroot/oracle
# Without udev the kernel runs /sbin/modprobe in this root: send it to the host's.
printf '#!/bin/busybox sh\nexec chroot /newroot /sbin/modprobe "$@"\n' > /sbin/modprobe-host
chmod +x /sbin/modprobe-host
echo /sbin/modprobe-host > /proc/sys/kernel/modprobe
echo "oracle-init: running"
chroot /newroot /bin/sh /oracle/run.sh > /newroot/oracle/guest.log 2>&1
echo "oracle-init: done rc=$?"
sync
poweroff -f
"""


class OracleUnavailable(RuntimeError):
    """A package the oracle needs is missing: an error, never a skip."""


def kernel_release() -> str:
    """The Debian 6.1 kernel (the one linux-image-amd64 installs on bookworm),
    or SOFTBOND_ORACLE_KERNEL."""
    wanted = os.environ.get("SOFTBOND_ORACLE_KERNEL")
    found = sorted(os.path.basename(p)[len("vmlinuz-"):] for p in glob.glob("/boot/vmlinuz-*"))
    found = [r for r in found if os.path.exists(f"/lib/modules/{r}/kernel/drivers/net/bonding/bonding.ko")]
    if wanted:
        if wanted not in found:
            raise OracleUnavailable(f"kernel {wanted} (SOFTBOND_ORACLE_KERNEL) has no /boot/vmlinuz or bonding.ko: "
                                    f"{SETUP_HINT}")
        return wanted
    for release in found:
        if release.startswith("6.1."):
            return release
    raise OracleUnavailable(f"no Debian 6.1 kernel with bonding.ko in /boot: {SETUP_HINT}")


def check_tools() -> None:
    missing = [p for p in (QBOOT, BUSYBOX) if not os.path.exists(p)]
    missing += [QEMU] if shutil.which(QEMU) is None else []
    if missing:
        raise OracleUnavailable(f"missing {', '.join(missing)}: {SETUP_HINT}")


def vmlinux(release: str) -> Path:
    """The uncompressed kernel, cut once out of the bzImage (qboot boots its
    PVH entry directly)."""
    out = CACHE / release / "vmlinux"
    if not out.exists():
        data = Path(f"/boot/vmlinuz-{release}").read_bytes()
        start = data.find(XZ_MAGIC)
        if start < 0:
            raise OracleUnavailable(f"/boot/vmlinuz-{release}: no xz payload (not a Debian amd64 kernel?)")
        elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[start:])
        _write_atomic(out, elf)
    return out


def _module_paths(release: str) -> list[str]:
    paths: list[str] = []
    for module in BOOT_MODULES:
        proc = subprocess.run(["modprobe", "-S", release, "--show-depends", module],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise OracleUnavailable(f"modprobe --show-depends {module} for {release}: {proc.stderr.strip()}")
        for line in proc.stdout.splitlines():
            words = line.split()
            if words[:1] == ["insmod"] and words[1] not in paths:
                paths.append(words[1])
    return paths


def initramfs(release: str) -> Path:
    """busybox, the modules 9p needs and INIT, as a newc cpio; named by a
    hash of what went in, so a changed INIT builds a new one."""
    modules = _module_paths(release)
    key = hashlib.sha256((INIT + "\n".join(modules)).encode()).hexdigest()[:12]
    out = CACHE / release / f"initramfs-{key}.cpio"
    if out.exists():
        return out
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for d in ("bin", "sbin", "proc", "modules", "dev"):
            (root / d).mkdir()
        shutil.copy(BUSYBOX, root / "bin/busybox")
        (root / "init").write_text(INIT)
        (root / "init").chmod(0o755)
        for path in modules:
            shutil.copy(path, root / "modules" / os.path.basename(path))
        (root / "modules.order").write_text("\n".join(os.path.basename(p) for p in modules) + "\n")
        files = subprocess.run(["find", "."], cwd=root, capture_output=True, text=True, check=True).stdout
        image = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files.encode(),
                               capture_output=True, check=True).stdout
    _write_atomic(out, image)
    return out


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def start(share: Path, console: Path, taps: tuple[tuple[str, str], ...] = ()) -> subprocess.Popen:
    """Boots the guest, which runs share/run.sh as root in a copy of the host's
    root (share is /oracle there) and powers off. Returns the running QEMU.
    taps: (host TAP name, guest MAC) of virtio NICs to give the guest, with a
    speed and duplex (without them the kernel's 802.3ad sends no LACPDU)."""
    check_tools()
    release = kernel_release()
    argv = [QEMU, "-machine", "pc", "-bios", QBOOT, "-accel", "tcg,thread=multi", "-cpu", "max",
            "-smp", "2", "-m", "1024", "-display", "none", "-monitor", "none", "-no-reboot",
            "-serial", f"file:{console}",
            "-kernel", str(vmlinux(release)), "-initrd", str(initramfs(release)),
            # no_timer_check: under emulation on a busy host the IO-APIC timer
            # check can time out and panic the boot ("timer doesn't work").
            "-append", "console=ttyS0 panic=-1 loglevel=4 no_timer_check",
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
            "-virtfs", f"local,path={share},mount_tag=results,security_model=none,multidevs=remap"]
    for j, (tap, mac) in enumerate(taps):
        argv += ["-netdev", f"tap,id=n{j},ifname={tap},script=no,downscript=no",
                 "-device", f"virtio-net-pci,netdev=n{j},mac={mac},speed=10000,duplex=full"]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
