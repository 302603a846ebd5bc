// Peer tokenizer for parity tests: @huggingface/tokenizers (pure JS) run on every line of a file.
// Usage: node tokenize.mjs <tokenizer.json> <input> [--strings|--pairs]
//   input: UTF-8 text, one item per line ('\n'; a trailing '\r' is dropped), or with --strings a JSONL file
//   whose lines are JSON strings (so that tests can pass control characters, newlines and lone surrogates),
//   or with --pairs a JSONL file whose lines are [text, text_pair] arrays.
// Output: one JSON object per input item, {"ids":[...],"tokens":[...],"words":[...]}, in input order; "words" are the
// pre-tokenizer's words as the library hands them to its model (captured there), so that tests can check word indices. No truncation or padding:
// this library applies neither (encode() ignores tokenizer.json's truncation/padding sections).
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";

const [tokenizerPath, inputPath, mode] = process.argv.slice(2);
if (!tokenizerPath || !inputPath) {
  console.error("usage: node tokenize.mjs <tokenizer.json> <input> [--strings]");
  process.exit(2);
}
const tokenizerJson = JSON.parse(readFileSync(tokenizerPath, "utf8"));
const configPath = join(dirname(tokenizerPath), "tokenizer_config.json");
const config = existsSync(configPath) ? JSON.parse(readFileSync(configPath, "utf8")) : {};
const tokenizer = new Tokenizer(tokenizerJson, config);

let lines = readFileSync(inputPath, "utf8").split("\n");
if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
if (mode === "--strings" || mode === "--pairs") lines = lines.map((l) => JSON.parse(l));
else lines = lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));

let words = [];
const modelEncode = tokenizer.model.encode.bind(tokenizer.model);
tokenizer.model.encode = (pieces) => {
  words.push(...pieces);
  return modelEncode(pieces);
};

const out = [];
for (const line of lines) {
  words = [];
  const e = mode === "--pairs" ? tokenizer.encode(line[0], { text_pair: line[1], return_token_type_ids: true }) : tokenizer.encode(line);
  out.push(JSON.stringify({ ids: e.ids, tokens: e.tokens, words, type_ids: e.token_type_ids ?? null }));
}
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
