"""datapath/abi.py against bond.bpf.c: the #defines, the structs' field
offsets, sizes and signedness, the maps' sizes and the program names.

bond.bpf.c compiles for the host as well (bpf_helpers.h only declares
things), so a probe includes it whole and prints what the compiler made of
it, the way libbpf reads map definitions: `__uint(max_entries, N)` is a
pointer to int[N], `__type(value, T)` a pointer to T. No root needed.
"""
from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest

from softbond.datapath import abi

BPF_SOURCE = Path(abi.__file__).parent / "ebpf" / "bond.bpf.c"

# The #defines the Python side mirrors, by C name -> datapath_abi name.
_ABI_DEFINE = re.compile(r"^#define ((?:MODE|POL|RX|SB_F|PC|SB_PROTO)_\w+|SB_MAX_MEMBERS|SB_BUCKETS|SB_STAT_SLOTS|SB_RX_SLOTS|SB_FLOWLET_SCAN)\b",
                         re.M)
_ABI_ATTRIBUTE = re.compile(r"^(?:(?:MODE|POL|RX|F|PC|PROTO)_(?!CLASSES$|DIRECTIONS$|BLOCK$|SLOT$)\w+|MAX_MEMBERS|BUCKETS"
                            r"|STAT_SLOTS|FLOWLET_SCAN)$")
_STRUCT = re.compile(r"^struct (sb_\w+) \{(.*?)^\};", re.M | re.S)
_FIELD = re.compile(r"^\s*__([us])(8|16|32|64) (\w+)(?:\[(\d+)\])?;", re.M)
_MAP = re.compile(r"^\} (\w+) SEC\(\"\.maps\"\);", re.M)
_PROG = re.compile(r"SEC\(\"tc\"\)\s*int (\w+)\(")

STRUCTS = {"sb_config": abi.CONFIG, "sb_member": abi.MEMBER, "sb_rx": abi.RX, "sb_stats": abi.STATS,
           "sb_flowlet": abi.FLOWLET, "sb_rx_slot": abi.RX_SLOT}
# What the control plane indexes and writes into each map: (entries, key
# size, value size).
MAPS = {
    "sb_bank": (1, 4, 4),
    "sb_config": (abi.BANKS, 4, abi.CONFIG.size),
    "sb_members": (abi.BANKS * abi.MAX_MEMBERS, 4, abi.MEMBER.size),
    "sb_buckets": (abi.BANKS * abi.BUCKETS, 4, 4),
    "sb_bucket_bytes": (abi.BUCKETS, 4, 8),
    "sb_rr": (1, 4, 4),
    "sb_rx": (None, 4, abi.RX.size),          # keyed by ifindex: any size
    "sb_stats": (abi.STAT_SLOTS, 4, abi.STATS.size),
    "sb_flowlet": (abi.BUCKETS, 4, abi.FLOWLET.size),
    "sb_flow_moves": (1, 4, 8),
    "sb_rx_slots": (abi.RX_SLOTS, 4, abi.RX_SLOT.size),
    "sb_rx_rescue": (2, 4, 4),                # RESCUE_IN_CHECK, RESCUE_IN_VERDICT
    "sb_member_queue": (abi.STAT_SLOTS, 4, 8),  # by the member's sb_stats slot
}


def c_name(attribute: str) -> str:
    if attribute == "PROTO_CLASS_COUNT":
        return "SB_PROTO_CLASSES"
    if attribute == "RX_SLOTS":
        return "SB_RX_SLOTS"
    return attribute if attribute.startswith(("MODE_", "POL_", "RX_", "PC_")) else "SB_" + attribute


def python_fields(layout: struct.Struct) -> list[tuple[int, int, bool]]:
    """(offset, size, signed) of each field of a "=" struct format; "6s" is
    one field, "8Q" eight."""
    out, offset = [], 0
    for count, code in re.findall(r"(\d*)([a-zA-Z])", layout.format.lstrip("=")):
        repeat = 1 if code == "s" else int(count or 1)
        size = struct.calcsize("=" + (count if code == "s" else "") + code)
        for _ in range(repeat):
            out.append((offset, size, code.islower() and code != "s"))
            offset += size
    return out


def probe(source: Path, workdir: Path) -> tuple[dict[str, int], dict[str, list[tuple[str, bool]]], list[str]]:
    """What the compiler makes of `source`: values by name, the structs'
    fields (name, signed, elements or 0) in order, the program names."""
    text = source.read_text()
    # An array of bytes is one field ("6s"), of wider integers one per element ("44Q").
    structs = {name: [(field, sign == "s", int(length or 0) if bits != "8" else 0)
                      for sign, bits, field, length in _FIELD.findall(body)]
               for name, body in _STRUCT.findall(text)}
    lines = [f'V("{name}", {name});' for name in _ABI_DEFINE.findall(text)]
    for name, fields in structs.items():
        lines.append(f'V("sizeof {name}", sizeof(struct {name}));')
        for field, _, _ in fields:
            lines.append(f'V("{name}.{field}", offsetof(struct {name}, {field}));')
            lines.append(f'V("sizeof {name}.{field}", sizeof(((struct {name} *)0)->{field}));')
    for name in _MAP.findall(text):
        lines.append(f'V("map {name}", 1);')
        lines.append(f'V("{name}.max_entries", sizeof(*{name}.max_entries) / sizeof(int));')
        lines.append(f'V("{name}.key", sizeof(*{name}.key));')
        lines.append(f'V("{name}.value", sizeof(*{name}.value));')
    program = workdir / "abi_probe.c"
    program.write_text(f'#include "{source}"\n#include <stddef.h>\n#include <stdio.h>\n'
                       '#define V(name, value) printf("%s=%lld\\n", name, (long long)(value))\n'
                       "int main(void)\n{\n\t" + "\n\t".join(lines) + "\n\treturn 0;\n}\n")
    binary = workdir / "abi_probe"
    subprocess.run(["clang", "-w", "-O0", "-o", str(binary), str(program)], check=True)
    out = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout
    values = {k: int(v) for k, v in (line.split("=") for line in out.splitlines())}
    return values, structs, _PROG.findall(text)


def mismatches(source: Path, workdir: Path) -> list[str]:
    """Every difference between `source` and datapath_abi, one line each."""
    values, structs, programs = probe(source, workdir)
    out = []
    python_defines = {c_name(a): getattr(abi, a) for a in vars(abi) if _ABI_ATTRIBUTE.match(a)}
    c_defines = {k: v for k, v in values.items() if " " not in k and "." not in k}
    for name in sorted(python_defines.keys() | c_defines.keys()):
        if python_defines.get(name) != c_defines.get(name):
            out.append(f"#define {name}: C {c_defines.get(name)}, Python {python_defines.get(name)}")
    for name, layout in STRUCTS.items():
        fields = structs.get(name, [])
        if values.get(f"sizeof {name}") != layout.size:
            out.append(f"sizeof(struct {name}): C {values.get(f'sizeof {name}')}, Python {layout.size}")
        c_fields = [(values[f"{name}.{f}"] + i * values[f"sizeof {name}.{f}"] // (length or 1),
                     values[f"sizeof {name}.{f}"] // (length or 1), signed)
                    for f, signed, length in fields for i in range(length or 1)]
        if c_fields != python_fields(layout):
            out.append(f"struct {name} (offset, size, signed): C {c_fields}, Python {python_fields(layout)}")
    stat_fields = [f for f, _, _ in structs.get("sb_stats", [])]
    if stat_fields != [*abi.STAT_NAMES, "proto"]:
        out.append(f"struct sb_stats fields: C {stat_fields}, Python {list(abi.STAT_NAMES)}")
    c_maps = sorted(k[4:] for k in values if k.startswith("map "))
    if c_maps != sorted(abi.MAP_NAMES):
        out.append(f"maps: C {c_maps}, Python {sorted(abi.MAP_NAMES)}")
    for name, (entries, key, value) in MAPS.items():
        c = (values.get(f"{name}.max_entries") if entries is not None else None,
             values.get(f"{name}.key"), values.get(f"{name}.value"))
        if c != (entries, key, value):
            out.append(f"map {name} (max_entries, key, value size): C {c}, Python {(entries, key, value)}")
    if sorted(programs) != sorted(abi.PROG_NAMES):
        out.append(f"programs: C {sorted(programs)}, Python {sorted(abi.PROG_NAMES)}")
    return out


def test_bond_bpf_c_matches_datapath_abi(tmp_path):
    assert mismatches(BPF_SOURCE, tmp_path) == []


@pytest.mark.parametrize("change, reported", [
    (("#define SB_BUCKETS 256", "#define SB_BUCKETS 128"), "#define SB_BUCKETS"),
    (("#define RX_UNICAST_OWN_MAC 3", "#define RX_UNICAST_OWN_MAC 3\n#define RX_BROADCAST_ONLY 4"),
     "#define RX_BROADCAST_ONLY"),
    (("\t__s32 active_slot;", "\t__u32 active_slot;"), "struct sb_config"),
    (("\t__u64 rx_gso_extra;\n", "\t__u64 rx_gso_extra;\n\t__u64 tx_errors;\n"), "sizeof(struct sb_stats)"),
    (("#define PC_LACP 1", "#define PC_LACP 12"), "#define PC_LACP"),
    (("__uint(max_entries, 2 * SB_MAX_MEMBERS);", "__uint(max_entries, SB_MAX_MEMBERS);"), "map sb_members"),
    ((re.compile(r"\bsb_rr\b"), "sb_rr_cursor"), "maps:"),       # the map and its uses
])
def test_a_change_on_the_c_side_alone_is_reported(tmp_path, change, reported):
    """The check above cannot pass by accident: bond.bpf.c with one
    edit the Python side does not follow fails it, naming what differs."""
    old, new = change
    text, count = re.subn(old if isinstance(old, re.Pattern) else re.escape(old), new, BPF_SOURCE.read_text())
    assert count >= 1
    changed = tmp_path / "bond.bpf.c"
    changed.write_text(text)
    found = mismatches(changed, tmp_path)
    assert any(line.startswith(reported) for line in found), found


def test_map_names_fit_the_kernels_object_names():
    """The kernel keeps 15 characters of a map's name (BPF_OBJ_NAME_LEN 16):
    a restarted daemon without pins finds the maps by name through the
    attached program, so a longer name is never found (sb_flowlet_moves was)."""
    assert [n for n in abi.MAP_NAMES if len(n) > 15] == []


def test_the_rescue_receive_sides_slots_and_mark_agree_in_both_objects_and_abi():
    """bond.bpf.c and rescue.bpf.c share no header: sb_rx_rescue's slots and
    the mark sb_rescue_in hands back are defined in each (and the slots in
    abi.py, which fills them)."""
    define = re.compile(r"^#define (RESCUE_IN_\w+)\s+(\w+)", re.M)
    bond = dict(define.findall(BPF_SOURCE.read_text()))
    rescue = dict(define.findall((BPF_SOURCE.parent / "rescue.bpf.c").read_text()))
    assert set(bond) == {"RESCUE_IN_CHECK", "RESCUE_IN_VERDICT", "RESCUE_IN_MARK"}
    assert {k: bond[k] for k in ("RESCUE_IN_VERDICT", "RESCUE_IN_MARK")} == rescue
    assert (int(bond["RESCUE_IN_CHECK"]), int(bond["RESCUE_IN_VERDICT"])) == (abi.RESCUE_IN_CHECK,
                                                                               abi.RESCUE_IN_VERDICT)
