"""softbond-cni's protocol side, held to the reference plugins' own output
(tests/data/cni, from Debian's containernetworking-plugins) and to the
spec's error objects. The plugin is run as a runtime runs it: CNI_*
variables and the network configuration on stdin; nothing here reaches a
network namespace (every case is refused before that)."""
import json
import os
import subprocess
import sys

import jsonschema
import pytest

from softbond.faces.cni import netconf, spec

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "cni")
VERSIONS = ("1.0.0", "0.4.0", "0.3.1")


def reference(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)


def schema():
    return reference("result.schema.json")


@pytest.mark.parametrize("version", VERSIONS)
def test_results_are_shaped_like_host_local_in_each_version(version):
    # host-local's 1.0.0 result, re-encoded by softbond-cni for `version`, is
    # what host-local itself prints for that version.
    current = reference("host-local-add-1.0.0.json")
    internal = {"ips": spec.normalise_ips(current["ips"]), "routes": current["routes"], "dns": current["dns"]}
    ours = spec.encode_result(internal, version)
    assert ours == reference(f"host-local-add-{version}.json")
    jsonschema.validate(ours, schema())


def test_version_output_matches_the_reference_shape():
    ref = reference("host-local-version.json")
    ours = spec.version_info()
    assert ours.keys() == ref.keys() and ours["cniVersion"] == ref["cniVersion"] == "1.0.0"
    assert set(ours["supportedVersions"]) >= set(VERSIONS)
    assert set(ours["supportedVersions"]) <= set(ref["supportedVersions"])


def bond_cni_config(**extra):
    config = {"cniVersion": "1.0.0", "name": "bondnet", "type": "softbond-cni", "ifname": "bond0",
              "mode": "active-backup", "miimon": "100", "links": [{"name": "net1"}, {"name": "net2"}],
              "linksInContainer": True, "ipam": {"type": "host-local", "subnet": "10.56.217.0/24"}}
    config.update(extra)
    return config


def test_bond_cni_keys_become_softbond_options():
    conf = netconf.parse(bond_cni_config(failOverMac=1, mtu=1400, xmit_hash_policy="layer3+4",
                                         arp_ip_target=["10.0.0.1", "10.0.0.2"], use_carrier=True), "eth9")
    assert (conf.bond, conf.links, conf.links_in_container, conf.mtu) == ("bond0", ["net1", "net2"], True, 1400)
    assert conf.options == ["mode=active-backup", "miimon=100", "fail_over_mac=active",
                            "xmit_hash_policy=layer3+4", "arp_ip_target=10.0.0.1,10.0.0.2", "use_carrier=1"]


def test_miimon_as_number_and_ifname_from_the_environment():
    config = bond_cni_config(miimon=50, mtu=0)
    del config["ifname"]
    conf = netconf.parse(config, "net0")
    assert conf.bond == "net0" and "miimon=50" in conf.options and conf.mtu is None


@pytest.mark.parametrize("extra, words", [
    ({"miimon": "fast"}, ["miimon", "fast"]),
    ({"failOverMac": 3}, ["failOverMac", "3"]),
    ({"links": [{"name": "net1"}, {"name": "net1"}]}, ["links", "net1"]),
    ({"links": []}, ["links"]),
    ({"linksInContainer": "yes"}, ["linksInContainer"]),
    ({"xmit_hash_polcy": "layer2"}, ["xmit_hash_polcy", "xmit_hash_policy"]),
    ({"lacp_rate": "fast"}, ["lacp_rate"]),                          # not in active-backup
    ({"mtu": 40}, ["mtu", "40"]),
    ({"ipam": {"type": "../../bin/sh"}}, ["ipam"]),
])
def test_bad_configurations_are_refused_naming_the_key(extra, words):
    with pytest.raises(spec.CniError) as info:
        netconf.parse(bond_cni_config(**extra), "eth0")
    assert info.value.code == spec.INVALID_CONFIG
    for word in words:
        assert word in info.value.msg


ENV = {"CNI_CONTAINERID": "c0ffee", "CNI_NETNS": "/run/netns/softbond-cni-none", "CNI_IFNAME": "net0",
       "CNI_PATH": "/usr/lib/cni"}


def run_plugin(command, stdin, **env):
    full = {**os.environ, **ENV, "CNI_COMMAND": command, **env}
    full = {k: v for k, v in full.items() if v is not None}
    proc = subprocess.run([sys.executable, "-m", "softbond.faces.cni"], input=stdin, capture_output=True,
                          text=True, env=full, timeout=60)
    assert "Traceback" not in proc.stderr + proc.stdout
    return proc


def error_of(proc, code):
    assert proc.returncode != 0, proc.stdout
    error = json.loads(proc.stdout)
    assert error["code"] == code, error
    assert set(error) <= {"cniVersion", "code", "msg", "details"} and error["msg"]
    return error


def test_version_command():
    proc = run_plugin("VERSION", '{"cniVersion": "1.0.0"}')
    assert proc.returncode == 0 and json.loads(proc.stdout) == spec.version_info()


@pytest.mark.parametrize("command, stdin, env, code", [
    ("ADD", "nope", {}, spec.DECODE_FAILURE),
    ("ADD", "[1]", {}, spec.DECODE_FAILURE),
    ("ADD", json.dumps(bond_cni_config()), {"CNI_NETNS": None}, spec.INVALID_ENV),
    ("ADD", json.dumps(bond_cni_config()), {"CNI_CONTAINERID": "a/../b"}, spec.INVALID_ENV),
    ("FROB", json.dumps(bond_cni_config()), {}, spec.INVALID_ENV),
    ("ADD", json.dumps(bond_cni_config(cniVersion="9.9.9")), {}, spec.INCOMPATIBLE_VERSION),
    ("ADD", json.dumps(bond_cni_config(mode="active-backupp")), {}, spec.INVALID_CONFIG),
    ("CHECK", json.dumps(bond_cni_config(cniVersion="0.3.1")), {}, spec.INCOMPATIBLE_VERSION),
    ("ADD", json.dumps(bond_cni_config()), {}, spec.UNKNOWN_CONTAINER),       # no such CNI_NETNS
])
def test_errors_are_the_spec_error_object(command, stdin, env, code):
    error = error_of(run_plugin(command, stdin, **env), code)
    if code == spec.INVALID_CONFIG:
        assert "active-backupp" in error["msg"]


def test_a_chained_add_extends_prev_result():
    # The spec: a plugin given prevResult returns it with its own additions;
    # the bond's IPs point at the bond's place in the longer list.
    from softbond.faces.cni import plugin
    prev = {"cniVersion": "0.4.0", "interfaces": [{"name": "eth0", "sandbox": "/run/netns/x"}],
            "ips": [{"version": "4", "address": "10.0.0.2/24", "interface": 0}], "routes": [{"dst": "0.0.0.0/0"}]}
    conf = netconf.parse(bond_cni_config(prevResult=prev), "net0")
    addressing = {"ips": [{"address": "10.56.217.5/24"}], "routes": [], "dns": {}}
    macs = {"bond0": "02:00:00:00:00:01", "net1": "02:00:00:00:00:01", "net2": "02:00:00:00:00:01"}
    result = spec.encode_result(plugin.add_result(conf, {"netns": "/run/netns/x"}, addressing, macs), "0.4.0")
    jsonschema.validate(result, schema())
    assert [i["name"] for i in result["interfaces"]] == ["eth0", "bond0", "net1", "net2"]
    assert result["ips"] == [{"version": "4", "address": "10.0.0.2/24", "interface": 0},
                             {"version": "4", "address": "10.56.217.5/24", "interface": 1}]
    assert result["routes"] == [{"dst": "0.0.0.0/0"}]
