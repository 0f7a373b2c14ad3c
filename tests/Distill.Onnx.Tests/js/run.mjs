// Runs ONNX models with ONNX Runtime on float32 inputs read from binary files.
//
// usage: node run.mjs jobs.json
// jobs.json: {"jobs": [{"model": "m.onnx", "runs": [{"inputs": {"input": {"file": "x.bin", "shape": [1, 3, 256, 192]}},
//                                                   "outputDir": "out"}]}]}
// Each run writes <outputDir>/<output name>.bin (float32 little-endian, C order; int64 outputs as float64) and
// <outputDir>/outputs.json: {"outputs": {name: {"shape": [...], "type": "float32"}}}. Models load once per job.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

const jobsPath = process.argv[2];
if (!jobsPath) {
  console.error('usage: node run.mjs jobs.json');
  process.exit(2);
}
const { jobs } = JSON.parse(readFileSync(jobsPath, 'utf8'));

function readFloat32(file, shape) {
  const bytes = readFileSync(file);
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== count * 4) {
    throw new Error(`${file}: ${bytes.length} bytes, expected ${count * 4} for shape [${shape}]`);
  }
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(bytes);
  return new ort.Tensor('float32', data, shape);
}

function toBytes(tensor) {
  if (tensor.type === 'float32') return Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  if (tensor.type === 'int64') return Buffer.from(Float64Array.from(tensor.data, Number).buffer);
  throw new Error(`unsupported output type ${tensor.type}`);
}

for (const job of jobs) {
  const session = await ort.InferenceSession.create(job.model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  for (const run of job.runs) {
    const feeds = {};
    for (const [name, spec] of Object.entries(run.inputs)) feeds[name] = readFloat32(spec.file, spec.shape);
    const results = await session.run(feeds);
    mkdirSync(run.outputDir, { recursive: true });
    const outputs = {};
    for (const name of session.outputNames) {
      const t = results[name];
      writeFileSync(join(run.outputDir, `${name}.bin`), toBytes(t));
      outputs[name] = { shape: t.dims.map(Number), type: t.type };
    }
    writeFileSync(join(run.outputDir, 'outputs.json'), JSON.stringify({ inputs: session.inputNames, outputs }));
  }
  await session.release();
}
