#!/bin/sh
# Makes metrics.txt: Debian's prometheus-node-exporter (1.5.0) with only its
# bonding collector, reading the fake sysfs beside this script (bond0 with
# eth0 up and eth1 down), on a loopback port. softbond's node_bonding_*
# series are compared with it (tests/unit/test_metrics_textfile.py).
set -eu
cd "$(dirname "$0")"
port=${1:-19100}
prometheus-node-exporter --collector.disable-defaults --collector.bonding --path.sysfs="$PWD/sys" \
    --web.listen-address="127.0.0.1:$port" 2>/dev/null &
pid=$!
trap 'kill $pid' EXIT
sleep 1
curl -s "http://127.0.0.1:$port/metrics" | grep '^# [A-Z]* node_bonding_\|^node_bonding_' > metrics.txt
