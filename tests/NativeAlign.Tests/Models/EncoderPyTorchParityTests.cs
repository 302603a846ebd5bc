using System.Text.Json;
using NativeAlign.IO;
using NativeAlign.Models;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Models;

/// <summary>
/// Tiny random-weight BERT and XLM-R models against reference hidden states from an independent PyTorch forward
/// (Fixtures/make_encoder_fixtures.py, torch 1.13): every layer, every real token, padded batches, and the poolings.
/// </summary>
[TestFixture]
public sealed class EncoderPyTorchParityTests
{
    private const double Tolerance = 1e-4;

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var model in new[] { "bert", "bert-tanh", "xlmr" })
        {
            foreach (var precision in new[] { "f32", "bf16", "f16" })
            {
                foreach (var backend in new[] { "cpu", "reference" })
                {
                    yield return new TestCaseData(model, precision, backend).SetName($"PyTorchParity({model}, {precision}, {backend})");
                }
            }
        }
    }

    public static string FixtureFolder(string model) => Path.Combine(LoadingTestSupport.RepoRoot, "tests", "NativeAlign.Tests", "Models", "Fixtures", $"encoder-{model}");

    public static SentenceEncoder Open(string model, string precision, string backend, string pooling = "mean", int layer = -1)
    {
        string folder = FixtureFolder(model);
        string weightsFolder = precision == "f32" ? folder : Path.Combine(folder, precision);
        var config = EncoderConfigReader.Read(Path.Combine(weightsFolder, "config.json"));
        var weights = SafetensorsWeights.Open(Path.Combine(weightsFolder, "model.safetensors"));
        return SentenceEncoder.Create(config, weights, null, new SentenceHeadSpec(pooling == "cls" ? [SentencePoolingMode.Cls] : [SentencePoolingMode.Mean], pooling == "pooler", [], false), new SentenceEncoderOptions { Backend = backend, Layer = layer }, weightsFolder);
    }

    [TestCaseSource(nameof(Cases))]
    public void HiddenStatesOfEveryLayerMatchPyTorch(string model, string precision, string backend)
    {
        using var expected = Expected(model, precision);
        using var encoder = Open(model, precision, backend);
        double worst = 0;
        foreach (var batch in expected.RootElement.GetProperty("batches").EnumerateArray())
        {
            var (ids, types) = Inputs(batch);
            var hidden = batch.GetProperty("hidden");
            for (int layer = 0; layer < hidden.GetArrayLength(); layer++)
            {
                var states = encoder.HiddenStates(ids, types, layer);
                var want = hidden[layer];
                for (int s = 0; s < ids.Length; s++)
                {
                    int h = encoder.Config.HiddenSize;
                    Assert.That(states[s], Has.Length.EqualTo(ids[s].Length * h));
                    for (int t = 0; t < ids[s].Length; t++)
                    {
                        var row = want[s][t];
                        for (int c = 0; c < h; c++)
                        {
                            double d = Math.Abs(states[s][(t * h) + c] - row[c].GetDouble());
                            Assert.That(d, Is.Not.NaN);
                            worst = Math.Max(worst, d);
                            if (d > Tolerance)
                            {
                                Assert.Fail($"{model}/{precision}/{backend}: layer {layer}, sequence {s}, token {t}, feature {c}: |Δ| = {d:E2}");
                            }
                        }
                    }
                }
            }
        }

        TestContext.Out.WriteLine($"{model}/{precision}/{backend}: max |Δ| over all layers = {worst:E2}");
    }

    [TestCase("bert", "mean")]
    [TestCase("bert", "cls")]
    [TestCase("bert", "pooler")]
    [TestCase("xlmr", "mean")]
    [TestCase("xlmr", "pooler")]
    [TestCase("bert-tanh", "mean")]
    public void PoolingMatchesPyTorch(string model, string key)
    {
        using var expected = Expected(model, "f32");
        using var encoder = Open(model, "f32", "cpu", key);
        foreach (var batch in expected.RootElement.GetProperty("batches").EnumerateArray())
        {
            var (ids, types) = Inputs(batch);
            var got = encoder.EmbedIds(ids, types);
            var want = batch.GetProperty(key);
            for (int s = 0; s < ids.Length; s++)
            {
                for (int c = 0; c < got.Dimension; c++)
                {
                    Assert.That(got[s][c], Is.EqualTo(want[s][c].GetDouble()).Within(Tolerance), $"{model} {key}: sequence {s}, feature {c}");
                }
            }
        }
    }

    [Test]
    public void SentenceTransformersPipelineMatchesPyTorch()
    {
        // LaBSE-shaped folder: CLS pooling, Dense + tanh (32 → 20), Normalize, max_seq_length 24; inputs are the "bert"
        // batches before truncation, so the 40-token input is cut to 24 here as sentence-transformers would.
        using var inputs = Expected("bert", "f32");
        using var expected = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixtureFolder("st"), "expected.json")));
        using var encoder = SentenceEncoder.Load(FixtureFolder("st"));
        Assert.That(encoder.Head.Modes, Is.EqualTo(new[] { SentencePoolingMode.Cls }));
        Assert.That(encoder.Head.Normalize, Is.True);
        Assert.That(encoder.Dimension, Is.EqualTo(20));
        Assert.That(encoder.MaxTokens, Is.EqualTo(24));
        var batches = inputs.RootElement.GetProperty("batches").EnumerateArray().ToArray();
        var want = expected.RootElement.GetProperty("batches").EnumerateArray().ToArray();
        int truncated = 0;
        for (int b = 0; b < batches.Length; b++)
        {
            var (ids, types) = Inputs(batches[b]);
            var got = encoder.EmbedIds(ids, types);
            truncated += got.TruncatedInputs;
            for (int s = 0; s < ids.Length; s++)
            {
                for (int c = 0; c < got.Dimension; c++)
                {
                    Assert.That(got[s][c], Is.EqualTo(want[b].GetProperty("embedding")[s][c].GetDouble()).Within(Tolerance), $"batch {b}, sequence {s}, feature {c}");
                }
            }
        }

        Assert.That(truncated, Is.EqualTo(1), "the one 40-token input exceeds max_seq_length 24");
    }

    private static JsonDocument Expected(string model, string precision)
    {
        string file = Path.Combine(FixtureFolder(model), precision == "f32" ? "expected.json" : $"expected-{precision}.json");
        return JsonDocument.Parse(File.ReadAllBytes(file));
    }

    private static (int[][] Ids, int[][] Types) Inputs(JsonElement batch) =>
        (batch.GetProperty("ids").EnumerateArray().Select(s => s.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray(),
         batch.GetProperty("types").EnumerateArray().Select(s => s.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray());
}
