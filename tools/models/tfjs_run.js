// Runs one TensorFlow.js graph model on TF.js's pure-JavaScript CPU backend, the reference
// scripts/fetch-models checks its TF.js graph conversions against. Never used by the library.
//
//   node tfjs_run.js REQUEST.json
// REQUEST: {"model": path to model.json, "inputs": [{"name", "shape", "file"}],
//           "outputs": [node names], "out_dir": path}
// The model is read from the file system (its weight shards beside model.json); no fetch.
// Input files hold raw little-endian float32; each output is written to out_dir/<index>.f32
// and described on stdout as JSON: {"outputs": [{"name", "shape", "file"}], "seconds": t,
// "tfjs": version}.
'use strict';
const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stderr.write(`tfjs_run: ${message}\n`);
  process.exit(1);
}

// An IOHandler that hands TF.js the topology and the concatenated weight shards.
function fileHandler(modelJson) {
  return {
    load: async () => {
      const model = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
      const dir = path.dirname(modelJson);
      const specs = [];
      const buffers = [];
      for (const group of model.weightsManifest) {
        for (const shard of group.paths) buffers.push(fs.readFileSync(path.join(dir, shard)));
        specs.push(...group.weights);
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: model.modelTopology,
        format: model.format,
        generatedBy: model.generatedBy,
        convertedBy: model.convertedBy,
        signature: model.signature,
        userDefinedMetadata: model.userDefinedMetadata,
        modelInitializer: model.modelInitializer,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

async function main() {
  if (process.argv.length !== 3) fail('usage: node tfjs_run.js REQUEST.json');
  let tf, converter;
  try {
    tf = require('@tensorflow/tfjs-core');
    require('@tensorflow/tfjs-backend-cpu');
    converter = require('@tensorflow/tfjs-converter');
  } catch (e) {
    fail(`cannot load @tensorflow/tfjs-core/-converter/-backend-cpu (NODE_PATH=${process.env.NODE_PATH || ''}): ${e.message}`);
  }
  await tf.setBackend('cpu');
  await tf.ready();
  const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const model = await converter.loadGraphModel(fileHandler(request.model));
  const feeds = {};
  for (const input of request.inputs) {
    const bytes = fs.readFileSync(input.file);
    const count = input.shape.reduce((a, b) => a * b, 1);
    if (bytes.length !== count * 4) {
      fail(`input ${input.name}: ${input.file} has ${bytes.length} bytes, shape needs ${count * 4}`);
    }
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + count * 4));
    feeds[input.name] = tf.tensor(values, input.shape, 'float32');
  }
  const wanted = request.outputs || model.outputs.map((o) => o.name);
  const started = process.hrtime.bigint();
  let results = model.execute(feeds, wanted);
  if (!Array.isArray(results)) results = [results];
  const arrays = await Promise.all(results.map((t) => t.data()));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const described = [];
  wanted.forEach((name, index) => {
    const tensor = results[index];
    if (tensor.dtype !== 'float32') fail(`output ${name} is ${tensor.dtype}, expected float32`);
    const file = path.join(request.out_dir, `${index}.f32`);
    const data = arrays[index];
    fs.writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    described.push({ name, shape: tensor.shape, file });
  });
  process.stdout.write(JSON.stringify({ outputs: described, seconds, tfjs: tf.version_core }) + '\n');
}

main().catch((e) => fail(e.message || String(e)));
