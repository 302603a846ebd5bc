using BenchmarkDotNet.Attributes;
using NativeAlign.Alignment.Sentences;
using NativeAlign.Alignment.Transport;
using NativeAlign.Tensors;

namespace NativeAlign.Benchmarks;

/// <summary>
/// Batched balanced Sinkhorn on word-alignment-sized problems: 2000 problems of 30×30, ε = 0.1, exactly 100 iterations
/// (tolerance 0, the marginal check every 10th iteration still runs, as in POT). Peer: perf/peers/alignment_peers.py.
/// </summary>
[MemoryDiagnoser]
public class SinkhornBatchBenchmarks
{
    public const int Problems = 2000;
    private SinkhornBatch _batch = null!;
    private SinkhornOptions _options = null!;

    /// <summary>Iterations per problem; 100 is the comparison with POT, 1 shows the fixed per-problem cost.</summary>
    [Params(1, 100)]
    public int Iterations { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rows = Enumerable.Repeat(30, Problems).ToArray();
        _batch = new SinkhornBatch(rows, rows);
        var rng = new Random(1);
        for (int i = 0; i < _batch.Costs.Length; i++)
        {
            _batch.Costs[i] = (float)rng.NextDouble();
        }

        Array.Fill(_batch.SourceWeights, 1f / 30);
        Array.Fill(_batch.TargetWeights, 1f / 30);
        _options = new SinkhornOptions { Epsilon = 0.1f, MaxIterations = Iterations, Tolerance = 0 };
    }

    /// <summary>All 2000 problems on all cores (2 here).</summary>
    [Benchmark(OperationsPerInvoke = Problems)]
    public void BatchAllCores() => SinkhornSolver.SolveBatch(_batch, _options);

    /// <summary>All 2000 problems on one thread.</summary>
    [Benchmark(OperationsPerInvoke = Problems)]
    public void BatchOneThread() => SinkhornSolver.SolveBatch(_batch, _options, threads: 1);
}

/// <summary>
/// Exact cosine top-k (k = 4, d = 384) of Queries × Corpus, scaled down from 20k × 100k (see perf/RESULTS.md).
/// <c>EndToEnd</c> includes the GEMM (<see cref="NativeAlign.Backends.Cpu.GemmF32"/>); <c>SelectionOnly</c> merges a
/// precomputed 256 × Corpus score block per query block, i.e. the part that is ours on top of the GEMM.
/// </summary>
public class CosineTopKBenchmarks
{
    public const int Queries = 500, Corpus = 5000, Dim = 384, K = 4;
    private float[] _q = null!, _c = null!, _block = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(2);
        _q = [.. Enumerable.Range(0, Queries * Dim).Select(_ => (float)rng.NextDouble() - 0.5f)];
        _c = [.. Enumerable.Range(0, Corpus * Dim).Select(_ => (float)rng.NextDouble() - 0.5f)];
        TopKSearch.Normalize(_q, Queries, Dim);
        TopKSearch.Normalize(_c, Corpus, Dim);
        _block = [.. Enumerable.Range(0, 256 * Corpus).Select(_ => (float)rng.NextDouble())];
    }

    [Benchmark]
    public TopKResult EndToEnd() => TopKSearch.Search(_q, Queries, _c, Corpus, Dim, K);

    [Benchmark]
    public long SelectionOnly()
    {
        // The same number of row merges as EndToEnd (Queries rows of Corpus scores), single thread.
        var idx = new long[K];
        var sc = new float[K];
        long sum = 0;
        for (int q = 0; q < Queries; q++)
        {
            Array.Fill(sc, float.NegativeInfinity);
            NativeAlign.Backends.TopKLists.MergeRow(_block.AsSpan((q % 256) * Corpus, Corpus), 0, idx, sc);
            sum += idx[0];
        }

        return sum;
    }
}
