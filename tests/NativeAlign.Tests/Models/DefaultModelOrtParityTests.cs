using System.Diagnostics;
using System.Text.Json;
using NativeAlign.Models;
using NativeAlign.Tests.IO;
using NativeAlign.Tokenizers;

namespace NativeAlign.Tests.Models;

/// <summary>
/// The default 4-bit model against ONNX Runtime (perf/peers/ort_encoder.mjs, onnxruntime-node) on every sentence of
/// the shared Tatoeba data, fed the same token ids. The exact reference is the graph with every MatMulNBits
/// accuracy_level rewritten to 0 (fp32 compute over the same 4-bit weights, perf/peers/onnx_accuracy_level.py); the
/// model as shipped (level 4: int8 activations) is compared too, loosely, and its agreement reported.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class DefaultModelOrtParityTests
{
    private const int ChunkSize = 3100;

    [Test]
    public void EverySentenceMatchesOnnxRuntimeFp32Compute()
    {
        string modelDir = LoadingTestSupport.RequireDefaultModel();
        string repo = LoadingTestSupport.RepoRoot;
        string peers = Path.Combine(repo, "perf", "peers");
        RequireNode(peers);
        string dataDir = Path.GetFullPath(Path.Combine(repo, "..", "shared", "data", "tatoeba"));
        if (!Directory.Exists(dataDir))
        {
            Assert.Fail($"the shared Tatoeba data is missing at {dataDir}");
        }

        string work = Path.Combine(repo, ".build", "test-peers", "ort-parity");
        Directory.CreateDirectory(work);
        string shipped = Path.Combine(modelDir, "onnx", "model_q4.onnx");
        string exact = LoadingTestSupport.RunPython(Path.Combine(peers, "onnx_accuracy_level.py"), shipped, Path.Combine(repo, ".build", "peers", "minilm-accuracy-level-0"), "0").Trim();

        var sentences = Directory.EnumerateFiles(dataDir, "tatoeba.*").Where(f => !f.EndsWith("LICENSE", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            .SelectMany(f => File.ReadAllLines(f)).ToArray();
        Assert.That(sentences, Has.Length.GreaterThan(10_000), "expected the 12 Tatoeba files of 1000 lines");

        using var encoder = SentenceEncoder.Load(modelDir, new SentenceEncoderOptions { Pooling = PoolingMode.Mean, Normalize = false });
        var tokenizer = encoder.Tokenizer!;
        var ids = sentences.Select(s => tokenizer.Encode(s).Ids).ToArray();
        int h = encoder.Config.HiddenSize;

        var exactStats = new Stats();
        var shippedStats = new Stats();
        double oursSeconds = 0;
        for (int start = 0; start < ids.Length; start += ChunkSize)
        {
            var chunk = ids[start..Math.Min(ids.Length, start + ChunkSize)];
            string idsFile = Path.Combine(work, "ids.json");
            WriteIds(idsFile, chunk);
            var clock = Stopwatch.StartNew();
            var ours = encoder.HiddenStates(chunk);
            oursSeconds += clock.Elapsed.TotalSeconds;
            foreach (var (model, stats, tag) in new[] { (exact, exactStats, "exact"), (shipped, shippedStats, "shipped") })
            {
                string prefix = Path.Combine(work, tag);
                var meta = RunNode(peers, Path.Combine(peers, "ort_encoder.mjs"), model, idsFile, prefix);
                stats.PeerSeconds += meta.GetProperty("seconds").GetDouble();
                var hidden = ReadFloats(prefix + ".hidden.f32");
                var means = ReadFloats(prefix + ".mean.f32");
                Assert.That(meta.GetProperty("hidden").GetInt32(), Is.EqualTo(h));
                long offset = 0;
                for (int i = 0; i < chunk.Length; i++)
                {
                    int len = chunk[i].Length;
                    var peerStates = hidden.AsSpan((int)offset, len * h);
                    offset += len * h;
                    stats.Add(start + i, ours[i], peerStates, means.AsSpan(i * h, h), len, h);
                }

                Assert.That(offset, Is.EqualTo(hidden.Length), "peer token count differs from ours");
            }
        }

        string report = $"{ids.Length} sentences, {ids.Sum(s => s.Length)} tokens; ours {oursSeconds:F1} s\n" +
            $"vs ORT accuracy_level 0 (fp32 compute): {exactStats.Describe(sentences)}\n" +
            $"vs ORT as shipped (accuracy_level 4, int8 activations): {shippedStats.Describe(sentences)}";
        TestContext.Out.WriteLine(report);
        File.WriteAllText(Path.Combine(work, "report.txt"), report + "\n");

        Assert.That(exactStats.MinCosine, Is.GreaterThanOrEqualTo(0.9999), $"cosine vs fp32-compute ORT; worst sentence: {sentences[exactStats.WorstCosineIndex]}");
        Assert.That(exactStats.MaxAbs, Is.LessThanOrEqualTo(1e-3), $"max |Δ| of last hidden states vs fp32-compute ORT; worst sentence: {sentences[exactStats.WorstAbsIndex]}");

        // Int8 activations move ORT's own output to cosine ~0.998 of exact; a loose floor still catches a broken model.
        Assert.That(shippedStats.MinCosine, Is.GreaterThanOrEqualTo(0.99), "cosine vs the shipped (int8-activation) ORT model");
    }

    private static void RequireNode(string peers)
    {
        if (!File.Exists(Path.Combine(peers, "node_modules", "onnxruntime-node", "package.json")))
        {
            Assert.Ignore("onnxruntime-node is not installed in perf/peers/node_modules; run scripts/setup.sh");
        }

        try
        {
            using var p = Process.Start(new ProcessStartInfo("node", "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
            p.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Ignore("node is not installed; the ONNX Runtime peer cannot run");
        }
    }

    private static JsonElement RunNode(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            Assert.Fail($"ONNX Runtime peer failed ({process.ExitCode}): {stderr.Result}");
        }

        return JsonDocument.Parse(stdout.Result).RootElement.Clone();
    }

    private static void WriteIds(string path, int[][] ids)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream);
        w.WriteStartObject();
        w.WriteStartArray("ids");
        foreach (var seq in ids)
        {
            w.WriteStartArray();
            foreach (int id in seq)
            {
                w.WriteNumberValue(id);
            }

            w.WriteEndArray();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var floats = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, floats, 0, floats.Length * 4);
        return floats;
    }

    private sealed class Stats
    {
        private readonly List<double> _cosines = [];

        public double MinCosine { get; private set; } = 1;

        public int WorstCosineIndex { get; private set; }

        public double MaxAbs { get; private set; }

        public int WorstAbsIndex { get; private set; }

        public double PeerSeconds { get; set; }

        public void Add(int index, float[] oursStates, ReadOnlySpan<float> peerStates, ReadOnlySpan<float> peerMean, int len, int h)
        {
            double maxAbs = 0;
            var oursMean = new double[h];
            for (int j = 0; j < len * h; j++)
            {
                Assert.That(float.IsNaN(oursStates[j]), Is.False, $"NaN in sentence {index}");
                maxAbs = Math.Max(maxAbs, Math.Abs(oursStates[j] - peerStates[j]));
                oursMean[j % h] += oursStates[j];
            }

            double dot = 0, na = 0, nb = 0;
            for (int c = 0; c < h; c++)
            {
                double a = oursMean[c] / len, b = peerMean[c];
                dot += a * b;
                na += a * a;
                nb += b * b;
            }

            double cosine = dot / Math.Sqrt(na * nb);
            _cosines.Add(cosine);
            if (cosine < MinCosine)
            {
                MinCosine = cosine;
                WorstCosineIndex = index;
            }

            if (maxAbs > MaxAbs)
            {
                MaxAbs = maxAbs;
                WorstAbsIndex = index;
            }
        }

        public string Describe(string[] sentences)
        {
            var sorted = _cosines.Order().ToArray();
            return $"min cosine {MinCosine:F6}, median cosine {sorted[sorted.Length / 2]:F7}, max |Δ| hidden {MaxAbs:E2} (sentence {WorstAbsIndex}); peer {PeerSeconds:F1} s";
        }
    }
}
