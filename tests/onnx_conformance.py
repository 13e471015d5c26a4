#!/usr/bin/python3
"""onnx_conformance.py — nnc against ONNX's own conformance data.

For every case folder (one holding model.onnx and test_data_set_*/) under
the given directories: `nnc model.onnx -o model.c`; exit status 3 means the
model uses something nnc cannot compile (counted as unsupported, with the
operators it named), any other failure counts as failed.  A compiled model
is built with tests/onnx_case.c and run on every test_data_set_*: the
inputs (input_*.pb, in graph-input order) go in as float32, the outputs must
match output_*.pb within rtol 1e-3, atol 1e-4 (NaN equals NaN; integer and
boolean outputs are compared as floats).  nnc computes in float32, so a
case whose float64 data lies beyond float32's range counts as unsupported.

Many node cases pass an operator's parameters (Conv weights, a Reshape
shape, Slice starts, LSTM weights) as graph inputs, which nnc needs at
compile time.  When nnc says so, and the case has one data set, the
runner compiles it again with those inputs (all but the first) bound to
the case's values (`nnc --bind NAME=FILE.pb`): a build specialised to the
case, which still checks the operator against ONNX's expected outputs.
When that is not enough (a window's length, ConstantOfShape's shape, the
input of NonZero or Unique) every input is bound and nnc computes the
outputs at compile time: counted apart again ("every input bound").
Such cases are counted as passed and also reported apart (`--no-bind`
turns this off).

Every case is compiled at -O2 and at -O0: each build must match ONNX's
outputs, and the two must agree with each other, so a layout or fusion pass
that changes an answer is a failure even where the tolerance against ONNX
would hide it.  When -O0's model.c and model.h are -O2's but for the line
that records the command (most single-operator cases: no pass has anything
to change), the same code would give the same outputs, and -O0's build and
run are skipped (counted in the last line).

Prints a table per operator (a case counts for every operator of its
model), how many passed cases had inputs bound, then `conformance: N
passed, N failed, N unsupported of T`.  Exit
status 1 when any case failed.
Usage: tests/onnx_conformance.py [-j N] [-v] [--only SUBSTR] DIR...
"""

import argparse
import collections
import glob
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError:
    print("conformance: skipped (python3-onnx and python3-numpy are not installed)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIND = True
LEVELS = ["O2", "O0"]   # every case at both levels: each against ONNX, and against each other
BINDABLE = r"must be a constant|computed at run time"
NNC = os.path.join(ROOT, "bin", "nnc")
# NNC_STANDALONE=1: every case through nnc --standalone, built without the runtime library
STANDALONE = ["--standalone"] if os.environ.get("NNC_STANDALONE") == "1" else []
RT = os.path.join(ROOT, "build", "libnnc_rt.a")


def cases(dirs):
    for d in dirs:
        for m in sorted(glob.glob(os.path.join(d, "**", "model.onnx"), recursive=True)):
            yield os.path.dirname(m)


def load_tensor(path, bfloat16=False):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    a = numpy_helper.to_array(t)
    if bfloat16 and a.dtype == np.uint16:   # older onnx stores bfloat16 data as its bits (uint16)
        a = (a.astype(np.uint32) << 16).view(np.float32)
    return a


def declared(vi):
    """-> (element type, number of elements or None when not static) of a graph input/output"""
    tt = vi.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
    return tt.elem_type, (int(np.prod(dims)) if None not in dims else None) if tt.HasField("shape") else None


def run_sets(case, model, work, c_file, sets, inputs, bound):
    """build the generated C and run every data set: -> (status, detail, outputs per set)"""
    exe = os.path.join(work, "case")
    b = subprocess.run(["cc", "-std=c99", "-O1", "-I" + os.path.join(ROOT, "runtime"), "-I" + work,
                        "-DNNC_MODEL=model", "-DNNC_UPPER=MODEL", '-DNNC_HEADER="model.h"', c_file,
                        os.path.join(ROOT, "tests", "onnx_case.c")] + ([] if STANDALONE else [RT]) + ["-lm", "-o", exe],
                       capture_output=True, text=True, timeout=300)
    if b.returncode != 0:
        return "failed", "the generated C does not compile: " + b.stderr.strip()[:300], None
    n_out = len(model.graph.output)
    header = open(os.path.join(work, "model.h")).read()
    batched = re.search(r"^ \*   input  .*: \S+ (?:\(token ids\) )?\(n[,)]", header, re.M) is not None
    if not sets:
        return "failed", "no test_data_set_* folder", None
    outputs = []
    vin = [v for v in model.graph.input if v.name in inputs]
    for s in sets:
        ins = [load_tensor(os.path.join(s, "input_%d.pb" % i), declared(vin[i])[0] == onnx.TensorProto.BFLOAT16)
               for i in range(len(inputs)) if i not in bound]
        outs = [load_tensor(os.path.join(s, "output_%d.pb" % i),
                            declared(model.graph.output[i])[0] == onnx.TensorProto.BFLOAT16) for i in range(n_out)]
        # nnc compiles the model's static shapes: data of another size cannot be run
        if any(declared(vin[i])[1] not in (None, np.asarray(a).size)
               for i, a in zip([i for i in range(len(inputs)) if i not in bound], ins)):
            return "unsupported", "a data set's input differs in size from the model's static shape", None
        # nnc computes in float32: float64 data beyond its range cannot be run
        big = [a for a in ins + outs if a.dtype == np.float64 and np.any(np.abs(a[np.isfinite(a)]) > 3e38)]
        if big:
            return "unsupported", "float64 data outside float32's range", None
        # per sample when nnc gave the graph a batch (axis 0 of every input), else whole
        n = ins[0].shape[0] if batched and ins else 1
        data = np.concatenate([np.asarray(a, dtype=np.float32).reshape(n, -1) for a in ins], axis=1).tobytes() \
            if ins else b""
        if outs and n > 1:
            widths = [np.asarray(w).size // n for w in outs]
        p = subprocess.run([exe], input=data, capture_output=True, timeout=300)
        if p.returncode != 0:
            return "failed", "the model exited %d: %s" % (p.returncode, p.stderr[:200]), None
        got = np.frombuffer(p.stdout, dtype=np.float32)
        if outs and n > 1 and got.size == n * sum(widths):   # back to each output in full
            rows = got.reshape(n, -1)
            got = np.concatenate([rows[:, sum(widths[:k]):sum(widths[:k + 1])].ravel() for k in range(len(outs))])
        pos = 0
        for k, want in enumerate(outs):
            w = np.asarray(want, dtype=np.float64).ravel()
            g = got[pos:pos + w.size].astype(np.float64)
            pos += w.size
            if g.size != w.size or not np.allclose(g, w, rtol=1e-3, atol=1e-4, equal_nan=True):
                worst = float(np.nanmax(np.abs(g - w))) if g.size == w.size and w.size else float("nan")
                return "failed", "%s output %d differs (max |err| %.3g)" % (os.path.basename(s), k, worst), None
        outputs.append(got)
    return "passed", "", outputs


def generated_code(work):
    """model.c and model.h without the comment line that records nnc's command"""
    return [re.sub(r"(?m)^ \* command: .*$", "", open(os.path.join(work, f)).read()) for f in ("model.c", "model.h")]


def run_case(case):
    """-> (case, status, ops, detail, same): status passed | failed | unsupported; same: the
    levels after the first generated the first's code, so only the first was built and run"""
    try:
        model = onnx.load(os.path.join(case, "model.onnx"), load_external_data=False)
        ops = sorted({n.op_type for n in model.graph.node}) or ["(none)"]
    except Exception as e:  # a model onnx itself cannot read: nnc must still not crash
        ops, model = ["(unreadable)"], None
    work = tempfile.mkdtemp(prefix="nnc-onnx-")
    try:
        c_file = os.path.join(work, "model.c")
        inits = {i.name for i in model.graph.initializer}
        inputs = [i.name for i in model.graph.input if i.name not in inits]
        sets = sorted(glob.glob(os.path.join(case, "test_data_set_*")))
        bound, binds = [], []
        results, same = {}, False
        for level in LEVELS:
            r = subprocess.run([NNC, os.path.join(case, "model.onnx"), "-" + level, "-o", c_file] + binds + STANDALONE,
                               capture_output=True, text=True, timeout=120)
            # parameters the case passes as inputs (weights, shapes, axes, a window's
            # length): bound at compile time, first all but the first input, then all
            for first in (1, 0):
                if not (r.returncode == 3 and len(bound) < len(inputs) - first and BIND and len(sets) == 1
                        and re.search(BINDABLE, r.stderr)):
                    continue
                bound = list(range(first, len(inputs)))
                binds = sum((["--bind", "%s=%s" % (inputs[i], os.path.join(sets[0], "input_%d.pb" % i))]
                             for i in bound), [])
                r = subprocess.run([NNC, os.path.join(case, "model.onnx"), "-" + level, "-o", c_file] + binds + STANDALONE,
                                   capture_output=True, text=True, timeout=120)
            if r.returncode == 3:
                why = sorted(set(re.findall(r"unsupported: (.*)", r.stderr)))
                if results:     # one level compiles it, the other refuses: a difference to look at
                    return case, "failed", ops, "-%s refuses what -%s compiled: %s" % (level, LEVELS[0], "; ".join(why)[:200]), False
                return case, "unsupported", ops, "; ".join(why)[:300], False
            if r.returncode != 0:
                return case, "failed", ops, "nnc -%s exited %d: %s" % (level, r.returncode, r.stderr.strip()[:300]), False
            code = generated_code(work)
            if results and code == first_code:   # the same C as the first level's: same outputs
                same = True
                continue
            first_code = code
            status, detail, got = run_sets(case, model, work, c_file, sets, inputs, bound)
            if status != "passed":
                return case, status, ops, ("-%s: " % level if len(LEVELS) > 1 else "") + detail, False
            for other, was in results.items():   # the levels agree with each other, not only with ONNX
                if len(was) != len(got) or not all(np.allclose(a, b, rtol=1e-3, atol=1e-4, equal_nan=True)
                                                   for a, b in zip(was, got)):
                    return case, "failed", ops, "-%s and -%s disagree" % (other, level), False
            results[level] = got
        if bound and len(bound) == len(inputs):
            return case, "passed (bound)", ops, "every input bound (%d): the model computes constants" % len(bound), same
        return case, "passed (bound)" if bound else "passed", ops, "%d inputs bound" % len(bound) if bound else "", same
    except subprocess.TimeoutExpired:
        return case, "failed", ops, "timed out", False
    except Exception as e:
        return case, "failed", ops, "%s: %s" % (type(e).__name__, e), False
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case")
    ap.add_argument("--only", help="only cases whose path contains this")
    ap.add_argument("--no-bind", action="store_true", help="never bind parameter inputs at compile time")
    ap.add_argument("--levels", default="O2,O0", help="optimisation levels to build each case at (default O2,O0)")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    global BIND
    BIND = not args.no_bind
    LEVELS[:] = args.levels.split(",")
    todo = [c for c in cases(args.dirs) if not args.only or args.only in c]
    with multiprocessing.Pool(args.jobs) as pool:
        results = pool.map(run_case, todo, chunksize=4)
    per_op = collections.defaultdict(collections.Counter)
    totals = collections.Counter()
    for case, status, ops, detail, same in results:
        totals[status] += 1
        totals["same code"] += same
        if status == "passed (bound)":
            totals["passed"] += 1
            totals["every input bound"] += detail.startswith("every")
            status = "passed"
        for op in ops:
            per_op[op][status] += 1
        if status == "failed" or args.verbose:
            print("%-11s %s%s" % (status.upper(), os.path.relpath(case, os.path.commonpath(args.dirs)),
                                  ": " + detail if detail else ""))
    print("%-28s %7s %7s %12s" % ("operator", "passed", "failed", "unsupported"))
    for op in sorted(per_op):
        c = per_op[op]
        print("%-28s %7d %7d %12d" % (op, c["passed"], c["failed"], c["unsupported"]))
    print("%d of the passed cases ran with parameter inputs bound at compile time (%d with every input bound)"
          % (totals["passed (bound)"], totals["every input bound"]))
    if len(LEVELS) > 1:
        print("%d cases generated the same code at every level (%s): built and run once"
              % (totals["same code"], ", ".join("-" + l for l in LEVELS)))
    print("conformance: %d passed, %d failed, %d unsupported of %d"
          % (totals["passed"], totals["failed"], totals["unsupported"], len(results)))
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
