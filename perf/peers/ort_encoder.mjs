// Peer encoder: ONNX Runtime (onnxruntime-node) on given token ids.
// Usage: node ort_encoder.mjs <model.onnx> <ids.json> <out-prefix> [--threads N] [--batch N]
//   ids.json: {"ids": [[101, ..., 102], ...]} (special tokens included, no padding).
// Writes <out-prefix>.hidden.f32 (the last hidden state of every real token, inputs in order, little-endian float32)
// and <out-prefix>.mean.f32 (mean over real tokens per input, [N, H]); prints {"hidden":H,"inputs":N,"tokens":T,"seconds":s}.
// Inputs are sorted by length and padded per batch with an attention mask, as a serving stack would run them.
import { readFileSync, writeFileSync } from "node:fs";
import * as ort from "onnxruntime-node";

const args = process.argv.slice(2);
const [modelPath, idsPath, outPrefix] = args;
if (!modelPath || !idsPath || !outPrefix) {
  console.error("usage: node ort_encoder.mjs <model.onnx> <ids.json> <out-prefix> [--threads N] [--batch N]");
  process.exit(2);
}
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const threads = option("--threads", 2);
const batchSize = option("--batch", 64);

const ids = JSON.parse(readFileSync(idsPath, "utf8")).ids;
const session = await ort.InferenceSession.create(modelPath, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: "all",
});
const inputNames = session.inputNames;
const outputName = session.outputNames.includes("last_hidden_state") ? "last_hidden_state" : session.outputNames[0];

const order = ids.map((_, i) => i).sort((a, b) => ids[b].length - ids[a].length || a - b);
const perInput = new Array(ids.length);
let hidden = 0;
const started = process.hrtime.bigint();
for (let start = 0; start < order.length; start += batchSize) {
  const batch = order.slice(start, start + batchSize);
  const t = Math.max(...batch.map((i) => ids[i].length));
  const n = batch.length;
  const inputIds = new BigInt64Array(n * t);
  const mask = new BigInt64Array(n * t);
  const types = new BigInt64Array(n * t);
  batch.forEach((idx, b) => {
    ids[idx].forEach((id, j) => {
      inputIds[b * t + j] = BigInt(id);
      mask[b * t + j] = 1n;
    });
  });
  const feeds = {};
  if (inputNames.includes("input_ids")) feeds.input_ids = new ort.Tensor("int64", inputIds, [n, t]);
  if (inputNames.includes("attention_mask")) feeds.attention_mask = new ort.Tensor("int64", mask, [n, t]);
  if (inputNames.includes("token_type_ids")) feeds.token_type_ids = new ort.Tensor("int64", types, [n, t]);
  const result = await session.run(feeds);
  const out = result[outputName];
  hidden = out.dims[2];
  const data = out.data;
  batch.forEach((idx, b) => {
    const len = ids[idx].length;
    perInput[idx] = data.slice(b * t * hidden, (b * t + len) * hidden);
  });
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;

let tokens = 0;
for (const p of perInput) tokens += p.length / hidden;
const all = new Float32Array(tokens * hidden);
const means = new Float32Array(ids.length * hidden);
let offset = 0;
perInput.forEach((p, i) => {
  all.set(p, offset);
  offset += p.length;
  const len = p.length / hidden;
  for (let c = 0; c < hidden; c++) {
    let s = 0;
    for (let j = 0; j < len; j++) s += p[j * hidden + c];
    means[i * hidden + c] = s / len;
  }
});
writeFileSync(outPrefix + ".hidden.f32", Buffer.from(all.buffer));
writeFileSync(outPrefix + ".mean.f32", Buffer.from(means.buffer));
process.stdout.write(JSON.stringify({ hidden, inputs: ids.length, tokens, seconds, output: outputName }) + "\n");
