#!/usr/bin/env python3
"""Where JIT code spends its time: perf samples placed on the disassembly.

Run a program with NFC_PERF_MAP=1 under `perf record -o DATA`; then
  scripts/perf_jit_hot.py DATA FUNCTION [--top N] [--context K]
prints FUNCTION's share of all samples (FUNCTION as in /tmp/perf-PID.map,
e.g. nll_grad:nll_grad) and its hottest instructions with the disassembly
around them (objdump of /tmp/nfc-PID-ENTRY.o, written by the JIT).
"""
import argparse
import collections
import re
import subprocess


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("function")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--context", type=int, default=3)
    ap.add_argument("--loops", action="store_true", help="sum samples per backward-jump loop body")
    a = ap.parse_args()
    out = subprocess.run(["perf", "script", "-i", a.data, "-F", "pid,ip,sym"],
                         capture_output=True, text=True).stdout
    total, ips, pid = 0, collections.Counter(), None
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        total += 1
        if line.rstrip().endswith(a.function):
            pid = parts[0]
            ips[int(parts[1], 16)] += 1
    if not ips:
        print("no samples in", a.function)
        return
    entry, name = a.function.split(":", 1)
    start = None
    for l in open(f"/tmp/perf-{pid}.map"):
        addr, size, sym = l.split(maxsplit=2)
        if sym.strip() == a.function:
            start = int(addr, 16)
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", f"/tmp/nfc-{pid}-{entry}.o"],
                         capture_output=True, text=True).stdout
    # offsets in the object: the function's symbol value + (ip - start)
    sym_off = None
    lines, insn = [], {}
    for l in dis.splitlines():
        m = re.match(r"^([0-9a-f]+) <(.*)>:", l)
        if m and m.group(2) == name:
            sym_off = int(m.group(1), 16)
        m = re.match(r"^\s+([0-9a-f]+):\s+(.*)$", l)
        if m:
            insn[int(m.group(1), 16)] = len(lines)
            lines.append((int(m.group(1), 16), m.group(2)))
    n = sum(ips.values())
    print(f"{a.function}: {n} of {total} samples ({100 * n / total:.1f}%)")
    by_off = collections.Counter({ip - start + sym_off: c for ip, c in ips.items()})
    if a.loops:
        # loops: a backward jump's [target, jump] range
        for off, text in lines:
            m = re.match(r"j\w+\s+([0-9a-f]+)", text)
            if m and int(m.group(1), 16) < off:
                lo, hi = int(m.group(1), 16), off
                c = sum(v for o, v in by_off.items() if lo <= o <= hi)
                if c > 0.02 * n:
                    print(f"loop {lo:x}-{hi:x}: {100 * c / n:.1f}% ({hi - lo} bytes)")
        return
    for off, c in by_off.most_common(a.top):
        i = insn.get(off)
        print(f"--- {100 * c / n:.1f}% at {off:x}")
        if i is None:
            continue
        for j in range(max(0, i - a.context), min(len(lines), i + a.context + 1)):
            o, t = lines[j]
            mark = ">" if o == off else " "
            print(f"{mark} {o:6x} {by_off.get(o, 0):5d}  {t}")


if __name__ == "__main__":
    main()
