#!/usr/bin/python3
"""host_data.py — the host library's data readers against files NumPy writes.

    /usr/bin/python3 tests/host_data.py build/tests/host_data_dump

Writes .npy (every dtype nnc_host.h lists, both byte orders, format
versions 1.0 / 2.0 / 3.0), .npz (np.savez and np.savez_compressed), CSV
(np.savetxt with a header), gzipped and plain IDX and raw float32 files
with NumPy, loads each through tests/host_data_dump.c (nnc_host_array_load /
nnc_host_xy_load) and checks that it read exactly what NumPy holds: the
shape, the stored dtype and every value (printed with %.9g, which
round-trips float32, or written back with nnc_host_npy_save and read by
np.load).  Then the refusals: each must exit 1 with one message on stderr
naming the file and the place.  If Debian's dataset-fashion-mnist is
installed, its IDX files are read too (60000 images in well under a second,
labels 0..9), and a Fashion-MNIST-sized .npy must load as fast.
"""
import gzip
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

DUMP = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/tests/host_data_dump")
FASHION = "/usr/share/datasets/fashion-mnist"
failures = []
checks = 0


def run(*args):
    p = subprocess.run([DUMP] + [str(a) for a in args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def fail(what, detail):
    failures.append(what)
    print(f"FAIL {what}: {detail}")


def parse(out, prefix=""):
    """shape, stored, dtype and the values of one array in the dump's output"""
    lines = [l[len(prefix):] for l in out.splitlines() if l.startswith(prefix)]
    shape = tuple(int(v) for v in lines[0].split()[1:])
    stored = lines[1].split()[1]
    dtype = lines[2].split()[1]
    body = lines[3:]
    if prefix == "" and body and body[-1].startswith("n "):
        body = body[:-1]
    if dtype == "i32":
        vals = np.array([int(v) for v in body], dtype=np.int64)
    else:
        vals = np.array([float(v) for v in body], dtype=np.float64).astype(np.float32)
    return shape, stored, dtype, vals


def same(a, b):
    """bitwise equal float32 / int arrays, NaNs equal"""
    a = np.asarray(a).ravel()
    b = np.asarray(b).ravel()
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))) and
                    np.all(np.signbit(a) == np.signbit(b)))
    return bool(np.all(a == b))


def expect_array(what, args, want, stored=None, dtype="f32"):
    global checks
    checks += 1
    rc, out, err = run("array", *args, "-p", *(["-i"] if dtype == "i32" else []))
    if rc != 0:
        return fail(what, f"exit {rc}: {err.strip()}")
    shape, st, dt, vals = parse(out)
    if shape != want.shape:
        return fail(what, f"shape {shape}, expected {want.shape}")
    if stored and st != stored:
        return fail(what, f"stored {st}, expected {stored}")
    if dt != dtype:
        return fail(what, f"dtype {dt}, expected {dtype}")
    if not same(vals, want):
        bad = np.flatnonzero(~((vals == want.ravel()) | (np.isnan(vals) & np.isnan(want.ravel().astype(np.float64)))))
        k = bad[0] if bad.size else 0
        return fail(what, f"value {k}: read {vals[k]!r}, NumPy holds {want.ravel()[k]!r}")


def expect_error(what, args, path, *needles, mode="array"):
    """exit 1, one line on stderr starting with the path and holding the needles"""
    global checks
    checks += 1
    rc, out, err = run(mode, *args)
    lines = err.splitlines()
    if rc != 1:
        return fail(what, f"exit {rc}, expected 1 (stderr: {err.strip()})")
    if out:
        return fail(what, f"printed an array: {out[:200]}")
    if len(lines) != 1 or not lines[0].startswith(str(path) + ":"):
        return fail(what, f"expected one message starting with '{path}:', found: {err!r}")
    for n in needles:
        if n not in lines[0]:
            return fail(what, f"message lacks '{n}': {lines[0]}")


def sample(dtype, shape, rng):
    """values that cover the dtype: extremes, zero, negatives, specials"""
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    if dt.kind == "b":
        v = rng.integers(0, 2, n).astype(bool)
    elif dt.kind == "f":
        v = (rng.standard_normal(n) * 100).astype(dt)
        specials = [0.0, -0.0, 1.0, -1.5, np.inf, -np.inf, np.nan]
        if dt.itemsize >= 4:
            specials += [np.finfo(np.float32).max, np.finfo(np.float32).tiny, 1e-45]
        else:
            specials += [65504.0, 6e-8]
        v[:len(specials)] = np.array(specials, dtype=dt)
    else:
        info = np.iinfo(dt)
        v = rng.integers(info.min, info.max, n, dtype=dt.newbyteorder("="), endpoint=True).astype(dt)
        v[:3] = [info.min, 0, info.max]
    return v.reshape(shape)


def main():
    tmp = tempfile.mkdtemp(prefix="nnc-host-data-py-")
    try:
        return checks_in(tmp)
    finally:
        subprocess.run(["rm", "-rf", tmp])


def checks_in(tmp):
    rng = np.random.default_rng(19)
    P = lambda name: os.path.join(tmp, name)

    # ---- .npy: every dtype, both byte orders, to float32 and (when exact) int32
    for base in ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]:
        for order in (["<", ">"] if base[1] != "1" else ["|"]):
            dt = np.dtype(order + base) if base != "b1" else np.dtype(bool)
            a = sample(dt, (3, 4, 5), rng)
            name = P(f"{base}{'be' if order == '>' else ''}.npy")
            np.save(name, a)
            with warnings_off():
                want = a.astype(np.float32)
            expect_array(f"npy {dt.str} -> f32", [name], want, stored=dt.str)
            if dt.kind in "iub":
                fits = a.astype(np.float64)
                inside = bool(np.all((fits >= -2**31) & (fits <= 2**31 - 1)))
                if inside:
                    expect_array(f"npy {dt.str} -> i32", [name], a.astype(np.int64), dtype="i32")
                else:
                    flat = a.ravel()
                    k = int(np.flatnonzero((flat.astype(np.float64) < -2**31) | (flat.astype(np.float64) > 2**31 - 1))[0])
                    idx = ", ".join(str(i) for i in np.unravel_index(k, a.shape))
                    hdr = 128
                    expect_error(f"npy {dt.str} -> i32 out of range", [name, "-i"], name,
                                 f"byte {hdr + k * dt.itemsize} (element [{idx}])", "int32's range")
            elif dt.kind == "f":
                ints = np.round(a[np.isfinite(a)]).astype(dt)
                ints = np.clip(ints, -1000, 1000).astype(dt)
                iname = P(f"{base}{'be' if order == '>' else ''}-int.npy")
                np.save(iname, ints)
                expect_array(f"npy integral {dt.str} -> i32", [iname], ints.astype(np.int64), dtype="i32")

    # format versions 2.0 and 3.0
    a = rng.standard_normal((7, 3)).astype(np.float32)
    for ver in [(1, 0), (2, 0), (3, 0)]:
        name = P(f"v{ver[0]}.npy")
        with open(name, "wb") as f:
            np.lib.format.write_array(f, a, version=ver)
        expect_array(f"npy version {ver}", [name], a)

    # 1-D, many dims, an empty leading axis
    for shape in [(11,), (2, 1, 3, 1, 2, 1, 2, 2), (0, 4)]:
        a = rng.standard_normal(shape).astype(np.float32)
        name = P(f"shape{len(shape)}.npy")
        np.save(name, a)
        expect_array(f"npy shape {shape}", [name], a)

    # ---- nnc_host_npy_save writes what np.load reads, bit for bit
    global checks
    a = sample("f4", (13, 5, 2), rng)
    np.save(P("rt.npy"), a)
    rc, out, err = run("array", P("rt.npy"), "-o", P("rt-out.npy"))
    checks += 1
    if rc != 0:
        fail("npy save", err)
    else:
        back = np.load(P("rt-out.npy"))
        if back.dtype != np.float32 or back.shape != a.shape or not same(back, a):
            fail("npy save", f"np.load read {back.dtype} {back.shape}")
        if os.path.getsize(P("rt-out.npy")) != 128 + a.nbytes:
            fail("npy save", "header not padded to 64 bytes")
        if any(f.startswith("rt-out.npy.tmp") for f in os.listdir(tmp)):
            fail("npy save", "left a temporary file")

    # ---- .npz
    x = rng.standard_normal((50, 6)).astype(np.float32)
    y = rng.integers(0, 4, 50)
    for fn, kind in [(np.savez, "savez"), (np.savez_compressed, "savez_compressed")]:
        name = P(f"{kind}.npz")
        fn(name, x=x, y=y, extra=np.arange(3, dtype=">i2"))
        expect_array(f"npz {kind} x", [name, "-m", "x"], x, stored="<f4")
        expect_array(f"npz {kind} y", [name, "-m", "y.npy"], y.astype(np.int64), stored="<i8", dtype="i32")
        expect_array(f"npz {kind} extra", [name, "-m", "extra"], np.arange(3, dtype=np.float32), stored=">i2")
        rc, out, err = run("xy", name, "-n", 6, "-N", 1, "-c", 4, "-p")
        checks += 1
        if rc != 0:
            fail(f"npz {kind} xy", err)
        else:
            xs, _, _, xv = parse(out, "x ")
            ys, _, _, yv = parse(out, "y ")
            if xs != x.shape or not same(xv, x) or ys != y.shape or not same(yv, y) or "n 50" not in out:
                fail(f"npz {kind} xy", out[:300])
        expect_error(f"npz {kind} missing member", [name, "-m", "labels"], name,
                     "expected a member 'labels' (labels.npy)", "found 'x', 'y', 'extra'")
        expect_error(f"npz {kind} labels out of range", [name, "-n", 6, "-N", 1, "-c", 3], name,
                     "member 'y'", "expected a class index in [0, 3)", "found 3", mode="xy")
        expect_error(f"npz {kind} wrong feature size", [name, "-n", 5, "-N", 1, "-c", 4], name,
                     "expected shape (50, 5)", "found shape (50, 6)", mode="xy")
    # the model's input and label names as members
    name = P("named.npz")
    np.savez(name, pixels=x, target=y.astype(np.uint8))
    rc, out, err = run("xy", name, "-n", 6, "-N", 1, "-c", 4, "-I", "pixels", "-L", "target")
    checks += 1
    if rc != 0 or "n 50" not in out:
        fail("npz named members", err)
    expect_error("npz no features", [name, "-n", 6, "-N", 1, "-c", 4], name,
                 "expected a member 'x'", "features", mode="xy")
    # a damaged archive: truncated, a byte of compressed data changed
    data = open(P("savez_compressed.npz"), "rb").read()
    open(P("cut.npz"), "wb").write(data[:len(data) // 2])
    expect_error("npz truncated", [P("cut.npz"), "-m", "x"], P("cut.npz"), "end-of-central-directory")
    bad = bytearray(data)
    bad[60] ^= 0xFF
    open(P("bad.npz"), "wb").write(bytes(bad))
    expect_error("npz corrupt member", [P("bad.npz"), "-m", "x"], P("bad.npz"), "member 'x.npy'")

    # ---- CSV (np.savetxt), with and without np.savetxt's '# ' before the header
    table = np.column_stack([rng.standard_normal((40, 3)), rng.integers(0, 3, 40)])
    for comments, tag in [("", "plain"), ("# ", "hash")]:
        name = P(f"{tag}.csv")
        np.savetxt(name, table, delimiter=",", header="a,b,c,label", comments=comments)
        ref = np.loadtxt(name, delimiter=",", skiprows=1)
        expect_array(f"csv {tag} all", [name], ref.astype(np.float32), stored="csv")
        expect_array(f"csv {tag} label", [name, "-m", "label"], ref[:, 3].astype(np.int64), dtype="i32")
        expect_array(f"csv {tag} exclude", [name, "-e", "label,b"], ref[:, [0, 2]].astype(np.float32))
        rc, out, err = run("xy", name, "-n", 3, "-N", 1, "-c", 3, "-p")
        checks += 1
        if rc != 0 or "n 40" not in out:
            fail(f"csv {tag} xy", err)
        else:
            _, _, _, xv = parse(out, "x ")
            if not same(xv, ref[:, :3].astype(np.float32)):
                fail(f"csv {tag} xy", "x differs")
    lines = open(P("plain.csv")).read().splitlines()
    lines[5] = lines[5].replace(",", ",oops", 1)
    open(P("text.csv"), "w").write("\n".join(lines) + "\n")
    expect_error("csv non-numeric", [P("text.csv")], P("text.csv"), "row 6, column 2 ('b')", "expected a number",
                 "found 'oops")
    lines = open(P("plain.csv")).read().splitlines()
    lines[9] = lines[9].rsplit(",", 1)[0]
    open(P("ragged.csv"), "w").write("\n".join(lines) + "\n")
    expect_error("csv ragged", [P("ragged.csv")], P("ragged.csv"), "row 10:", "expected 4 cells", "found 3")
    expect_error("csv no such column", [P("plain.csv"), "-m", "y"], P("plain.csv"), "row 1:", "named 'y'")

    # ---- IDX, gzipped and plain
    imgs = rng.integers(0, 256, (20, 7, 5), dtype=np.uint8)
    labels = rng.integers(0, 10, 20, dtype=np.uint8)
    def idx(arr, code):
        return bytes([0, 0, code, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + arr.tobytes()
    with gzip.open(P("img-idx3-ubyte.gz"), "wb") as f:
        f.write(idx(imgs, 0x08))
    open(P("img-idx3-ubyte"), "wb").write(idx(imgs, 0x08))
    with gzip.open(P("lab-idx1-ubyte.gz"), "wb") as f:
        f.write(idx(labels, 0x08))
    scaled = imgs.astype(np.float32) * np.float32(1.0 / 255.0)
    expect_array("idx gz images", [P("img-idx3-ubyte.gz")], scaled, stored="u1")
    expect_array("idx images", [P("img-idx3-ubyte")], scaled, stored="u1")
    expect_array("idx gz labels", [P("lab-idx1-ubyte.gz")], labels.astype(np.int64), dtype="i32")
    fl = rng.standard_normal((4, 3)).astype(">f4")
    open(P("f-idx2"), "wb").write(idx(fl, 0x0D))
    expect_array("idx f4", [P("f-idx2")], fl.astype(np.float32), stored=">f4")
    rc, out, err = run("xy", P("img-idx3-ubyte.gz"), "-y", P("lab-idx1-ubyte.gz"), "-n", 35, "-N", 1, "-c", 10)
    checks += 1
    if rc != 0 or "n 20" not in out:
        fail("idx xy", err)
    raw = idx(imgs, 0x08)
    with gzip.open(P("cut-idx3-ubyte.gz"), "wb") as f:
        f.write(raw[:-30])
    expect_error("idx gz truncated", [P("cut-idx3-ubyte.gz")], P("cut-idx3-ubyte.gz"),
                 f"byte {len(raw) - 30} (decompressed): truncated")
    with gzip.open(P("lab19-idx1-ubyte.gz"), "wb") as f:
        f.write(idx(labels[:19], 0x08))
    expect_error("x/y sample counts differ", [P("img-idx3-ubyte.gz"), "-y", P("lab19-idx1-ubyte.gz"),
                                              "-n", 35, "-N", 1, "-c", 10], P("lab19-idx1-ubyte.gz"),
                 "expected as many label samples as feature samples (20 in", "found 19", mode="xy")

    # ---- raw float32
    r = rng.standard_normal((6, 2, 3)).astype("<f4")
    r.tofile(P("r.f32"))
    expect_array("raw f32", [P("r.f32"), "-s", "2,3"], r)
    expect_error("raw f32 remainder", [P("r.f32"), "-s", "5"], P("r.f32"), "byte 140:", "4 left over")

    # ---- refusals of files NumPy wrote
    a = rng.standard_normal((10, 4)).astype(np.float32)
    np.save(P("t.npy"), a)
    data = open(P("t.npy"), "rb").read()
    open(P("trunc.npy"), "wb").write(data[:-7])
    expect_error("npy truncated data", [P("trunc.npy")], P("trunc.npy"), f"byte {len(data) - 7}: truncated",
                 "expected 160 data bytes from byte 128", "found 153")
    open(P("trunc-hdr.npy"), "wb").write(data[:40])
    expect_error("npy truncated header", [P("trunc-hdr.npy")], P("trunc-hdr.npy"), "byte 40: truncated")
    np.save(P("c8.npy"), a.astype(np.complex64))
    expect_error("npy complex dtype", [P("c8.npy")], P("c8.npy"), "byte 20:", "expected a dtype", "<c8")
    np.save(P("fortran.npy"), np.asfortranarray(a))
    expect_error("npy Fortran order", [P("fortran.npy")], P("fortran.npy"), "expected C order",
                 "Fortran-order array of shape (10, 4)")
    np.save(P("frac.npy"), np.array([0.0, 1.0, 2.5]))
    expect_error("npy labels not integral", [P("frac.npy"), "-i"], P("frac.npy"), "byte 144 (element [2])",
                 "expected an integer", "found 2.5")
    np.save(P("ylong.npy"), np.zeros(11, dtype=np.int64))
    expect_error("npy x/y counts", [P("t.npy"), "-y", P("ylong.npy"), "-n", 4, "-N", 1, "-c", 2], P("ylong.npy"),
                 "found 11", mode="xy")
    expect_error("npy x shape", [P("t.npy"), "-y", P("ylong.npy"), "-n", 3, "-N", 1, "-c", 2], P("t.npy"),
                 "expected shape (10, 3)", "found shape (10, 4)", mode="xy")

    # ---- speed: a Fashion-MNIST-sized .npy
    big = rng.random((60000, 784), dtype=np.float32)
    np.save(P("big.npy"), big)
    t0 = time.time()
    rc, out, err = run("array", P("big.npy"), "-t")
    checks += 1
    secs = float(err.split()[-1]) if rc == 0 else None
    if rc != 0 or secs is None or secs > 1.0:
        fail("npy 60000x784 f4 speed", f"exit {rc}, {err.strip()}")
    else:
        print(f"  60000x784 .npy f4: {secs:.3f} s")
    os.remove(P("big.npy"))

    # ---- Debian's Fashion-MNIST
    if os.path.isdir(FASHION):
        img = os.path.join(FASHION, "train-images-idx3-ubyte.gz")
        lab = os.path.join(FASHION, "train-labels-idx1-ubyte.gz")
        rc, out, err = run("array", img, "-o", P("fashion.npy"), "-t")
        checks += 1
        if rc != 0:
            fail("fashion-mnist images", err)
        else:
            secs = float(err.split()[-1])
            with gzip.open(img, "rb") as f:
                raw = f.read()
            ref = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(60000, 28, 28)
            got = np.load(P("fashion.npy"))
            if not out.startswith("shape 60000 28 28") or not same(got, ref.astype(np.float32) * np.float32(1 / 255)):
                fail("fashion-mnist images", out)
            if secs > 1.0:
                fail("fashion-mnist images speed", f"{secs:.3f} s")
            print(f"  Fashion-MNIST train images (gzipped IDX): {secs:.3f} s")
            os.remove(P("fashion.npy"))
        rc, out, err = run("xy", img, "-y", lab, "-n", 784, "-N", 1, "-c", 10)
        checks += 1
        if rc != 0 or "n 60000" not in out:
            fail("fashion-mnist xy", err)
        rc, out, err = run("array", lab, "-i", "-p")
        checks += 1
        if rc != 0:
            fail("fashion-mnist labels", err)
        else:
            _, _, _, yv = parse(out)
            with gzip.open(lab, "rb") as f:
                ref = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
            if len(yv) != 60000 or yv.min() != 0 or yv.max() != 9 or not same(yv, ref.astype(np.int64)):
                fail("fashion-mnist labels", f"{len(yv)} labels in [{yv.min()}, {yv.max()}]")
        expect_error("fashion-mnist 9 classes", [img, "-y", lab, "-n", 784, "-N", 1, "-c", 9], lab,
                     "expected a class index in [0, 9)", "found 9", mode="xy")
    else:
        print(f"  ({FASHION} not installed: Fashion-MNIST checks skipped)")

    print(f"host_data.py: {checks} checks, {len(failures)} failed")
    return 1 if failures else 0


class warnings_off:
    def __enter__(self):
        self.old = np.seterr(all="ignore")
        import warnings
        self.w = warnings.catch_warnings()
        self.w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *a):
        self.w.__exit__(*a)
        np.seterr(**self.old)


if __name__ == "__main__":
    sys.exit(main())
