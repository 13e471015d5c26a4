// ort_run.js — tests/real_models.py's reference: ONNX Runtime (onnxruntime-node,
// CPU, one thread) runs MODEL on the inputs SPEC describes, read from IN,
// writes every graph output (converted to float32, in the graph's order, each
// in full) to OUT and prints one JSON line: {"outputs": [{name, dims, type}],
// "us": median microseconds per session.run over REPS timed runs after a
// warm-up run (0: not timed)}.  TIMING is MIN,MAX,MS[,cpu]: at least MIN and at
// most MAX runs, for about MS milliseconds; with "cpu" each run's time is the
// process's CPU time (user + system, all threads: ORT's one compute thread and
// the binding's) in place of wall time.
// SPEC (JSON): {"inputs": [{"name", "type": "float32"|"int64"|"int32"|"bool", "dims"}]};
// IN holds each input's raw little-endian values, one after another, in the
// SPEC's order (bool as one byte each).
// Usage: node ort_run.js MODEL SPEC IN OUT TIMING
const fs = require('fs');
const ort = require('onnxruntime-node');

const ARRAYS = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array, bool: Uint8Array,
                 float64: Float64Array, uint8: Uint8Array, int8: Int8Array };

(async () => {
  const [model, specFile, inFile, outFile, timing] = process.argv.slice(2);
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
  const raw = fs.readFileSync(inFile);
  const feeds = {};
  let pos = 0;
  for (const i of spec.inputs) {
    const A = ARRAYS[i.type];
    const n = i.dims.reduce((a, b) => a * b, 1);
    const bytes = n * A.BYTES_PER_ELEMENT;
    const buf = new ArrayBuffer(bytes);
    new Uint8Array(buf).set(raw.subarray(pos, pos + bytes));
    pos += bytes;
    feeds[i.name] = new ort.Tensor(i.type, new A(buf), i.dims);
  }
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1,
                                                       executionMode: 'sequential' });
  const res = await s.run(feeds);
  const outs = [], parts = [];
  for (const name of s.outputNames) {
    const t = res[name];
    const f = Float32Array.from(t.data, (v) => Number(v));
    parts.push(Buffer.from(f.buffer, f.byteOffset, f.byteLength));
    outs.push({ name, dims: t.dims, type: t.type });
  }
  fs.writeFileSync(outFile, Buffer.concat(parts));
  const tf = String(timing).split(','), [min, max, ms] = tf.slice(0, 3).map(Number), us = [];
  const cpu = tf[3] === 'cpu';
  const clock = cpu ? () => { const u = process.cpuUsage(); return (u.user + u.system) * 1e3; }
                    : () => Number(process.hrtime.bigint());   // nanoseconds
  if (min > 0) {
    const start = Date.now();
    for (let w = 0; w < 20 && Date.now() - start < ms / 5; w++) await s.run(feeds);
    const t = Date.now();
    while (us.length < max && (us.length < min || Date.now() - t < ms)) {
      const t0 = clock();
      await s.run(feeds);
      us.push((clock() - t0) / 1e3);
    }
    us.sort((a, b) => a - b);
  }
  console.log(JSON.stringify({ outputs: outs, us: us.length ? us[us.length >> 1] : 0 }));
})().catch((e) => { console.error(String(e && e.message || e)); process.exit(1); });
