// The peer for bench/models: one ONNX model in onnxruntime-node, the same input layout as the
// library's run, timed per inference after a warm-up. Prints one JSON line:
// {"load_ms": .., "ms": [..]}.
//
//   node bench/models_ort.js ORT_MODULE_DIR MODEL.onnx INPUT_NAME N,C,H,W REPS THREADS
'use strict';

const path = require('path');

async function main() {
    const [ortDir, modelPath, inputName, shapeText, repsText, threadsText] = process.argv.slice(2);
    if (!threadsText) {
        console.error('usage: models_ort.js ORT_MODULE_DIR MODEL INPUT N,C,H,W REPS THREADS');
        process.exit(2);
    }
    const ort = require(path.resolve(ortDir));
    const shape = shapeText.split(',').map(Number);
    const reps = Number(repsText);
    const threads = Number(threadsText);

    const t0 = process.hrtime.bigint();
    const session = await ort.InferenceSession.create(modelPath, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
    });
    const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;

    // Deterministic, image-like input: a smooth ramp in the model's normalised range.
    const count = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    for (let i = 0; i < count; ++i) data[i] = ((i % 4099) / 4099 - 0.5);
    const feeds = { [inputName]: new ort.Tensor('float32', data, shape) };

    await session.run(feeds);  // warm-up
    const ms = [];
    for (let r = 0; r < reps; ++r) {
        const t = process.hrtime.bigint();
        await session.run(feeds);
        ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    console.log(JSON.stringify({ load_ms: loadMs, ms }));
}

main().catch((e) => {
    console.error(`models_ort: ${e.message}`);
    process.exit(1);
});
