// inference_ort.js — ONNX Runtime (onnxruntime-node, CPU, $THREADS intra-op threads, default 1) on the
// given models: microseconds per session.run in each of ROUNDS (the
// environment's, default 7) rounds of REPS runs, after a warm-up.
// Usage: node inference_ort.js MODEL.onnx:REPS:D1,D2,... ...
// (prints one JSON object: path -> [us of round 1, ...])
const ort = require('onnxruntime-node');

async function time(spec) {
  const [path, reps, shape] = spec.split(':');
  const s = await ort.InferenceSession.create(path, { intraOpNumThreads: +(process.env.THREADS || 1), interOpNumThreads: 1,
                                                      executionMode: 'sequential' });
  const meta = s.inputNames[0];
  const dims = shape.split(',').map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const x = new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => (i % 17) / 17), dims);
  const feeds = { [meta]: x };
  // warm-up: a round's worth (the JIT and the allocator settle), at least 20
  for (let i = 0; i < Math.max(20, +reps); i++) await s.run(feeds);
  const us = [];
  for (let r = 0; r < +(process.env.ROUNDS || 7); r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < +reps; i++) await s.run(feeds);
    us.push(Number(process.hrtime.bigint() - t0) / 1e3 / +reps);
  }
  return us;
}

(async () => {
  const out = {};
  for (const spec of process.argv.slice(2)) out[spec.split(':')[0]] = await time(spec);
  console.log(JSON.stringify(out));
})();
