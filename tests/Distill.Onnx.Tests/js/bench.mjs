// Measures ONNX Runtime CPU latency of one model.
//
// usage: node bench.mjs model.onnx <input shape, comma-separated> <runs> [threads] [warmup]
// Prints one JSON line: {"median_ms": ..., "mean_ms": ..., "min_ms": ..., "max_ms": ..., "runs": ..., "threads": ...}.
// The input is seeded pseudo-random data; latency does not depend on the values.
import ort from 'onnxruntime-node';

const [model, shapeArg, runsArg, threadsArg = '2', warmupArg = '5'] = process.argv.slice(2);
if (!model || !shapeArg || !runsArg) {
  console.error('usage: node bench.mjs model.onnx N,C,H,W runs [threads] [warmup]');
  process.exit(2);
}
const shape = shapeArg.split(',').map(Number);
const runs = Number(runsArg);
const threads = Number(threadsArg);
const warmup = Number(warmupArg);

const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
const count = shape.reduce((a, b) => a * b, 1);
const data = new Float32Array(count);
let state = 12345;
for (let i = 0; i < count; i++) {
  state = (state * 1103515245 + 12345) >>> 0;
  data[i] = state / 4294967296 - 0.5;
}
const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, shape) };

for (let i = 0; i < warmup; i++) await session.run(feeds);
const times = [];
for (let i = 0; i < runs; i++) {
  const start = process.hrtime.bigint();
  await session.run(feeds);
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
}
await session.release();
times.sort((a, b) => a - b);
const mid = Math.floor(times.length / 2);
const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
const mean = times.reduce((a, b) => a + b, 0) / times.length;
console.log(JSON.stringify({ median_ms: median, mean_ms: mean, min_ms: times[0], max_ms: times[times.length - 1], runs, threads }));
