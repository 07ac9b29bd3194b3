// The C ABI from Node.js with koffi (a foreign-function library; nothing to compile): list the
// effects, run a graph on a photo, read an output's pixels and a node's structured output.
//
//   node examples/ffi/node/effects.js path/to/libartistry_c.so PHOTO OUT_DIR
'use strict';

const path = require('path');
const koffi = require('koffi');

const [libPath, photo, outDir] = process.argv.slice(2);
if (!outDir) {
    console.error('usage: effects.js LIBARTISTRY_C PHOTO OUT_DIR');
    process.exit(2);
}
const lib = koffi.load(libPath);

const ImageDesc = koffi.struct('art_image_desc', {
    struct_size: 'size_t',
    data: 'void *',
    width: 'int32_t',
    height: 'int32_t',
    channels: 'int32_t',
    elem_type: 'int32_t',
    stride: 'size_t',
});
koffi.opaque('art_engine');
koffi.opaque('art_image');
koffi.opaque('art_graph');
koffi.opaque('art_result');

const api = {
    version: lib.func('const char *art_version(void)'),
    lastError: lib.func('const char *art_last_error_message(void)'),
    effectCount: lib.func('int32_t art_effect_count(_Out_ size_t *out)'),
    effectName: lib.func('int32_t art_effect_name(_Out_ const char **out, size_t index)'),
    engineCreate: lib.func('int32_t art_engine_create(_Out_ art_engine **out, void *options)'),
    engineFree: lib.func('void art_engine_free(art_engine *engine)'),
    imageLoad: lib.func('int32_t art_image_load(_Out_ art_image **out, const char *path)'),
    imageSave: lib.func('int32_t art_image_save(const art_image *image, const char *path)'),
    imageDescribe: lib.func('int32_t art_image_describe(_Inout_ art_image_desc *out, const art_image *image)'),
    imageFree: lib.func('void art_image_free(art_image *image)'),
    graphFromJson: lib.func('int32_t art_graph_from_json(_Out_ art_graph **out, const char *json)'),
    graphFree: lib.func('void art_graph_free(art_graph *graph)'),
    run: lib.func('int32_t art_engine_run(_Out_ art_result **out, art_engine *engine, const art_graph *graph, const art_image *input, void *options)'),
    resultOutput: lib.func('int32_t art_result_output(_Out_ art_image **out, const art_result *result, const char *node)'),
    resultData: lib.func('int32_t art_result_data(_Out_ const char **out, const art_result *result, const char *node)'),
    resultFree: lib.func('void art_result_free(art_result *result)'),
};

// Every fallible call returns a status; the thread's last error message says why.
function check(status, what) {
    if (status !== 0) throw new Error(`${what}: status ${status}: ${api.lastError()}`);
}
function out() { return [null]; }

console.log('artistry', api.version());
const count = [0];
check(api.effectCount(count), 'art_effect_count');
const names = [];
for (let i = 0; i < Number(count[0]); ++i) {
    const name = out();
    check(api.effectName(name, i), 'art_effect_name');
    names.push(name[0]);
}
console.log('effects:', names.join(', '));

const engine = out(), image = out(), graph = out(), result = out(), pop = out(), data = out();
check(api.engineCreate(engine, null), 'art_engine_create');
check(api.imageLoad(image, photo), 'art_image_load');
check(api.graphFromJson(graph, JSON.stringify({
    nodes: [
        { id: 'faces', op: 'detect_faces' },
        { id: 'pop', op: 'pop_art' },
    ],
    outputs: ['faces', 'pop'],
})), 'art_graph_from_json');
check(api.run(result, engine[0], graph[0], image[0], null), 'art_engine_run');

check(api.resultOutput(pop, result[0], 'pop'), 'art_result_output');
const desc = { struct_size: koffi.sizeof(ImageDesc) };  // the ABI checks the struct's size
check(api.imageDescribe(desc, pop[0]), 'art_image_describe');
const first = koffi.decode(desc.data, 'uint8_t', 6);
console.log(`pop_art: ${desc.width}x${desc.height}x${desc.channels}, first values [${first.join(', ')}]`);
const saved = path.join(outDir, 'node_pop_art.png');
check(api.imageSave(pop[0], saved), 'art_image_save');
console.log('wrote', saved);

check(api.resultData(data, result[0], 'faces'), 'art_result_data');
const faces = data[0] === '' ? [] : JSON.parse(data[0]);
console.log(`detect_faces: ${faces.length} face(s)` +
            faces.map((f) => ` [${f.box.map((v) => v.toFixed(0)).join(', ')}] score ${f.score.toFixed(2)}`).join(''));

// The error path: a missing file is a status and a message, never an exception across the ABI.
const missing = out();
const status = api.imageLoad(missing, '/nonexistent/photo.jpg');
console.log(`error path: status ${status}: ${api.lastError()}`);

api.imageFree(pop[0]);
api.resultFree(result[0]);
api.graphFree(graph[0]);
api.imageFree(image[0]);
api.engineFree(engine[0]);
