using System.Text.Json;
using NativeAlign.IO;
using NativeAlign.Models;
using NativeAlign.Tensors;

namespace NativeAlign.Tests.IO;

/// <summary>
/// ONNX weight loading on the default model (all-MiniLM-L6-v2, 4-bit) against an independent reader:
/// Fixtures/onnx_weights_peer.py loads the same file with the onnx package, maps initializers by name (NativeAlign
/// follows the graph instead) and dequantises MatMulNBits in numpy from the operator's specification.
/// </summary>
public sealed class OnnxWeightsTests
{
    private static string ModelPath => Path.Combine(LoadingTestSupport.RequireDefaultModel(), "onnx", "model_q4.onnx");

    [Test]
    public void EveryCanonicalTensorMatchesThePeerReader()
    {
        string model = ModelPath;
        var json = LoadingTestSupport.RunPython(Path.Combine(LoadingTestSupport.Fixtures, "onnx_weights_peer.py"), model);
        using var peer = JsonDocument.Parse(json);
        using var weights = OnnxWeights.Open(model);

        var peerNames = peer.RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.That(weights.Names, Is.EqualTo(peerNames), "the same canonical tensors must be found");
        Assert.That(peerNames, Has.Length.EqualTo(5 + (6 * 16)));
        Assert.That(weights.LayerCount, Is.EqualTo(6));
        Assert.That(weights.AccuracyLevels, Is.EqualTo(new long[] { 4 }));

        foreach (var entry in peer.RootElement.EnumerateObject())
        {
            Assert.That(weights.TryGet(entry.Name, out var tensor), Is.True, entry.Name);
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.That(tensor.Shape, Is.EqualTo(shape), entry.Name);
            bool quantized = entry.Value.GetProperty("quantized").GetBoolean();
            Assert.That(tensor.Type, Is.EqualTo(quantized ? WeightType.Q4 : WeightType.F32), entry.Name);
            if (quantized)
            {
                Assert.That(tensor.Q4, Is.Not.Null);
                Assert.That(tensor.Data.IsEmpty, Is.True, "4-bit weights must not be inflated");
                Assert.That(tensor.Q4!.Packed.Length, Is.EqualTo(tensor.ElementCount / 2), "kept packed, two values a byte");
            }

            var values = tensor.ToFloat32();
            double sum = 0, sumsq = 0;
            foreach (float v in values)
            {
                sum += v;
                sumsq += (double)v * v;
            }

            // Same float32 values summed in float64 in a different order: agreement to ~1e-12 relative is expected.
            double wantSum = entry.Value.GetProperty("sum").GetDouble();
            double wantSq = entry.Value.GetProperty("sumsq").GetDouble();
            Assert.That(sum, Is.EqualTo(wantSum).Within(1e-9 * Math.Max(1, wantSq)), entry.Name + " sum");
            Assert.That(sumsq, Is.EqualTo(wantSq).Within(1e-9 * wantSq), entry.Name + " sum of squares");
            foreach (var sample in entry.Value.GetProperty("samples").EnumerateArray())
            {
                long index = sample[0].GetInt64();
                Assert.That(values[index], Is.EqualTo((float)sample[1].GetDouble()), $"{entry.Name}[{index}]");
            }
        }
    }

    [Test]
    public void TheFoundWeightsFitTheModelsConfig()
    {
        using var weights = OnnxWeights.Open(ModelPath);
        var config = EncoderConfigReader.Read(Path.Combine(LoadingTestSupport.DefaultModel, "config.json"));
        Assert.DoesNotThrow(() => EncoderWeightLayout.Validate(config, weights, ModelPath));
        Assert.That(weights.LayerCount, Is.EqualTo(config.LayerCount));
    }
}
