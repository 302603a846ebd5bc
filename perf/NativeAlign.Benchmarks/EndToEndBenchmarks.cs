using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.NoEmit;
using NativeAlign.Alignment.Sentences;
using NativeAlign.Models;
using NativeAlign.Tensors;
using Perfolizer.Mathematics.OutlierDetection;

namespace NativeAlign.Benchmarks;

/// <summary>
/// The work shared by the end-to-end benchmarks and their peers (perf/run-all.sh): the first
/// <see cref="BatchCount"/> × <see cref="BatchSize"/> lines of the shared Tatoeba English file, in file order, cut
/// into consecutive batches of 32; single-sentence latency over the first <see cref="LatencySentences"/> of them.
/// </summary>
public static class EndToEndData
{
    public const int BatchSize = 32, BatchCount = 10, LatencySentences = 100;

    /// <summary>The repository root: NATIVEALIGN_REPO, else the first parent of the running binary holding NativeAlign.sln.</summary>
    public static string RepoRoot
    {
        get
        {
            if (Environment.GetEnvironmentVariable("NATIVEALIGN_REPO") is { Length: > 0 } repo)
            {
                return repo;
            }

            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "NativeAlign.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("cannot find the repository root; set NATIVEALIGN_REPO");
        }
    }

    public static string ModelDirectory => Path.Combine(RepoRoot, "models", "all-MiniLM-L6-v2");

    /// <summary>The sentences, BatchCount × BatchSize of them.</summary>
    public static string[] Sentences()
    {
        string file = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data", "tatoeba", "tatoeba.deu-eng.eng"));
        if (Environment.GetEnvironmentVariable("NATIVEALIGN_TATOEBA_ENG") is { Length: > 0 } over)
        {
            file = over;
        }

        var lines = File.ReadLines(file).Take(BatchSize * BatchCount).ToArray();
        if (lines.Length < BatchSize * BatchCount)
        {
            throw new InvalidOperationException($"{file}: expected at least {BatchSize * BatchCount} lines");
        }

        return lines;
    }

    /// <summary>
    /// The default model with every 4-bit weight dequantised to float32 once (the "f32 encoder"); mean pooling,
    /// no normalisation unless asked (the PyTorch peer compares the raw mean of the last hidden states).
    /// </summary>
    public static SentenceEncoder LoadDequantised(bool normalize)
    {
        var folder = ModelFolder.Open(ModelDirectory);
        var tokenizer = NativeAlign.Tokenizers.TokenizerLoader.FromModelFolder(folder.Directory);
        var head = SentenceHeadSpec.FromPipeline(folder.Pipeline) with { Normalize = normalize };
        var weights = new DequantisedWeights(folder);
        return SentenceEncoder.Create(folder.Config, weights, tokenizer, head);
    }

    /// <summary>
    /// Writes what the peers consume: ids.json ({"ids": [[...], ...]}, special tokens included, our tokenizer) and
    /// ours-f32.mean.f32 (mean of the last hidden states of the dequantised f32 encoder, [N, H] little-endian), so that
    /// the PyTorch peer can check it computes the same function before it is timed.
    /// </summary>
    public static void Dump(string directory)
    {
        Directory.CreateDirectory(directory);
        var sentences = Sentences();
        using var encoder = LoadDequantised(normalize: false);
        var ids = sentences.Select(s => encoder.Tokenizer!.Encode(s).Ids).ToArray();
        using (var stream = File.Create(Path.Combine(directory, "ids.json")))
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteNumber("batch", BatchSize);
            json.WriteNumber("latency_sentences", LatencySentences);
            json.WriteStartArray("ids");
            foreach (var seq in ids)
            {
                json.WriteStartArray();
                foreach (int id in seq)
                {
                    json.WriteNumberValue(id);
                }

                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        var embeddings = encoder.Embed(sentences);
        File.WriteAllBytes(Path.Combine(directory, "ours-f32.mean.f32"), MemoryMarshal.AsBytes(embeddings.Data.AsSpan()).ToArray());
        Console.WriteLine($"wrote {sentences.Length} inputs ({ids.Sum(s => s.Length)} tokens) and {embeddings.Dimension}-wide means to {directory}");
    }

    /// <summary>The folder's weights with every <see cref="WeightType.Q4"/> tensor replaced by its float32 dequantisation.</summary>
    private sealed class DequantisedWeights(ModelFolder folder) : IModelWeights
    {
        private readonly Dictionary<string, WeightTensor> _cache = [];

        public IReadOnlyCollection<string> Names => folder.Weights.Names;

        public bool TryGet(string name, out WeightTensor tensor)
        {
            if (_cache.TryGetValue(name, out tensor!))
            {
                return true;
            }

            if (!folder.Weights.TryGet(name, out var source))
            {
                return false;
            }

            tensor = source.Type == WeightType.Q4
                ? new WeightTensor(name, source.Shape, WeightType.F32, MemoryMarshal.AsBytes(source.ToFloat32().AsSpan()).ToArray())
                : source;
            _cache[name] = tensor;
            return true;
        }

        public void Dispose() => folder.Dispose();
    }
}

/// <summary>
/// In-process, few iterations (the machine is shared and an encoder batch takes tens of milliseconds), medians, JSON
/// export for perf/run-all.sh.
/// </summary>
public sealed class EndToEndConfig : ManualConfig
{
    public EndToEndConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessNoEmitToolchain.Instance)
            .WithWarmupCount(2)
            .WithIterationCount(9)
            .WithLaunchCount(1)
            .WithId("e2e"));
        AddColumn(StatisticColumn.Median, StatisticColumn.P90);
        AddExporter(JsonExporter.FullCompressed);
        WithOptions(ConfigOptions.DisableOptimizationsValidator);
    }
}

/// <summary>
/// Latency: one sentence per invocation, one invocation per iteration, every measurement kept (no outlier removal),
/// so that the median and P90 columns are those of single calls, as the ONNX Runtime peer reports them. Calls follow
/// each other as in the peer's loop: no forced garbage collection between them (BenchmarkDotNet's default would run
/// a full collection before every single call, flushing the caches and idling the worker threads each time).
/// </summary>
public sealed class LatencyConfig : ManualConfig
{
    public LatencyConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessNoEmitToolchain.Instance)
            .WithStrategy(RunStrategy.Monitoring)
            // Twenty passes over the sentences (two to three seconds) before measuring: every sentence length has met its
            // kernels and the JIT has finished tiering up — a service's steady state. Tier-1 code arrives only ~100 ms after
            // the last new method was compiled, and after two passes the first benchmark of a process often still ran
            // slower than the same code run second. The native peer has no JIT and warms up on 340 inputs.
            .WithWarmupCount(20 * EndToEndData.LatencySentences)
            .WithIterationCount(2 * EndToEndData.LatencySentences)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithLaunchCount(1)
            .WithOutlierMode(OutlierMode.DontRemove)
            .WithGcForce(false)
            .WithId("latency"));
        AddColumn(StatisticColumn.Median, StatisticColumn.P90);
        AddExporter(JsonExporter.FullCompressed);
        WithOptions(ConfigOptions.DisableOptimizationsValidator);
    }
}

/// <summary>
/// End to end on the default 4-bit model (text in, normalised sentence embeddings out, tokenization included):
/// one batch of 32 Tatoeba English sentences per operation. Peer: perf/peers/ort_bench.mjs (ONNX Runtime, given ids).
/// </summary>
[Config(typeof(EndToEndConfig))]
public class EncoderThroughputBenchmarks
{
    private SentenceEncoder _q4 = null!;
    private SentenceEncoder _q4Int8 = null!;
    private SentenceEncoder _f32 = null!;
    private string[][] _batches = null!;

    [GlobalSetup]
    public void Setup()
    {
        _q4 = SentenceEncoder.Load(EndToEndData.ModelDirectory);
        _q4Int8 = SentenceEncoder.Load(EndToEndData.ModelDirectory, new SentenceEncoderOptions { Int8Activations = true });
        _f32 = EndToEndData.LoadDequantised(normalize: false);
        _batches = EndToEndData.Sentences().Chunk(EndToEndData.BatchSize).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _q4.Dispose();
        _q4Int8.Dispose();
        _f32.Dispose();
    }

    /// <summary>The 4-bit model as shipped, float32 activations (peer: ORT accuracy_level 0), time per batch of 32.</summary>
    [Benchmark(OperationsPerInvoke = EndToEndData.BatchCount)]
    public float Batch32Q4() => EmbedAll(_q4);

    /// <summary>The 4-bit model with int8 activations (peer: ORT accuracy_level 4, as shipped), time per batch of 32.</summary>
    [Benchmark(OperationsPerInvoke = EndToEndData.BatchCount)]
    public float Batch32Q4Int8() => EmbedAll(_q4Int8);

    /// <summary>The same model with dequantised float32 weights (peer: perf/peers/torch_encoder.py), time per batch of 32.</summary>
    [Benchmark(OperationsPerInvoke = EndToEndData.BatchCount)]
    public float Batch32F32() => EmbedAll(_f32);

    private float EmbedAll(SentenceEncoder encoder)
    {
        float sum = 0;
        foreach (var batch in _batches)
        {
            sum += encoder.Embed(batch).Data[0];
        }

        return sum;
    }
}

/// <summary>Single-sentence latency on the default 4-bit model, text in, embedding out; cycles through 100 sentences.</summary>
[Config(typeof(LatencyConfig))]
public class EncoderLatencyBenchmarks
{
    private SentenceEncoder _q4 = null!;
    private SentenceEncoder _q4Int8 = null!;
    private string[] _sentences = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _q4 = SentenceEncoder.Load(EndToEndData.ModelDirectory);
        _q4Int8 = SentenceEncoder.Load(EndToEndData.ModelDirectory, new SentenceEncoderOptions { Int8Activations = true });
        _sentences = EndToEndData.Sentences()[..EndToEndData.LatencySentences];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _q4.Dispose();
        _q4Int8.Dispose();
    }

    /// <summary>Float32 activations (peer: ORT accuracy_level 0).</summary>
    [Benchmark]
    public float Single1Q4() => EmbedNext(_q4);

    /// <summary>Int8 activations (peer: ORT accuracy_level 4, as shipped).</summary>
    [Benchmark]
    public float Single1Q4Int8() => EmbedNext(_q4Int8);

    private float EmbedNext(SentenceEncoder encoder)
    {
        var s = _sentences[_next];
        _next = (_next + 1) % _sentences.Length;
        return encoder.Embed([s]).Data[0];
    }
}

/// <summary>
/// Cosine top-k at the full size: 20 000 queries × 100 000 corpus, d = 384, k = 4 (peer: FAISS IndexFlatIP,
/// perf/peers/alignment_peers.py). The process's peak working set (VmHWM, which includes the 184 MB of inputs and the
/// runtime) is printed at cleanup as a "// peak-working-set-bytes" line for perf/run-all.sh.
/// </summary>
[Config(typeof(TopKFullConfig))]
[MemoryDiagnoser]
public class CosineTopKFullBenchmarks
{
    public const int Queries = 20_000, Corpus = 100_000, Dim = 384, K = 4;
    private float[] _q = null!, _c = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(2);
        _q = new float[Queries * Dim];
        _c = new float[(long)Corpus * Dim];
        for (int i = 0; i < _q.Length; i++)
        {
            _q[i] = (float)rng.NextDouble() - 0.5f;
        }

        for (int i = 0; i < _c.Length; i++)
        {
            _c[i] = (float)rng.NextDouble() - 0.5f;
        }

        TopKSearch.Normalize(_q, Queries, Dim);
        TopKSearch.Normalize(_c, Corpus, Dim);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                long kb = long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
                Console.WriteLine($"// peak-working-set-bytes {kb * 1024}");
            }
        }
    }

    [Benchmark]
    public TopKResult Search20kx100k() => TopKSearch.Search(_q, Queries, _c, Corpus, Dim, K);
}

/// <summary>A search takes seconds: one invocation per iteration, few iterations.</summary>
public sealed class TopKFullConfig : ManualConfig
{
    public TopKFullConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessNoEmitToolchain.Instance)
            .WithStrategy(RunStrategy.Monitoring)
            .WithWarmupCount(1)
            .WithIterationCount(3)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithLaunchCount(1)
            .WithId("topk"));
        AddColumn(StatisticColumn.Median);
        AddExporter(JsonExporter.FullCompressed);
        WithOptions(ConfigOptions.DisableOptimizationsValidator);
    }
}
