// Writes ONNX Runtime's own optimised versions of the tiny fixtures (graph optimisation level "extended": FusedMatMul
// for the attention scores, BiasGelu, FusedGemm for the pooler, MatMulNBits with the bias folded in), so the graph walk
// is tested on graphs a real optimiser produced. The weights are unchanged, so each keeps its source's expected JSON.
// Run from the repository root after scripts/setup.sh: node tests/NativeAlign.Tests/IO/Fixtures/optimize_with_ort.js
const path = require('path');
const root = path.resolve(__dirname, '..', '..', '..', '..');
const ort = require(path.join(root, 'perf', 'peers', 'node_modules', 'onnxruntime-node'));
const dir = path.join(__dirname, 'onnx');

(async () => {
  for (const name of ['tiny_bert_opset17', 'tiny_xlmr_opset14', 'tiny_bert_q4']) {
    await ort.InferenceSession.create(path.join(dir, `${name}.onnx`), {
      graphOptimizationLevel: 'extended',
      optimizedModelFilePath: path.join(dir, `${name}_ort.onnx`),
    });
  }
})().catch((e) => { console.error(e); process.exit(1); });
