// Runs the original TF.js CenterNet graph (tools/convert_centernet.py's input) with @tensorflow/tfjs's
// pure-JS CPU backend; called by tools/reference_centernet.py, which prepares the inputs.
//
//   node tools/reference_centernet.mjs MODEL_DIR SCALE IN.rgb...   (needs tools/centernet-ref's deps)
//
// Each IN.rgb is 512x512x3 bytes; the input tensor is `pixel * SCALE`. Writes IN.rgb.out.json
// holding the three outputs (keypoints, wh as base64 little-endian f32; detections as numbers).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

const [dir, scale, ...inputs] = process.argv.slice(2);
await tf.setBackend('cpu');
const m = JSON.parse(readFileSync(join(dir, 'centernet.json'), 'utf8'));
const bin = readFileSync(join(dir, 'centernet.bin'));
const model = await tf.loadGraphModel({
  load: async () => ({
    modelTopology: m.modelTopology,
    format: m.format,
    generatedBy: m.generatedBy,
    convertedBy: m.convertedBy,
    signature: m.signature,
    weightSpecs: m.weightsManifest[0].weights,
    weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
  }),
});
const b64 = (t) => Buffer.from(t.dataSync().buffer).toString('base64');
for (const path of inputs) {
  const px = readFileSync(path);
  const x = tf.tidy(() => tf.tensor(Float32Array.from(px), [1, 512, 512, 3]).mul(Number(scale)));
  const [kp, wh, det] = model.execute(x, ['tower_0/keypoints', 'tower_0/wh', 'tower_0/detections']);
  writeFileSync(`${path}.out.json`, JSON.stringify({
    keypoints: b64(kp), wh: b64(wh), detections: Array.from(det.dataSync()),
  }));
  tf.dispose([x, kp, wh, det]);
  console.log(path, 'done');
}
