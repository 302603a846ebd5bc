using System.Text.Json;
using NativeAlign.IO;
using NativeAlign.Models;
using NativeAlign.Tensors;

namespace NativeAlign.Tests.IO;

/// <summary>
/// Graph-following on tiny encoders exported by torch.onnx from PyTorch modules (Fixtures/make_onnx_fixtures.py); the
/// expected tensors are the modules' state_dicts (and numpy's dequantisation for the 4-bit variant). The *_ort files are
/// the same models after ONNX Runtime's own graph optimiser (Fixtures/optimize_with_ort.js).
/// </summary>
public sealed class OnnxGraphMappingTests
{
    private static string Dir => Path.Combine(LoadingTestSupport.Fixtures, "onnx");

    [TestCase("tiny_bert_opset17.onnx", "tiny_bert.expected.json", false, TestName = "Bert_LayerNormalization_Gemm_pooler")]
    [TestCase("tiny_xlmr_opset14.onnx", "tiny_xlmr.expected.json", false, TestName = "XlmR_decomposed_layer_norm_computed_positions")]
    [TestCase("tiny_bert_external.onnx", "tiny_bert.expected.json", false, TestName = "Bert_external_data_meaningless_initializer_names")]
    [TestCase("tiny_bert_q4.onnx", "tiny_bert_q4.expected.json", true, TestName = "Bert_MatMulNBits_zero_points_partial_blocks")]
    [TestCase("tiny_bert_opset17_ort.onnx", "tiny_bert.expected.json", false, TestName = "Bert_optimised_by_OnnxRuntime_FusedMatMul_BiasGelu_FusedGemm")]
    [TestCase("tiny_xlmr_opset14_ort.onnx", "tiny_xlmr.expected.json", false, TestName = "XlmR_optimised_by_OnnxRuntime")]
    [TestCase("tiny_bert_q4_ort.onnx", "tiny_bert_q4.expected.json", true, TestName = "Bert_MatMulNBits_optimised_by_OnnxRuntime_bias_input")]
    [TestCase("tiny_bert_fused.onnx", "tiny_bert.expected.json", false, TestName = "Bert_EmbedLayerNormalization_SkipLayerNormalization")]
    [TestCase("tiny_bert_q4f16.onnx", "tiny_bert_q4f16.expected.json", true, TestName = "Bert_MatMulNBits_float16_scales")]
    [TestCase("tiny_bert_fp16.onnx", "tiny_bert_fp16.expected.json", false, WeightType.F16, TestName = "Bert_float16_weights_transposed")]
    public void EveryParameterIsFoundWithItsPyTorchValue(string model, string expectedFile, bool quantized, WeightType denseType = WeightType.F32)
    {
        using var expected = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir, expectedFile)));
        using var weights = OnnxWeights.Open(Path.Combine(Dir, model));
        var names = expected.RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.That(weights.Names, Is.EqualTo(names));
        Assert.That(weights.LayerCount, Is.EqualTo(2));
        foreach (var entry in expected.RootElement.EnumerateObject())
        {
            Assert.That(weights.TryGet(entry.Name, out var tensor), Is.True, entry.Name);
            Assert.That(tensor.Shape, Is.EqualTo(entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray()), entry.Name);
            bool isEncoderLinear = entry.Name.StartsWith("encoder.", StringComparison.Ordinal) && entry.Name.EndsWith(".weight", StringComparison.Ordinal) && tensor.Shape.Length == 2;
            Assert.That(tensor.Type, Is.EqualTo(quantized && isEncoderLinear ? WeightType.Q4 : denseType), entry.Name);
            var want = entry.Value.GetProperty("values").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
            Assert.That(tensor.ToFloat32(), Is.EqualTo(want), entry.Name);
        }
    }

    [Test]
    public void QuantizedFixtureUsesZeroPointsAndAPartialBlock()
    {
        using var weights = OnnxWeights.Open(Path.Combine(Dir, "tiny_bert_q4.onnx"));
        Assert.That(weights.TryGet("encoder.layer.0.output.dense.weight", out var down), Is.True);
        Assert.That(down.Q4!.Columns, Is.EqualTo(40));
        Assert.That(down.Q4.BlocksPerRow, Is.EqualTo(3), "40 = 2 full blocks of 16 + a partial one");
        Assert.That(down.Q4.ZeroPoints, Is.Not.Null);
        Assert.That(weights.AccuracyLevels, Is.EqualTo(new long[] { 0 }));
    }
}
