// ONNX Runtime (onnxruntime-node) end-to-end timing on given token ids: throughput on consecutive batches and
// single-sentence latency, the same work as NativeAlign's EncoderThroughputBenchmarks / EncoderLatencyBenchmarks.
// Usage: node ort_bench.mjs <model.onnx> <ids.json> [--threads 2] [--rounds 5] [--latency-repeats 2]
//   ids.json: {"batch": 32, "latency_sentences": 100, "ids": [[101, ..., 102], ...]} (written by
//   `NativeAlign.Benchmarks dump-e2e`). Batches are consecutive `batch` inputs in file order, padded to the batch's
//   longest with an attention mask; latency runs each of the first `latency_sentences` inputs alone.
// Prints JSON: median seconds per batch over rounds, and the median and P90 of the single-call times (after a warm-up
// pass), intra-op threads as given, inter-op 1. Tokenization is not timed here (ours includes it).
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";

const args = process.argv.slice(2);
const [modelPath, idsPath] = args;
if (!modelPath || !idsPath) {
  console.error("usage: node ort_bench.mjs <model.onnx> <ids.json> [--threads N] [--rounds N] [--latency-repeats N]");
  process.exit(2);
}
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const threads = option("--threads", 2);
const rounds = option("--rounds", 5);
const latencyRepeats = option("--latency-repeats", 2);

const data = JSON.parse(readFileSync(idsPath, "utf8"));
const ids = data.ids;
const session = await ort.InferenceSession.create(modelPath, {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: "all",
});
const inputNames = session.inputNames;

function feeds(seqs) {
  const t = Math.max(...seqs.map((s) => s.length));
  const n = seqs.length;
  const inputIds = new BigInt64Array(n * t);
  const mask = new BigInt64Array(n * t);
  const types = new BigInt64Array(n * t);
  seqs.forEach((s, b) => s.forEach((id, j) => {
    inputIds[b * t + j] = BigInt(id);
    mask[b * t + j] = 1n;
  }));
  const f = {};
  if (inputNames.includes("input_ids")) f.input_ids = new ort.Tensor("int64", inputIds, [n, t]);
  if (inputNames.includes("attention_mask")) f.attention_mask = new ort.Tensor("int64", mask, [n, t]);
  if (inputNames.includes("token_type_ids")) f.token_type_ids = new ort.Tensor("int64", types, [n, t]);
  return f;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
// Linear interpolation between closest ranks, as BenchmarkDotNet's percentiles.
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  const r = (s.length - 1) * p;
  const lo = Math.floor(r);
  const hi = Math.ceil(r);
  return s[lo] + (s[hi] - s[lo]) * (r - lo);
};
const now = () => Number(process.hrtime.bigint()) / 1e9;

const batchFeeds = [];
for (let i = 0; i + data.batch <= ids.length; i += data.batch) batchFeeds.push(feeds(ids.slice(i, i + data.batch)));
for (const f of batchFeeds) await session.run(f); // warm-up
const perBatch = [];
for (let r = 0; r < rounds; r++) {
  const t0 = now();
  for (const f of batchFeeds) await session.run(f);
  perBatch.push((now() - t0) / batchFeeds.length);
}

const singles = ids.slice(0, data.latency_sentences);
for (const s of singles.slice(0, 20)) await session.run(feeds([s])); // warm-up
const latencies = [];
for (let r = 0; r < latencyRepeats; r++) {
  for (const s of singles) {
    const t0 = now();
    await session.run(feeds([s]));
    latencies.push(now() - t0);
  }
}

process.stdout.write(JSON.stringify({
  peer: `onnxruntime-node ${ort.env.versions?.common ?? ""}`.trim(), model: modelPath, threads, batch: data.batch,
  batches: batchFeeds.length, seconds_per_batch: median(perBatch), rounds: perBatch,
  latency_median: median(latencies), latency_p90: percentile(latencies, 0.9), latency_calls: latencies.length,
}) + "\n");
