// Peer throughput for TokenizerBenchmarks: @huggingface/tokenizers encoding every line of ../shared/data/tatoeba
// (all files, same order as the C# benchmark), single thread. Prints the median of N timed runs after warm-up.
// Usage: node bench-tokenize.mjs [runs=10]
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const model = join(root, "models", "all-MiniLM-L6-v2");
const tokenizer = new Tokenizer(JSON.parse(readFileSync(join(model, "tokenizer.json"), "utf8")),
  JSON.parse(readFileSync(join(model, "tokenizer_config.json"), "utf8")));
const dir = join(root, "..", "shared", "data", "tatoeba");
const files = readdirSync(dir).filter((f) => f.startsWith("tatoeba.")).sort();
const lines = files.flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n").filter((l) => l.length > 0).map((l) => l.replace(/\r$/, "")));
const runs = Number(process.argv[2] ?? 10);
const once = () => {
  let total = 0;
  for (const line of lines) total += tokenizer.encode(line).ids.length;
  return total;
};
for (let i = 0; i < 3; i++) once();
const times = [];
const cpu = [];
let total = 0;
for (let i = 0; i < runs; i++) {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  total = once();
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1e3);
}
times.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
// cpu_median_ms: process CPU time (all threads, GC included) per run; less sensitive to a loaded machine than wall time.
console.log(JSON.stringify({ lines: lines.length, tokens: total, median_ms: times[Math.floor(times.length / 2)], min_ms: times[0], max_ms: times[times.length - 1], cpu_median_ms: cpu[Math.floor(cpu.length / 2)], runs }));
