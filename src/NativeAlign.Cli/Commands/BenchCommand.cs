using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using NativeAlign.Backends;
using NativeAlign.Backends.OpenCl;
using NativeAlign.Models;
using NativeAlign.Tensors;

namespace NativeAlign.Cli.Commands;

/// <summary>
/// <c>nativealign bench</c>: the same workloads (embedding at three batch sizes, cosine top-k, a Sinkhorn batch) on every
/// backend and device present, with throughput, batch-1 latency, peak memory and parity against the float64 reference.
/// </summary>
/// <remarks>
/// Parity is measured against the reference backend on the same inputs in the same run (a small subset of sentences and
/// queries, since the reference is scalar float64), so a fast but wrong backend shows up next to its speed. Peak memory
/// is the process's VmHWM; the kernel's high-water mark is reset before each backend where Linux allows it
/// (<c>/proc/self/clear_refs</c>), otherwise the figure is cumulative and the JSON says so.
/// </remarks>
internal static class BenchCommand
{
    /// <summary>Sizes of one run: full (the issue's figures) or quick (CI: tiny shapes, few launches).</summary>
    internal sealed record Sizes(int[] Batches, int Batch1Sentences, int Repeats, int ParitySentences, int Queries, int Corpus, int ParityQueries, int K, int Problems, int Side)
    {
        public static Sizes Full { get; } = new([1, 32, 256], 64, 2, 16, 2000, 20000, 64, 4, 500, 30);

        public static Sizes Quick { get; } = new([1, 4, 8], 3, 1, 3, 8, 64, 8, 4, 4, 6);
    }

    public static Command Create()
    {
        var model = EmbedCommand.ModelOption();
        var backends = new Option<string?>("--backends")
        {
            Description = "Comma-separated backends: cpu, opencl[:N], reference, ilgpu:cpu, ilgpu:cuda:N, ilgpu:opencl:N "
                + "(default: every backend present; reference and ILGPU's CPU emulator only with --quick, they are slow).",
        };
        var json = new Option<bool>("--json") { Description = "Write one JSON object to standard output instead of a table." };
        var quick = new Option<bool>("--quick") { Description = "Tiny sizes (seconds, for CI and smoke checks); figures are not meaningful as speed." };
        var input = new Option<string?>("--input", "-i")
        {
            Description = "Sentences, one per line (default: Tatoeba English lines under $NATIVEALIGN_DATA/tatoeba or the shared data beside the repository, else a built-in list).",
        };
        var command = new Command("bench", "Run the same workloads on every backend and device present: speed, latency, memory and parity against the float64 reference.")
        {
            model, backends, json, quick, input,
        };
        command.SetAction((result, cancel) =>
        {
            var sizes = result.GetValue(quick) ? Sizes.Quick : Sizes.Full;
            var names = ParseBackends(result.GetValue(backends), result.GetValue(quick));
            var sentences = LoadSentences(result.GetValue(input), Math.Max(sizes.Batches.Max(), sizes.Batch1Sentences));
            var report = Run(EmbedCommand.ResolveModel(result.GetValue(model)), names, sentences, sizes, result.GetValue(quick), cancel);
            if (result.GetValue(json))
            {
                // Through Console.Out (not the raw stream), so a host that redirects the console gets the object too.
                var buffer = new MemoryStream();
                using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
                {
                    WriteJson(writer, report);
                }

                Console.Out.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
            }
            else
            {
                Console.Out.Write(Table(report));
            }

            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>The backends to run: the given list, or every one present here.</summary>
    internal static IReadOnlyList<string> ParseBackends(string? list, bool quick)
    {
        if (!string.IsNullOrWhiteSpace(list))
        {
            var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var name in names)
            {
                bool known = name is "cpu" or "reference" or "opencl" || name.StartsWith("opencl:", StringComparison.Ordinal)
                    || name.StartsWith("ilgpu", StringComparison.Ordinal);
                if (!known)
                {
                    throw new NativeAlignException(ErrorKind.Usage, $"--backends: unknown backend '{name}' (expected cpu, opencl[:N], reference, ilgpu:cpu, ilgpu:cuda:N or ilgpu:opencl:N)");
                }
            }

            return names.Distinct().ToArray();
        }

        var present = new List<string> { "cpu" };
        var openCl = OpenClDevices.Discover();
        for (int i = 0; i < openCl.Devices.Count; i++)
        {
            present.Add($"opencl:{i}");
        }

        var (accelerators, _) = ILGpuSupport.Accelerators();
        // ILGPU's CPU accelerator is an emulator (~1 s a launch): at full sizes it would run for many minutes and say
        // nothing about speed, so like the reference it runs by default only with --quick, or when named.
        present.AddRange(accelerators.Where(a => quick || a.Id != "cpu").Select(a => "ilgpu:" + a.Id));
        if (quick)
        {
            present.Add("reference");
        }

        return present;
    }

    /// <summary><paramref name="count"/> sentences from the file, else Tatoeba English lines, else the built-in pairs (cycled).</summary>
    internal static string[] LoadSentences(string? path, int count)
    {
        IEnumerable<string>? lines = null;
        if (path is not null)
        {
            if (!File.Exists(path))
            {
                throw new NativeAlignException(ErrorKind.Input, $"{path}: no such file (--input takes sentences, one per line)");
            }

            lines = File.ReadLines(path);
        }
        else if (TatoebaLines() is string tatoeba)
        {
            lines = File.ReadLines(tatoeba);
        }

        var chosen = (lines ?? DemoCommand.Pairs.SelectMany(p => new[] { p.Left, p.Right }))
            .Where(l => !string.IsNullOrWhiteSpace(l)).Take(count).ToList();
        if (chosen.Count == 0)
        {
            throw new NativeAlignException(ErrorKind.Input, $"{path}: no non-empty line to embed");
        }

        // Fewer lines than the largest batch: cycle them, so every batch size runs.
        int have = chosen.Count;
        for (int i = have; i < count; i++)
        {
            chosen.Add(chosen[i % have]);
        }

        return [.. chosen];
    }

    /// <summary>Tatoeba's English side under $NATIVEALIGN_DATA, else the shared data beside or inside the repository; null if absent.</summary>
    private static string? TatoebaLines()
    {
        var folders = new List<string>();
        if (Environment.GetEnvironmentVariable("NATIVEALIGN_DATA") is { Length: > 0 } data)
        {
            folders.Add(data);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NativeAlign.sln")))
            {
                folders.Add(Path.Combine(dir.FullName, "shared", "data"));
                folders.Add(Path.Combine(dir.FullName, "..", "shared", "data"));
                break;
            }
        }

        return folders.Select(f => Path.Combine(f, "tatoeba", "tatoeba.deu-eng.eng")).FirstOrDefault(File.Exists);
    }

    /// <summary>Runs every workload on every backend and returns the report.</summary>
    internal static BenchReport Run(string modelPath, IReadOnlyList<string> backends, string[] sentences, Sizes sizes, bool quick, CancellationToken cancel)
    {
        var paritySentences = sentences.Take(sizes.ParitySentences).ToArray();
        SentenceEmbeddings referenceEmbeddings;
        int dimension;
        using (var reference = SentenceEncoder.Load(modelPath, new SentenceEncoderOptions { Backend = "reference" }))
        {
            referenceEmbeddings = reference.Embed(paritySentences, cancellationToken: cancel);
            dimension = reference.Dimension;
        }

        var random = new Random(16);
        float[] queries = UnitRows(random, sizes.Queries, dimension);
        float[] corpus = UnitRows(random, sizes.Corpus, dimension);
        var batch = SinkhornProblems(random, sizes.Problems, sizes.Side);
        var options = new SinkhornOptions();
        long[] referenceTopK;
        float[] referencePlans;
        using (var reference = ComputeBackends.Create("reference"))
        {
            referenceTopK = TopK(reference, queries.AsMemory(0, sizes.ParityQueries * dimension), sizes.ParityQueries, corpus, sizes.Corpus, dimension, sizes.K).Indices;
            reference.Sinkhorn(batch, options);
            referencePlans = (float[])batch.Plans.Clone();
        }

        var results = new List<BackendResult>();
        foreach (var name in backends)
        {
            cancel.ThrowIfCancellationRequested();
            results.Add(RunBackend(name, modelPath, sentences, paritySentences, referenceEmbeddings, queries, corpus, referenceTopK, batch, referencePlans, options, sizes, dimension, cancel));
        }

        return new BenchReport(
            Path.GetFileName(Path.TrimEndingDirectorySeparator(modelPath)),
            dimension,
            quick,
            Environment.ProcessorCount,
            System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString(),
            Environment.Version.ToString(),
            results);
    }

    private static BackendResult RunBackend(
        string name, string modelPath, string[] sentences, string[] paritySentences, SentenceEmbeddings referenceEmbeddings,
        float[] queries, float[] corpus, long[] referenceTopK, SinkhornBatch batch, float[] referencePlans, SinkhornOptions options,
        Sizes sizes, int dimension, CancellationToken cancel)
    {
        bool peakReset = ResetPeakMemory();
        var workloads = new List<Workload>();
        string device;
        double minCosine;
        using (var encoder = SentenceEncoder.Load(modelPath, EncoderOptions(name)))
        {
            // One warm-up call: JIT, kernel compilation and weight upload are not what the figures measure.
            encoder.Embed(sentences.AsSpan(0, 1), cancellationToken: cancel);
            foreach (int size in sizes.Batches)
            {
                workloads.Add(size == 1 ? EmbedOneByOne(encoder, sentences.AsSpan(0, sizes.Batch1Sentences), cancel) : EmbedBatch(encoder, sentences.AsSpan(0, size), sizes.Repeats, cancel));
            }

            var embeddings = encoder.Embed(paritySentences, cancellationToken: cancel);
            minCosine = MinCosine(embeddings, referenceEmbeddings);
        }

        using (var backend = CreateBackend(name))
        {
            device = ILGpuSupport.Describe(backend) ?? ComputeBackends.Describe(backend);

            // Warm-up on a small slice, then the timed full run; agreement on the queries the reference solved.
            TopK(backend, queries.AsMemory(0, Math.Min(sizes.Queries, 4) * dimension), Math.Min(sizes.Queries, 4), corpus.AsMemory(0, Math.Min(sizes.Corpus, 64) * dimension).ToArray(), Math.Min(sizes.Corpus, 64), dimension, sizes.K);
            var watch = Stopwatch.StartNew();
            var (indices, _) = TopK(backend, queries, sizes.Queries, corpus, sizes.Corpus, dimension, sizes.K);
            double seconds = watch.Elapsed.TotalSeconds;
            double agreement = Agreement(indices.AsSpan(0, sizes.ParityQueries * sizes.K), referenceTopK, sizes.K);
            workloads.Add(new Workload("topk", null, sizes.Queries, null, seconds, sizes.Queries / seconds, null, null, null)
            {
                Shape = $"{sizes.Queries}x{sizes.Corpus}, d {dimension}, k {sizes.K}",
                TopKAgreement = agreement,
            });

            Array.Clear(batch.Plans);
            watch.Restart();
            backend.Sinkhorn(batch, options);
            seconds = watch.Elapsed.TotalSeconds;
            double error = 0;
            for (int i = 0; i < referencePlans.Length; i++)
            {
                error = Math.Max(error, Math.Abs((double)batch.Plans[i] - referencePlans[i]));
            }

            workloads.Add(new Workload("sinkhorn", null, sizes.Problems, null, seconds, sizes.Problems / seconds, null, null, null)
            {
                Shape = $"{sizes.Problems} problems {sizes.Side}x{sizes.Side}, balanced, eps {options.Epsilon.ToString(CultureInfo.InvariantCulture)}",
                SinkhornMaxAbsPlanError = error,
            });
        }

        return new BackendResult(name, device, PeakMemoryBytes(), peakReset, minCosine, workloads);
    }

    private static SentenceEncoderOptions EncoderOptions(string name) => name switch
    {
        _ when name.StartsWith("ilgpu", StringComparison.Ordinal) => new SentenceEncoderOptions { Backend = "ilgpu", BackendFactory = ILGpuSupport.Factory(IlgpuDevice(name)) },
        _ when name.StartsWith("opencl", StringComparison.Ordinal) => new SentenceEncoderOptions { Backend = "opencl", Device = EncoderBackendOptions.OpenClIndex(name == "opencl" ? null : name) },
        _ => new SentenceEncoderOptions { Backend = name },
    };

    private static IComputeBackend CreateBackend(string name) => name switch
    {
        _ when name.StartsWith("ilgpu", StringComparison.Ordinal) => ILGpuSupport.Factory(IlgpuDevice(name))(),
        _ when name.StartsWith("opencl", StringComparison.Ordinal) => ComputeBackends.Create("opencl", EncoderBackendOptions.OpenClIndex(name == "opencl" ? null : name)),
        _ => ComputeBackends.Create(name),
    };

    /// <summary>"ilgpu:cuda:0" → "cuda:0"; plain "ilgpu" → null (the first GPU, else the CPU accelerator).</summary>
    private static string? IlgpuDevice(string name) => name.Length > "ilgpu:".Length ? name["ilgpu:".Length..] : null;

    private static Workload EmbedOneByOne(SentenceEncoder encoder, ReadOnlySpan<string> sentences, CancellationToken cancel)
    {
        var latencies = new double[sentences.Length];
        long tokens = 0;
        var total = Stopwatch.StartNew();
        for (int i = 0; i < sentences.Length; i++)
        {
            var watch = Stopwatch.StartNew();
            tokens += encoder.Embed(sentences.Slice(i, 1), cancellationToken: cancel).Tokens;
            latencies[i] = watch.Elapsed.TotalMilliseconds;
        }

        double seconds = total.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return new Workload("embed", 1, sentences.Length, tokens, seconds, sentences.Length / seconds, tokens / seconds, Percentile(latencies, 0.5), Percentile(latencies, 0.9));
    }

    private static Workload EmbedBatch(SentenceEncoder encoder, ReadOnlySpan<string> sentences, int repeats, CancellationToken cancel)
    {
        long tokens = 0;
        var watch = Stopwatch.StartNew();
        for (int r = 0; r < repeats; r++)
        {
            tokens += encoder.Embed(sentences, cancellationToken: cancel).Tokens;
        }

        double seconds = watch.Elapsed.TotalSeconds;
        int count = sentences.Length * repeats;
        return new Workload("embed", sentences.Length, count, tokens, seconds, count / seconds, tokens / seconds, null, null);
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    internal static double Percentile(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>The smallest cosine between row i of <paramref name="a"/> and row i of <paramref name="b"/>, in float64.</summary>
    internal static double MinCosine(SentenceEmbeddings a, SentenceEmbeddings b)
    {
        double min = double.PositiveInfinity;
        for (int i = 0; i < a.Count; i++)
        {
            double dot = 0, na = 0, nb = 0;
            var x = a[i];
            var y = b[i];
            for (int j = 0; j < x.Length; j++)
            {
                dot += (double)x[j] * y[j];
                na += (double)x[j] * x[j];
                nb += (double)y[j] * y[j];
            }

            min = Math.Min(min, dot / Math.Sqrt(na * nb));
        }

        return min;
    }

    /// <summary>Fraction of the reference's neighbours (per query, as sets) that <paramref name="indices"/> also lists.</summary>
    internal static double Agreement(ReadOnlySpan<long> indices, ReadOnlySpan<long> reference, int k)
    {
        int hits = 0;
        for (int q = 0; q < reference.Length / k; q++)
        {
            var mine = indices.Slice(q * k, k);
            foreach (long r in reference.Slice(q * k, k))
            {
                if (mine.Contains(r))
                {
                    hits++;
                }
            }
        }

        return reference.Length == 0 ? 1 : (double)hits / reference.Length;
    }

    private static (long[] Indices, float[] Scores) TopK(IComputeBackend backend, ReadOnlyMemory<float> queries, int queryRows, float[] corpus, int corpusRows, int dimension, int k)
    {
        var indices = new long[queryRows * k];
        var scores = new float[queryRows * k];
        indices.AsSpan().Fill(-1);
        scores.AsSpan().Fill(float.NegativeInfinity);
        using var q = backend.Allocate(queryRows, dimension);
        using var c = backend.Allocate(corpusRows, dimension);
        backend.Upload(queries.Span[..(queryRows * dimension)], q);
        backend.Upload(corpus.AsSpan(0, corpusRows * dimension), c);
        backend.TopK(q, c, 0, [], 1f, indices, scores);
        return (indices, scores);
    }

    private static float[] UnitRows(Random random, int rows, int dimension)
    {
        var data = new float[rows * dimension];
        for (int r = 0; r < rows; r++)
        {
            var row = data.AsSpan(r * dimension, dimension);
            double norm = 0;
            for (int j = 0; j < dimension; j++)
            {
                row[j] = (float)((random.NextDouble() * 2) - 1);
                norm += row[j] * row[j];
            }

            float inverse = (float)(1 / Math.Sqrt(norm));
            for (int j = 0; j < dimension; j++)
            {
                row[j] *= inverse;
            }
        }

        return data;
    }

    /// <summary>Problems like word alignment's: cosine-distance-like costs in [0, 1], uniform marginals.</summary>
    private static SinkhornBatch SinkhornProblems(Random random, int problems, int side)
    {
        var shape = Enumerable.Repeat(side, problems).ToArray();
        var batch = new SinkhornBatch(shape, shape);
        for (int p = 0; p < problems; p++)
        {
            var cost = batch.Cost(p);
            for (int i = 0; i < cost.Length; i++)
            {
                cost[i] = (float)random.NextDouble();
            }

            batch.Source(p).Fill(1f / side);
            batch.Target(p).Fill(1f / side);
        }

        return batch;
    }

    /// <summary>Resets the kernel's peak-RSS mark for this process (Linux ≥ 4.0); false where it cannot.</summary>
    private static bool ResetPeakMemory()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>VmHWM of this process in bytes, or null where /proc does not give it.</summary>
    private static long? PeakMemoryBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>The report as one JSON object, written by hand: reflection-based serialisation is not NativeAOT-safe.</summary>
    internal static void WriteJson(Utf8JsonWriter writer, BenchReport report)
    {
        writer.WriteStartObject();
        writer.WriteString("model", report.Model);
        writer.WriteNumber("dimension", report.Dimension);
        writer.WriteBoolean("quick", report.Quick);
        writer.WriteNumber("cores", report.Cores);
        writer.WriteString("os", report.Os);
        writer.WriteString("architecture", report.Architecture);
        writer.WriteString("runtime", report.Runtime);
        writer.WriteStartArray("backends");
        foreach (var b in report.Backends)
        {
            writer.WriteStartObject();
            writer.WriteString("backend", b.Backend);
            writer.WriteString("device", b.Device);
            Number(writer, "peak_memory_bytes", b.PeakMemoryBytes);
            writer.WriteBoolean("peak_memory_reset", b.PeakMemoryReset);
            Number(writer, "embed_min_cosine_vs_reference", b.EmbedMinCosine);
            writer.WriteStartArray("workloads");
            foreach (var w in b.Workloads)
            {
                writer.WriteStartObject();
                writer.WriteString("workload", w.Name);
                Number(writer, "batch", w.Batch);
                if (w.Shape is not null)
                {
                    writer.WriteString("shape", w.Shape);
                }

                writer.WriteNumber("items", w.Items);
                Number(writer, "tokens", w.Tokens);
                Number(writer, "seconds", w.Seconds);
                Number(writer, w.Name == "embed" ? "sentences_per_s" : w.Name == "topk" ? "queries_per_s" : "problems_per_s", w.ItemsPerSecond);
                Number(writer, "tokens_per_s", w.TokensPerSecond);
                Number(writer, "p50_ms", w.P50Ms);
                Number(writer, "p90_ms", w.P90Ms);
                Number(writer, "topk_agreement_vs_reference", w.TopKAgreement);
                Number(writer, "sinkhorn_max_abs_plan_error_vs_reference", w.SinkhornMaxAbsPlanError);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();

        static void Number(Utf8JsonWriter writer, string name, double? value)
        {
            if (value is double v)
            {
                // JSON has no NaN or infinity; a non-finite figure is written as null so readers see it is missing.
                if (double.IsFinite(v))
                {
                    writer.WriteNumber(name, v);
                }
                else
                {
                    writer.WriteNull(name);
                }
            }
        }
    }

    private static string Table(BenchReport report)
    {
        var text = new System.Text.StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"model {report.Model} (d {report.Dimension}), {report.Cores} cores, {report.Os}, .NET {report.Runtime}{(report.Quick ? ", --quick (sizes too small for speed)" : "")}\n");
        text.Append(CultureInfo.InvariantCulture, $"{"backend",-16} {"workload",-10} {"shape",-36} {"items/s",10} {"tokens/s",10} {"p50 ms",8} {"p90 ms",8} {"parity",12}\n");
        foreach (var b in report.Backends)
        {
            foreach (var w in b.Workloads)
            {
                string shape = w.Shape ?? $"batch {w.Batch}, {w.Items} sentences";
                string parity = w.Name switch
                {
                    "embed" => "",
                    "topk" => $"agree {w.TopKAgreement:F4}",
                    _ => $"err {w.SinkhornMaxAbsPlanError:E1}",
                };
                text.Append(CultureInfo.InvariantCulture, $"{b.Backend,-16} {w.Name,-10} {shape,-36} {w.ItemsPerSecond,10:F1} {F(w.TokensPerSecond, "F0"),10} {F(w.P50Ms, "F2"),8} {F(w.P90Ms, "F2"),8} {parity,12}\n");
            }

            text.Append(CultureInfo.InvariantCulture, $"{b.Backend,-16} {b.Device}: embeddings min cosine vs reference {b.EmbedMinCosine:F6}, peak memory {(b.PeakMemoryBytes ?? 0) / 1048576.0:F0} MiB{(b.PeakMemoryReset ? "" : " (process peak, cumulative)")}\n");
        }

        return text.ToString();

        static string F(double? value, string format) => value?.ToString(format, CultureInfo.InvariantCulture) ?? "";
    }
}

/// <summary>What <c>nativealign bench</c> measured.</summary>
internal sealed record BenchReport(string Model, int Dimension, bool Quick, int Cores, string Os, string Architecture, string Runtime, IReadOnlyList<BackendResult> Backends);

/// <summary>One backend's figures; <paramref name="PeakMemoryBytes"/> is VmHWM, reset before the backend ran when <paramref name="PeakMemoryReset"/>.</summary>
internal sealed record BackendResult(string Backend, string Device, long? PeakMemoryBytes, bool PeakMemoryReset, double EmbedMinCosine, IReadOnlyList<Workload> Workloads);

/// <summary>One workload's figures; latency percentiles only for batch 1, tokens only for embedding.</summary>
internal sealed record Workload(string Name, int? Batch, int Items, long? Tokens, double Seconds, double ItemsPerSecond, double? TokensPerSecond, double? P50Ms, double? P90Ms)
{
    /// <summary>The shape in words (top-k and Sinkhorn).</summary>
    public string? Shape { get; init; }

    /// <summary>Top-k: fraction of the reference's neighbours found (as sets per query).</summary>
    public double? TopKAgreement { get; init; }

    /// <summary>Sinkhorn: max |plan − reference plan| over every cell.</summary>
    public double? SinkhornMaxAbsPlanError { get; init; }
}
