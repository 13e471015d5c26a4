#!/usr/bin/env python3
"""readme_check.py — README.md tells the truth.

  tests/readme_check.py            the sample outputs (make check-readme, fast)
  tests/readme_check.py --fix      ... rewritten from real runs
  tests/readme_check.py --commands every command of the README, in order
                                   (make check-readme-commands, slow)

Sample outputs: a fenced block after `<!-- readme-output: COMMAND -->` must
be exactly what COMMAND prints (run in the tree, bin/nnc built); the
numbers of VALUES below (the runtime's line count, the generated API's
sizes) must be what the tree gives now.  Stale ones are listed, and --fix
writes the real ones into README.md.

Commands: every line of every ```sh block (a trailing backslash joins
lines; `# ...` comments are the shell's) runs with bash in a fresh copy of
the tree (its files as git sees them, tracked and untracked but not
ignored; --in-place runs in the tree itself), in README order, the first
being `make deps && make demo`; each must exit 0.  A block after
`<!-- readme-check: skip (REASON) -->` is not run; the skipped commands are
listed with their reasons at the end.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")

FENCE = re.compile(r"^```(\w*)\s*$")
MARK = re.compile(r"^<!--\s*readme-(check|output):\s*(.*?)\s*-->\s*$")


def blocks(lines):
    """(lang, marker kind, marker text, first line index, body lines) per fenced block"""
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        if j == len(lines):
            sys.exit(f"README.md:{i + 1}: a ``` block that is never closed")
        k = i - 1
        mk = MARK.match(lines[k]) if k >= 0 else None
        out.append((m.group(1), mk.group(1) if mk else None, mk.group(2) if mk else None, i, lines[i + 1:j]))
        i = j + 1
    return out


# ---- sample outputs ------------------------------------------------------------

def run_sample(cmd):
    r = subprocess.run(cmd, shell=True, cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"readme-output: `{cmd}` exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout.rstrip("\n").split("\n")


def runtime_lines():
    n = 0
    for f in sorted(os.listdir(os.path.join(ROOT, "runtime"))):
        if f.endswith((".c", ".h")):
            with open(os.path.join(ROOT, "runtime", f), encoding="utf-8") as fh:
                n += sum(1 for _ in fh)
    return f"{n:,}"


def header_define(name):
    def value():
        with open(os.path.join(ROOT, "generated", "fashion_mlp.h"), encoding="utf-8") as fh:
            for line in fh:
                m = re.match(r"#define\s+" + name + r"\s+(\S+)", line)
                if m:
                    return m.group(1)
        sys.exit(f"readme value: generated/fashion_mlp.h has no #define {name}")
    return value


# numbers in the prose and in the API sample: (what, pattern with one group, its value now)
def nnc_version():
    return run_sample("bin/nnc --version")[0].split()[-1]


VALUES = [
    ("the runtime's line count", r"`runtime/`, plain C99, ([\d,]+) lines", runtime_lines),
    ("the version", r"`--version` prints `nnc ([^`]+)`", nnc_version),
] + [
    (f"{d} in the API sample", r"#define " + d + r" (\d+)", header_define(d))
    for d in ("FASHION_MLP_BATCH", "FASHION_MLP_INPUT_SIZE", "FASHION_MLP_OUTPUT_SIZE",
              "FASHION_MLP_SPARSE_LABELS", "FASHION_MLP_PARAM_COUNT")
]


def check_samples(fix):
    with open(README, encoding="utf-8") as fh:
        text = fh.read()
    lines = text.split("\n")
    stale, fixed = [], lines[:]
    shift, nsamples = 0, 0
    for lang, kind, arg, start, body in blocks(lines):
        if kind != "output":
            continue
        nsamples += 1
        real = run_sample(arg)
        if real != body:
            stale.append(f"README.md:{start + 1}: the output of `{arg}` is stale")
            a = start + 1 + shift
            fixed[a:a + len(body)] = real
            shift += len(real) - len(body)
    text2 = "\n".join(fixed)
    for what, pat, value in VALUES:
        found = list(re.finditer(pat, text2))
        if len(found) != 1:
            sys.exit(f"readme value: {what}: the pattern {pat!r} matches {len(found)} times (want 1)")
        now = value()
        if found[0].group(1) != now:
            stale.append(f"README.md: {what} says {found[0].group(1)}, the tree gives {now}")
            m = found[0]
            text2 = text2[:m.start(1)] + now + text2[m.end(1):]
    if fix and stale:
        with open(README, "w", encoding="utf-8") as fh:
            fh.write(text2)
    for s in stale:
        print(("fixed: " if fix else "") + s)
    if stale and not fix:
        print(f"check-readme: {len(stale)} stale (tests/readme_check.py --fix rewrites them)")
        return 1
    print(f"check-readme: {nsamples} sample outputs and {len(VALUES)} numbers "
          + ("now match the tree" if fix else "match the tree"))
    return 0


# ---- commands --------------------------------------------------------------------

def commands(lines):
    """(line number, command, skip reason or None) in README order"""
    out = []
    for lang, kind, arg, start, body in blocks(lines):
        if lang not in ("sh", "console"):
            continue
        skip = None
        if kind == "check":
            m = re.match(r"skip\s*\((.*)\)$", arg)
            if not m:
                sys.exit(f"README.md:{start}: unknown readme-check marker '{arg}' (want 'skip (reason)')")
            skip = m.group(1)
        cmd, first = "", None
        for k, line in enumerate(body):
            if lang == "console":
                if not line.startswith("$ ") and not cmd:
                    continue            # output shown after a command
                line = line[2:] if line.startswith("$ ") and not cmd else line
            if not cmd and (not line.strip() or line.lstrip().startswith("#")):
                continue
            first = first or start + 2 + k
            if line.rstrip().endswith("\\"):
                cmd += line.rstrip()[:-1] + " "
                continue
            out.append((first, cmd + line, skip))
            cmd, first = "", None
    return out


def fresh_copy(dest):
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        src = os.path.join(ROOT, f)
        if not os.path.lexists(src):
            continue                    # deleted in the working tree
        os.makedirs(os.path.dirname(os.path.join(dest, f)) or dest, exist_ok=True)
        shutil.copy2(src, os.path.join(dest, f), follow_symlinks=False)


def run_commands(in_place, timeout, keep):
    with open(README, encoding="utf-8") as fh:
        cmds = commands(fh.read().split("\n"))
    if not cmds or "make deps && make demo" not in cmds[0][1]:
        sys.exit("readme-commands: the README's first command must be `make deps && make demo`")
    work = ROOT if in_place else tempfile.mkdtemp(prefix="nnc-readme.")
    if not in_place:
        fresh_copy(work)
        print(f"readme-commands: a fresh copy of the tree in {work}")
    failed, skipped, ran = [], [], 0
    for line, cmd, skip in cmds:
        if skip:
            skipped.append((line, cmd, skip))
            continue
        print(f"== README.md:{line}: {cmd}", flush=True)
        t = time.time()
        try:
            r = subprocess.run(["bash", "-c", cmd], cwd=work, timeout=timeout, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            status, output = r.returncode, r.stdout
        except subprocess.TimeoutExpired as e:
            status, output = f"timed out after {timeout} s", (e.output or b"").decode(errors="replace")
        ran += 1
        tail = output.rstrip("\n").split("\n")[-3:]
        if status != 0:
            failed.append((line, cmd, status))
            print("\n".join("   | " + t_ for t_ in output.rstrip("\n").split("\n")[-15:]))
            print(f"   FAILED: exit status {status}")
        else:
            print("\n".join("   | " + t_ for t_ in tail if t_))
            print(f"   ok ({time.time() - t:.1f} s)")
        if ran == 1 and status == 0 and not re.search(r"test accuracy: \d+\.\d%", output):
            failed.append((line, cmd, "no 'test accuracy: N.N%' line, which the README promises"))
            print("   FAILED: no 'test accuracy: N.N%' line")
    print(f"\nreadme-commands: {ran} run, {len(failed)} failed, {len(skipped)} skipped")
    for line, cmd, reason in skipped:
        print(f"  skipped README.md:{line}: {cmd.split('#')[0].strip()}  -- {reason}")
    for line, cmd, status in failed:
        print(f"  FAILED  README.md:{line}: {cmd}  ({status})")
    if not in_place and not keep and not failed:
        shutil.rmtree(work, ignore_errors=True)
    elif not in_place:
        print(f"readme-commands: the copy is kept in {work}")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fix", action="store_true", help="rewrite stale sample outputs in README.md")
    ap.add_argument("--commands", action="store_true", help="run every command of the README instead")
    ap.add_argument("--in-place", action="store_true", help="with --commands: run in this tree, not a copy")
    ap.add_argument("--keep", action="store_true", help="with --commands: keep the copy")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per command (default 1800)")
    ap.add_argument("--list", action="store_true", help="print the commands and their skip reasons only")
    a = ap.parse_args()
    if a.list:
        with open(README, encoding="utf-8") as fh:
            for line, cmd, skip in commands(fh.read().split("\n")):
                print(f"README.md:{line}: {'SKIP ' if skip else ''}{cmd}" + (f"  -- {skip}" if skip else ""))
        return 0
    if a.commands:
        return run_commands(a.in_place, a.timeout, a.keep)
    return check_samples(a.fix)


if __name__ == "__main__":
    sys.exit(main())
