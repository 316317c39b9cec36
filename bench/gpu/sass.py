#!/usr/bin/env python3
"""Static issue-slot report of the embedded PTX, for machines without a GPU.

For every kernel of gpu/ptx and each target architecture, assembles the
module with ptxas (as the driver's JIT would), reports registers and spills
(ptxas -v), disassembles it (cuobjdump -sass) and finds the innermost loops
that do the arithmetic: a backward branch whose body contains at least 32
FFMA or HMMA instructions and no other such loop. For each it prints the
loop's instruction count, the arithmetic instructions among them and the
share of issue slots they get.

A warp scheduler issues one instruction per cycle, so in a loop that is not
stalled the share bounds the fraction of the FMA peak (FFMA: one warp
instruction per scheduler per cycle on sm_80/sm_90) that the loop can reach;
for HMMA, whose pipe takes several cycles per instruction, a larger share is
what leaves the tensor pipe room to stay busy. It is an upper bound from the
code, not a measurement: memory stalls and barriers come on top. Where a
kernel has two copies of a loop (load_span's 128-bit and 32-bit variants)
both are listed, told apart by the width of their global loads.

Usage (from the repository root; needs ptxas and cuobjdump from the CUDA
toolkit, as CI installs it):

    python3 bench/gpu/sass.py [ARCH ...]      # default: sm_80 sm_90
"""

import collections
import glob
import os
import re
import subprocess
import sys
import tempfile

WORK = ("FFMA", "HMMA")


def assemble(ptx, arch, cubin):
    """Runs ptxas -v; returns {kernel: (registers, spill stores, spill loads)}."""
    out = subprocess.run(["ptxas", "-v", "-arch=" + arch, "-o", cubin, ptx],
                         check=True, capture_output=True, text=True).stderr
    usage, kernel = {}, None
    for line in out.splitlines():
        m = re.search(r"Compiling entry function '(\w+)'", line)
        if m:
            kernel = m.group(1)
        m = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m and kernel:
            usage[kernel] = [0, int(m.group(1)), int(m.group(2))]
        m = re.search(r"Used (\d+) registers", line)
        if m and kernel in usage:
            usage[kernel][0] = int(m.group(1))
    return usage


def kernels(cubin):
    """Disassembles cubin; returns {kernel: [(address, opcode), ...]}."""
    sass = subprocess.run(["cuobjdump", "-sass", cubin], check=True, capture_output=True, text=True).stdout
    parts = re.split(r"\n\s*Function : (\S+)", sass)
    out = {}
    for name, body in zip(parts[1::2], parts[2::2]):
        out[name] = [(int(a, 16), op.strip())
                     for a, op in re.findall(r"/\*([0-9a-f]{4,})\*/\s+([^;]*);", body)]
    return out


def opcode(op):
    """The mnemonic of one instruction, without predicate and modifiers."""
    return re.sub(r"^@!?U?P\w+\s+", "", op).split()[0].split(".")[0]


def hot_loops(ins):
    """Innermost loops with at least 32 arithmetic instructions."""
    index = {a: i for i, (a, _) in enumerate(ins)}
    loops = []
    for i, (a, op) in enumerate(ins):
        m = re.search(r"\bBRA\b.*?0x([0-9a-f]+)", op)
        if m and int(m.group(1), 16) < a and int(m.group(1), 16) in index:
            loops.append((index[int(m.group(1), 16)], i))
    hot = []
    for s, e in loops:
        mix = collections.Counter(opcode(op) for _, op in ins[s:e + 1])
        if sum(mix[w] for w in WORK) >= 32:
            wide = any(opcode(op) == "LDG" and ".128" in op for _, op in ins[s:e + 1])
            hot.append((s, e, mix, "128-bit" if wide else "32-bit"))
    return [(s, e, mix, loads) for s, e, mix, loads in hot
            if not any(s <= s2 and e2 <= e and (s2, e2) != (s, e) for s2, e2, _, _ in hot)]


def main(archs):
    print("| kernel | arch | registers | spills (B stored/loaded) | loop loads | loop instructions | arithmetic | share |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for ptx in sorted(glob.glob("gpu/ptx/*.ptx")):
            module_arch = int(re.search(r"\.sm(\d+)\.ptx$", ptx).group(1))
            for arch in archs:
                if int(arch[3:]) < module_arch:
                    continue
                cubin = os.path.join(tmp, "k.cubin")
                usage = assemble(ptx, arch, cubin)
                for name, ins in kernels(cubin).items():
                    regs, st, ld = usage.get(name, (0, 0, 0))
                    for s, e, mix, loads in hot_loops(ins):
                        work = sum(mix[w] for w in WORK)
                        kind = "+".join(w for w in WORK if mix[w])
                        n = e - s + 1
                        print(f"| {name} | {arch} | {regs} | {st}/{ld} | {loads} | {n} | {work} {kind} | {100 * work / n:.1f}% |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["sm_80", "sm_90"])
