#!/usr/bin/env bash
# Installs what softbond, its demo and its tests need on a fresh Debian machine.
# Usage: scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for tool in ip:iproute2 ping:iputils-ping ethtool:ethtool clang:clang llc:llvm; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
# eBPF data path: headers to build src/softbond/datapath/ebpf/bond.bpf.c, libbpf1 to load it.
[ -e /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
if [ "${1:-}" = "--test" ]; then
  # netplan, nmcli and ifquery: the config readers' tests compare with the tools' own reading.
  # prometheus (promtool) and prometheus-node-exporter: the fleet monitoring tests run their own, on a
  # namespace's loopback; where systemd runs, Debian also starts both as services.
  for tool in iperf3:iperf3 tmux:tmux tcpdump:tcpdump ovs-vswitchd:openvswitch-switch tshark:tshark \
              chromium:chromium netplan:netplan.io nmcli:network-manager ifquery:ifupdown \
              prometheus:prometheus prometheus-node-exporter:prometheus-node-exporter zsh:zsh; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
  done
  # softbond-cni's tests chain it with the reference CNI plugins (host-local, macvlan in /usr/lib/cni).
  [ -x /usr/lib/cni/host-local ] || need+=(containernetworking-plugins)
  # ifenslave's script is what reads the bond-* options; the ifupdown reader's test reads it.
  [ -e /etc/network/if-pre-up.d/ifenslave ] || need+=(ifenslave)
  # test_deb installs the .deb with dpkg -i: its Depends must be here already.
  for pkg in python3-pyroute2 python3-aiohttp python3-prometheus-client python3-rich python3-yaml; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
fi
if [ "${1:-}" = "--test" ]; then
  # --- kernel oracle (tests/oracle): Debian's 6.1 kernel and its bonding.ko,
  # booted under QEMU with a busybox initramfs built by tests/oracle/vm.py.
  command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
  compgen -G '/boot/vmlinuz-6.1.*-amd64' >/dev/null || need+=(linux-image-amd64)
  [ -x /bin/busybox ] || need+=(busybox-static)
  command -v cpio >/dev/null 2>&1 || need+=(cpio)
  # --- end kernel oracle
fi
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture: answer no, quietly.
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
PY=${PYTHON:-python3}
# An editable install leaves the sources uncompiled, and where
# PYTHONDONTWRITEBYTECODE is set every softbond command would compile them
# again (a tenth of a second of each `softbond up` or `status`).
"$PY" -m compileall -q src/softbond >/dev/null || true
if [ "${1:-}" = "--test" ]; then
  "$PY" -m pip install -q -e '.[test]' 2>&1 | grep -v "^WARNING: Running pip as" || true
  # make lint's type check, pinned: a new mypy finds new errors, and CI must
  # not fail on a release day (raise the pin in a commit that fixes them).
  "$PY" -m pip install -q mypy==2.4.1 types-PyYAML==6.0.12.20261122 2>&1 | grep -v "^WARNING: Running pip as" || true
else
  "$PY" -m pip install -q -e . 2>&1 | grep -v "^WARNING: Running pip as" || true
fi
