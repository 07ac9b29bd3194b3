// Runs one ONNX model in onnxruntime-node, the reference scripts/fetch-models checks its
// conversions against. Never used by the library at run time.
//
//   node ort_run.js REQUEST.json
// REQUEST: {"model": path, "threads": n, "inputs": [{"name", "shape", "file"}],
//           "outputs": [names] (optional, default all), "out_dir": path}
// Input files hold raw little-endian float32; each output is written to out_dir/<index>.f32
// and described on stdout as JSON: {"outputs": [{"name", "shape", "file"}], "seconds": t}.
'use strict';
const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stderr.write(`ort_run: ${message}\n`);
  process.exit(1);
}

async function main() {
  if (process.argv.length !== 3) fail('usage: node ort_run.js REQUEST.json');
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    fail(`cannot load onnxruntime-node (NODE_PATH=${process.env.NODE_PATH || ''}): ${e.message}`);
  }
  const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const session = await ort.InferenceSession.create(request.model, {
    intraOpNumThreads: request.threads || 1,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  });
  const feeds = {};
  for (const input of request.inputs) {
    const bytes = fs.readFileSync(input.file);
    const count = input.shape.reduce((a, b) => a * b, 1);
    if (bytes.length !== count * 4) {
      fail(`input ${input.name}: ${input.file} has ${bytes.length} bytes, shape needs ${count * 4}`);
    }
    const values = new Float32Array(bytes.buffer, bytes.byteOffset, count);
    feeds[input.name] = new ort.Tensor('float32', values, input.shape);
  }
  const wanted = request.outputs || session.outputNames;
  const started = process.hrtime.bigint();
  const results = await session.run(feeds, wanted);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const described = [];
  wanted.forEach((name, index) => {
    const tensor = results[name];
    if (tensor.type !== 'float32') fail(`output ${name} is ${tensor.type}, expected float32`);
    const file = path.join(request.out_dir, `${index}.f32`);
    const data = tensor.data;
    fs.writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    described.push({ name, shape: tensor.dims, file });
  });
  process.stdout.write(JSON.stringify({ outputs: described, seconds }) + '\n');
}

main().catch((e) => fail(e.message || String(e)));
