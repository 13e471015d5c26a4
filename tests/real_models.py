#!/usr/bin/python3
"""real_models.py — nnc on whole pre-trained models, against ONNX Runtime.

For every model tests/real/models.txt lists (tests/real/fetch.sh puts them in
build/real/models/): `nnc MODEL.onnx -o model.c [options]` at -O2 and at -O0,
each built with tests/real/real_case.c (tests/onnx_case.c plus a timer) and
run on seeded random inputs of the model's kind (images in [0,1], audio in
[-1,1], recurrent state zero, ...; see models.txt); the same inputs go
through ONNX Runtime (onnxruntime-node in bench/.node, tests/real/ort_run.js).
Every graph output must match ORT's within rtol 1e-3, atol 1e-4, and -O2's
must match -O0's.  A model that computes in float16 (float16 weights, or
Casts to float16) is compared within rtol and atol 1e-2 instead, and its
result reads "ok-f16": ORT runs its nodes in float16, nnc in float32
(rounding to float16 only where a Cast says so), so the two differ by
float16's precision (an ulp at 1.0 is 1e-3) accumulated over the graph.
A dynamically quantized model (DynamicQuantizeLinear) that misses that
tolerance but is within a mean |error| of 1e-2 reads "close", counted apart:
each DynamicQuantizeLinear rounds x / scale to an integer, so a one-ulp
difference in a float op before it (ONNX does not fix the order of a
bilinear Resize's products; ORT and nnc order them differently) moves a
value across a rounding boundary, and the step grows through the layers
that follow.  Anything further off is a FAIL.  Both are timed at batch 1 on one thread (ORT:
intraOpNumThreads 1), the median of several runs after a warm-up; ORT's time
is session.run's through the node binding, whose fixed cost per call (an
Identity model's time) the header line gives.  Wall time by default; with
--cpu, CPU time (nnc: the calling thread's; ORT: the node process's, all its
threads), which a loaded machine disturbs far less.

Result per level: ok; REFUSED (nnc exit 3: what it cannot compile, the
reasons listed below the table, alike ones counted together); FAIL (a wrong
answer, a crash, another exit status on a valid model, generated C that does
not compile, -O2 != -O0); INVALID (nnc exit 1 on a model onnx.checker
rejects too: not nnc's fault, though ONNX Runtime may run it); "no ref" when
ONNX Runtime itself cannot run the model.  Exit status 1 when
any model FAILs.  Nodes and distinct ops count the subgraphs' too.
Usage: tests/real_models.py [-v] [--no-time] [--cpu] [--keep] [NAME ...]
"""

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper, helper, TensorProto
except ImportError:
    print("real models: skipped (python3-onnx and python3-numpy are not installed)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NNC = os.path.join(ROOT, "bin", "nnc")
RT = os.path.join(ROOT, "build", "libnnc_rt.a")
LIST = os.path.join(ROOT, "tests", "real", "models.txt")
MODELS = os.path.join(ROOT, "build", "real", "models")
NODE_DIR = os.path.join(ROOT, "bench", ".node")
ORT_RUN = os.path.join(ROOT, "tests", "real", "ort_run.js")
DRIVER = os.path.join(ROOT, "tests", "real", "real_case.c")
CFLAGS = ["-std=c99", "-O3", "-march=native"]
RTOL, ATOL = 1e-3, 1e-4
RTOL16, ATOL16 = 1e-2, 1e-2     # models that compute in float16
# timed runs (after a warm-up): at least 3, at most 500, for about 1.5 s a model and runtime
TIMING = "3,500,1500"

NP_TYPE = {TensorProto.FLOAT: (np.float32, "float32"), TensorProto.INT64: (np.int64, "int64"),
           TensorProto.INT32: (np.int32, "int32"), TensorProto.BOOL: (np.bool_, "bool"),
           TensorProto.DOUBLE: (np.float64, "float64"), TensorProto.UINT8: (np.uint8, "uint8"),
           TensorProto.INT8: (np.int8, "int8")}


def read_list():
    """-> [(name, package, path, sha, nnc_options, binds {input: (type, value)}, kinds {input: kind})]"""
    out = []
    for line in open(LIST):
        f = line.split()
        if not f or f[0].startswith("#"):
            continue
        name, pkg, path, sha, rest = f[0], f[1], f[2], f[3], f[4:]
        opts, binds, kinds = [], {}, {}
        i = 0
        while i < len(rest):
            t = rest[i]
            if t == "--bind":
                k, v = rest[i + 1].split("=", 1)
                typ, val = v.split(":", 1)
                binds[k] = (typ, val)
                i += 2
            elif t.startswith("--"):
                opts += [t, rest[i + 1]]
                i += 2
            elif t.startswith("in:"):
                k, v = t[3:].rsplit("=", 1)
                kinds[k] = v
                i += 1
            else:
                raise SystemExit("%s: %s: cannot read option %r" % (LIST, name, t))
        out.append((name, pkg, path, sha, opts, binds, kinds))
    return out


def all_nodes(graph):
    for n in graph.node:
        yield n
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from all_nodes(a.g)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for g in a.graphs:
                    yield from all_nodes(g)


def input_specs(model, opts):
    """the graph's inputs (not initializers): [(name, elem_type, dims)], --shape applied"""
    inits = {i.name for i in model.graph.initializer}
    ins = [i for i in model.graph.input if i.name not in inits]
    names = {i.name for i in ins}
    whole, named = {}, {}
    for k in range(0, len(opts), 2):
        if opts[k] == "--shape":
            key, val = opts[k + 1].split("=", 1)
            if key in names:
                whole[key] = [int(d) for d in val.split("x")]
            else:
                named[key] = int(val)
    specs = []
    for i in ins:
        t = i.type.tensor_type
        if i.name in whole:
            dims = whole[i.name]
        else:
            dims = []
            for d in t.shape.dim:
                if d.dim_param in named:
                    dims.append(named[d.dim_param])
                elif d.dim_value > 0 and not d.dim_param:
                    dims.append(d.dim_value)
                else:
                    raise ValueError("input %s: dimension %r has no size (add --shape to models.txt)"
                                     % (i.name, d.dim_param or d.dim_value))
        specs.append((i.name, t.elem_type, dims))
    return specs


def make_input(rng, kind, np_type, dims):
    if kind == "zero":
        a = np.zeros(dims)
    elif kind == "image":
        a = rng.uniform(0.0, 1.0, dims)
    elif kind == "audio":
        a = rng.uniform(-1.0, 1.0, dims)
    elif kind == "pcm16":
        a = np.round(rng.uniform(-1.0, 1.0, dims) * 32767.0)
    elif kind == "uniform":
        a = rng.uniform(-1.0, 1.0, dims)
    else:
        raise ValueError("unknown input kind %r" % kind)
    return a.astype(np_type)


def run(cmd, timeout, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=timeout, **kw)


def ensure_ort():
    if shutil.which("node") is None:
        raise SystemExit("real models: node is not installed (apt-get install nodejs npm)")
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "onnxruntime-node")):
        os.makedirs(NODE_DIR, exist_ok=True)
        env = dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip")
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "onnxruntime-node"],
                           cwd=NODE_DIR, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("real models: npm install onnxruntime-node failed: " + r.stderr[-500:])


def ort_run(model_path, work, feeds, timing):
    """feeds: [(name, array)] -> (outputs [(name, array float32)], us) or raises RuntimeError"""
    spec = {"inputs": [{"name": n, "type": NP_TYPE[t][1], "dims": list(a.shape)}
                       for n, t, a in feeds]}
    with open(os.path.join(work, "ort_spec.json"), "w") as f:
        json.dump(spec, f)
    with open(os.path.join(work, "ort_in.bin"), "wb") as f:
        for _, _, a in feeds:
            f.write(np.ascontiguousarray(a).tobytes())
    out_bin = os.path.join(work, "ort_out.bin")
    env = dict(os.environ, NODE_PATH=os.path.join(NODE_DIR, "node_modules"))
    r = run(["node", ORT_RUN, model_path, os.path.join(work, "ort_spec.json"), os.path.join(work, "ort_in.bin"),
             out_bin, timing], 3600, env=env, text=True)
    if r.returncode != 0:
        raise RuntimeError((r.stderr or r.stdout).strip().splitlines()[-1:] or ["exit %d" % r.returncode])
    meta = json.loads(r.stdout.strip().splitlines()[-1])
    flat = np.fromfile(out_bin, dtype=np.float32)
    outs, pos = [], 0
    for o in meta["outputs"]:
        n = int(np.prod(o["dims"])) if o["dims"] else 1
        outs.append((o["name"], flat[pos:pos + n].reshape(o["dims"])))
        pos += n
    return outs, meta["us"]


def computes_in_float16(model):
    """float16 weights, values or Casts to float16 anywhere in the graph"""
    F16 = TensorProto.FLOAT16
    return (any(t.data_type == F16 for t in model.graph.initializer) or
            any(v.type.tensor_type.elem_type == F16 for v in model.graph.value_info) or
            any(n.op_type == "Cast" and any(a.name == "to" and a.i == F16 for a in n.attribute)
                for n in all_nodes(model.graph)))


def compare(got, want, tol):
    """got: flat float32; want: [(name, array)]; tol: (rtol, atol) -> (ok, max_abs_err, detail, mean_abs_err)"""
    total = sum(a.size for _, a in want)
    if got.size != total:
        return False, float("nan"), "nnc wrote %d output floats, ORT %d" % (got.size, total), float("nan")
    pos, worst, bad, sum_err = 0, 0.0, None, 0.0
    for name, a in want:
        w = a.astype(np.float64).ravel()
        g = got[pos:pos + w.size].astype(np.float64)
        pos += w.size
        fin = np.isfinite(w) & np.isfinite(g)
        if fin.any():
            worst = max(worst, float(np.max(np.abs(g[fin] - w[fin]))))
            sum_err += float(np.sum(np.abs(g[fin] - w[fin])))
        if not np.allclose(g, w, rtol=tol[0], atol=tol[1], equal_nan=True) and bad is None:
            err = np.abs(g - w)
            k = int(np.nanargmax(np.where(np.isnan(err), np.inf, err)))
            bad = "output %r differs: max |err| %.3g at %d (nnc %.6g, ORT %.6g)" % (
                name, float(np.nanmax(err)) if np.isfinite(err).any() else float("nan"), k, g[k], w[k])
    return bad is None, worst, bad or "", sum_err / max(total, 1)


def nnc_level(level, model_path, opts, bind_args, data, work, want, timed, tol, dynamic_q):
    """-> dict(result, detail, reasons, got, err, us)"""
    d = os.path.join(work, level)
    os.makedirs(d, exist_ok=True)
    c_file = os.path.join(d, "model.c")
    res = {"result": "FAIL", "detail": "", "reasons": [], "got": None, "err": float("nan"), "us": None}
    try:
        r = run([NNC, model_path, "-o", c_file, "-" + level] + opts + bind_args, 600, text=True)
    except subprocess.TimeoutExpired:
        res["detail"] = "nnc timed out"
        return res
    if r.returncode == 3:
        res["result"] = "REFUSED"
        res["reasons"] = sorted(set(re.findall(r"unsupported: (.*)", r.stderr))) or [r.stderr.strip()[-300:]]
        return res
    if r.returncode != 0:
        res["detail"] = "nnc exited %d: %s" % (r.returncode, r.stderr.strip()[-400:])
        if r.returncode == 1:
            try:
                onnx.checker.check_model(model_path)
            except Exception as e:   # the model breaks an ONNX rule: exit 1 is right
                res["result"] = "INVALID"
                res["detail"] = "onnx.checker: %s; nnc: %s" % (
                    " ".join(str(e).split())[:300], r.stderr.strip().splitlines()[-1][:300])
        return res
    exe = os.path.join(d, "model")
    try:
        b = run(["cc"] + CFLAGS + ["-I" + os.path.join(ROOT, "runtime"), "-I" + d,
                 "-DNNC_MODEL=model", "-DNNC_UPPER=MODEL", '-DNNC_HEADER="model.h"', c_file, DRIVER, RT,
                 "-lm", "-o", exe], 1800, text=True)
    except subprocess.TimeoutExpired:
        res["detail"] = "the generated C took over 30 minutes to compile"
        return res
    if b.returncode != 0:
        res["detail"] = "the generated C does not compile: " + b.stderr.strip()[:400]
        return res
    try:
        p = run([exe], 3600, input=data)
    except subprocess.TimeoutExpired:
        res["detail"] = "the model ran for over an hour"
        return res
    if p.returncode != 0:
        res["detail"] = "the model exited %d: %s" % (p.returncode, p.stderr[:300].decode(errors="replace"))
        return res
    res["got"] = np.frombuffer(p.stdout, dtype=np.float32)
    if want is None:
        res["result"], res["detail"] = "no ref", "ONNX Runtime could not run the model"
    else:
        ok, res["err"], why, mean = compare(res["got"], want, tol)
        res["result"], res["detail"] = ("ok", "") if ok else ("FAIL", why)
        if not ok and dynamic_q and mean <= 1e-2:
            res["result"] = "close"
            res["detail"] = "%s; mean |err| %.2g: dynamic quantization rounds float-order differences into steps" % (
                why, mean)
    if timed:
        t = run([exe] + TIMING.split(","), 3600, input=data)
        if t.returncode == 0:
            res["us"] = float(t.stdout.split()[-1])
    return res


def identity_cost(work):
    """microseconds per session.run of a 1-element Identity model (the node binding's fixed cost)"""
    g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    path = os.path.join(work, "identity.onnx")
    onnx.save(m, path)
    try:
        return ort_run(path, work, [("x", TensorProto.FLOAT, np.zeros(1, np.float32))], TIMING)[1]
    except RuntimeError:
        return float("nan")


def one_model(entry, work, timed, verbose):
    name, pkg, path, sha, opts, binds, kinds = entry
    row = {"name": name, "pkg": pkg, "nodes": "-", "ops": "-", "O2": None, "O0": None, "err": float("nan"),
           "nnc_us": None, "ort_us": None, "notes": []}
    model_path = os.path.join(MODELS, name + ".onnx")
    if not os.path.exists(model_path):
        row["missing"] = True
        return row
    model = onnx.load(model_path)
    nodes = list(all_nodes(model.graph))
    row["nodes"], row["ops"] = len(nodes), len({n.op_type for n in nodes})
    row["op_list"] = sorted({n.op_type for n in nodes})
    f16 = computes_in_float16(model)
    tol = (RTOL16, ATOL16) if f16 else (RTOL, ATOL)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    specs = input_specs(model, opts)
    feeds, bind_args, nnc_in = [], [], []
    for iname, etype, dims in specs:
        if etype not in NP_TYPE:
            raise ValueError("input %s: element type %d" % (iname, etype))
        np_type = NP_TYPE[etype][0]
        if iname in binds:
            typ, val = binds[iname]
            a = np.array(int(val) if typ.startswith("int") else float(val), dtype=typ).reshape(dims)
            pb = os.path.join(work, "bind_%d.pb" % len(bind_args))
            with open(pb, "wb") as f:
                f.write(numpy_helper.from_array(a, iname).SerializeToString())
            bind_args += ["--bind", "%s=%s" % (iname, pb)]
        else:
            a = make_input(rng, kinds.get(iname, "uniform"), np_type, dims)
            nnc_in.append(a)
        feeds.append((iname, etype, a))
    data = b"".join(np.asarray(a, dtype=np.float32).tobytes() for a in nnc_in)
    # ONNX Runtime: the reference, timed
    want = None
    try:
        want, us = ort_run(model_path, work, feeds, TIMING if timed else "0")
        row["ort_us"] = us if timed else None
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        row["notes"].append("ONNX Runtime: %s" % e)
    for level in ("O2", "O0"):
        row[level] = nnc_level(level, model_path, opts, bind_args, data, work, want, timed and level == "O2", tol,
                               "DynamicQuantizeLinear" in row["op_list"])
        if f16 and row[level]["result"] == "ok":
            row[level]["result"] = "ok-f16"
        if verbose:
            print("  %s -%s: %s %s" % (name, level, row[level]["result"], row[level]["detail"]), flush=True)
    o2, o0 = row["O2"], row["O0"]
    row["err"] = max((r["err"] for r in (o2, o0) if r["got"] is not None and r["err"] == r["err"]),
                     default=float("nan"))
    row["nnc_us"] = o2["us"]
    if o2["got"] is not None and o0["got"] is not None:
        same = o2["got"].size == o0["got"].size and np.allclose(o2["got"], o0["got"], rtol=RTOL, atol=ATOL,
                                                                   equal_nan=True)
        if not same:
            for r in (o2, o0):
                if r["result"] != "FAIL":
                    r["result"] = "FAIL"
                    r["detail"] = (r["detail"] + "; " if r["detail"] else "") + "-O2 and -O0 differ"
    return row


def grouped(reasons):
    """alike reasons (the same but for quoted names) counted together: the first one shown"""
    groups = collections.OrderedDict()
    for why in reasons:
        groups.setdefault(re.sub(r"'[^']*'", "'…'", why), []).append(why)
    return ["%s%s" % (v[0], " (and %d more like it)" % (len(v) - 1) if len(v) > 1 else "")
            for v in groups.values()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="only these models (default: all of models.txt)")
    ap.add_argument("-v", action="store_true", help="print each build's result as it comes")
    ap.add_argument("--no-time", action="store_true", help="check results only")
    ap.add_argument("--cpu", action="store_true", help="time CPU time, not wall time")
    ap.add_argument("--keep", action="store_true", help="keep the work folders (printed)")
    a = ap.parse_args()
    if a.cpu:
        global TIMING
        TIMING += ",cpu"
    for f in (NNC, RT):
        if not os.path.exists(f):
            raise SystemExit("real models: %s is missing (make all)" % f)
    ensure_ort()
    entries = [e for e in read_list() if not a.names or e[0] in a.names]
    base = tempfile.mkdtemp(prefix="nnc-real-")
    ident = identity_cost(base) if not a.no_time else float("nan")
    rows = []
    for e in entries:
        work = os.path.join(base, e[0])
        os.makedirs(work)
        try:
            row = one_model(e, work, not a.no_time, a.v)
        except Exception as ex:
            row = {"name": e[0], "pkg": e[1], "nodes": "-", "ops": "-", "err": float("nan"), "nnc_us": None,
                   "ort_us": None, "notes": [],
                   "O2": {"result": "FAIL", "detail": "%s: %s" % (type(ex).__name__, ex), "reasons": []},
                   "O0": {"result": "FAIL", "detail": "", "reasons": []}}
        rows.append(row)
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        if a.v:
            print("%s done" % e[0], flush=True)
    if not a.keep:
        shutil.rmtree(base, ignore_errors=True)
    else:
        print("work folders in", base)

    fmt = lambda v: "-" if v is None or v != v else ("%.1f" % v if v < 1e4 else "%.0f" % v)
    print("# batch 1, one thread; microseconds per call (%s), median; ORT through onnxruntime-node, whose fixed cost "
          "per call (an Identity model) is %s us" % ("CPU time" if a.cpu else "wall time", fmt(ident)))
    print("%-20s %6s %4s  %-8s %-8s %10s %10s %10s" % ("model", "nodes", "ops", "-O2", "-O0", "max err",
                                                       "nnc us", "ORT us"))
    counts = collections.Counter()
    failed = False
    for r in rows:
        if r.get("missing"):
            print("%-20s missing: run tests/real/fetch.sh" % r["name"])
            counts["missing"] += 1
            failed = True
            continue
        res = [r[l]["result"] for l in ("O2", "O0")]
        print("%-20s %6s %4s  %-8s %-8s %10s %10s %10s" % (r["name"], r["nodes"], r["ops"], res[0], res[1],
              "-" if r["err"] != r["err"] else "%.2g" % r["err"], fmt(r["nnc_us"]), fmt(r["ort_us"])))
        worst = next((w for w in ("FAIL", "INVALID", "REFUSED", "close") if w in res), "ok")   # ok or ok-f16: ok
        counts[worst] += 1
        failed |= worst == "FAIL"
    print()
    for r in rows:
        if r.get("missing"):
            continue
        lines = []
        for level in ("O2", "O0"):
            x = r[level]
            if x["result"] == "REFUSED" and (level == "O2" or x["reasons"] != r["O2"]["reasons"]):
                lines += ["-%s refused: %s" % (level, why) for why in grouped(x["reasons"])]
            elif x["result"] in ("FAIL", "INVALID", "no ref", "close") and x["detail"] and (
                    level == "O2" or x["detail"] != r["O2"]["detail"]):
                lines.append("-%s %s: %s" % (level, x["result"], x["detail"]))
        lines += r["notes"]
        if lines:
            print("%s (%s):" % (r["name"], r["pkg"]))
            for l in lines:
                print("    " + l)
    print("real models: %d ok, %d close (dynamic quantization), %d refused, %d failed%s%s of %d" % (
        counts["ok"], counts["close"], counts["REFUSED"], counts["FAIL"],
        (", %d invalid" % counts["INVALID"]) if counts["INVALID"] else "",
        (", %d missing" % counts["missing"]) if counts["missing"] else "", len(rows)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
