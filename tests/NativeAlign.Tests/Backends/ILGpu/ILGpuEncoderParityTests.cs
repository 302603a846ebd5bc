using System.Diagnostics;
using NativeAlign.Backends.ILGpu;
using NativeAlign.Models;
using NativeAlign.Tests.IO;
using NativeAlign.Tests.Models;

namespace NativeAlign.Tests.Backends.ILGpu;

/// <summary>
/// The whole default encoder (all-MiniLM-L6-v2, 4-bit weights kept packed and dequantised in the product kernel) on
/// ILGPU's CPU accelerator against the CPU backend: cosine ≥ 0.9999 per sentence on 24 shared Tatoeba lines. The CPU
/// path is itself checked against ONNX Runtime and PyTorch (Models/*ParityTests), so agreement ties ILGPU to those peers.
/// </summary>
/// <remarks>About 40 s on two shared cores: ILGPU's CPU accelerator emulates a GPU's threads (grid-stride loops keep it that low).</remarks>
[TestFixture]
[NonParallelizable]
public sealed class ILGpuEncoderParityTests
{
    /// <summary>Distance between the lines of the subset: lines 0, 500, 1000, … of the twelve files in name order (24 sentences).</summary>
    public const int SubsetStride = 500;

    private const double CosineBound = 0.9999;

    [Test]
    public void DefaultModel_ILGpuCpuAcceleratorMatchesCpuBackend_PerSentenceCosine()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        string data = Path.Combine(NativeAlign.Tests.Tokenizers.TestPaths.SharedData, "tatoeba");
        if (!Directory.Exists(data))
        {
            Assert.Fail($"the shared Tatoeba data is missing at {data}");
        }

        var all = Directory.EnumerateFiles(data, "tatoeba.*-eng.*").Order(StringComparer.Ordinal).SelectMany(File.ReadAllLines).ToArray();
        string[] texts = [.. all.Where((_, i) => i % SubsetStride == 0)];
        Assert.That(texts, Has.Length.EqualTo(24), "the shared Tatoeba text has 12 files of 1,000 lines");
        

        SentenceEmbeddings cpu, device;
        using (var encoder = SentenceEncoder.Load(model, new SentenceEncoderOptions { Backend = "cpu" }))
        {
            cpu = encoder.Embed(texts);
        }

        var watch = Stopwatch.StartNew();
        var options = new SentenceEncoderOptions { Backend = "ilgpu", BackendFactory = () => ILGpuBackend.Create("cpu") };
        using (var encoder = SentenceEncoder.Load(model, options))
        {
            device = encoder.Embed(texts);
        }

        TestContext.Out.WriteLine($"{texts.Length} sentences on the ILGPU CPU accelerator: {watch.Elapsed.TotalSeconds:F1} s (an emulator: a correctness check, not a speed figure)");
        Assert.That(device.Dimension, Is.EqualTo(cpu.Dimension));
        double worst = 1;
        int worstIndex = -1;
        for (int i = 0; i < texts.Length; i++)
        {
            double cosine = EmbeddingComparison.Cosine(cpu[i], device[i]);
            if (!(cosine >= worst))
            {
                worst = cosine;
                worstIndex = i;
            }
        }

        TestContext.Out.WriteLine($"lowest cosine {worst:F9}, 1 - cosine = {1 - worst:E2} (sentence {worstIndex})");
        Assert.That(worst, Is.GreaterThanOrEqualTo(CosineBound), $"sentence {worstIndex}: '{(worstIndex >= 0 ? texts[worstIndex] : string.Empty)}'");
    }
}
