using NativeAlign.Backends;
using NativeAlign.Tensors;

namespace NativeAlign.Alignment.Sentences;

/// <summary>How a margin combines a pair's cosine a with its neighbourhood average b (Artetxe &amp; Schwenk 2019).</summary>
public enum MarginKind
{
    /// <summary>a: the plain cosine.</summary>
    Absolute,

    /// <summary>a − b.</summary>
    Distance,

    /// <summary>a / b.</summary>
    Ratio,
}

/// <summary>Which candidate pairs are kept (Artetxe &amp; Schwenk 2019, §3.2).</summary>
public enum CandidateStrategy
{
    /// <summary>Every source sentence with its best-scoring target.</summary>
    Forward,

    /// <summary>Every target sentence with its best-scoring source.</summary>
    Backward,

    /// <summary>Pairs that are best in both directions.</summary>
    Intersection,

    /// <summary>Forward and backward candidates together, taken greedily by descending score, each sentence used once.</summary>
    Max,
}

/// <summary>Parameters of <see cref="MarginMiner"/>.</summary>
public sealed record MiningOptions
{
    /// <summary>Neighbourhood size k in both directions (the paper uses 4).</summary>
    public int K { get; init; } = 4;

    /// <summary>Margin function.</summary>
    public MarginKind Margin { get; init; } = MarginKind.Ratio;

    /// <summary>Candidate strategy.</summary>
    public CandidateStrategy Strategy { get; init; } = CandidateStrategy.Max;

    /// <summary>Pairs scoring below this are dropped.</summary>
    public float Threshold { get; init; } = float.NegativeInfinity;

    /// <summary>Corpus rows per streamed chunk; memory is about 256 × this × 4 bytes per thread.</summary>
    public int ChunkRows { get; init; } = 4096;

    /// <summary>
    /// Query rows searched at once (each block scans the whole other side); with rows on disk this and
    /// <see cref="ChunkRows"/> bound the vectors in memory: (QueryBlockRows + ChunkRows) × D floats.
    /// </summary>
    public int QueryBlockRows { get; init; } = 16384;

    /// <summary>Threads of the CPU backend used when <see cref="Backend"/> is null (0 = all cores).</summary>
    public int Threads { get; init; }

    /// <summary>
    /// The backend both k-NN searches run on (<see cref="BackendOp.TopK"/>); null: a CPU backend with
    /// <see cref="Threads"/> threads. The caller keeps owning it.
    /// </summary>
    public IComputeBackend? Backend { get; init; }
}

/// <summary>How far a streamed mining run is: which search, and how many of its queries are done.</summary>
/// <param name="Backward">False while searching targets for sources, true while searching sources for targets.</param>
/// <param name="Done">Query rows finished (fractional blocks count in proportion to the corpus rows scanned).</param>
/// <param name="Total">Query rows of this search.</param>
public readonly record struct MiningProgress(bool Backward, long Done, long Total);

/// <summary>A mined sentence pair.</summary>
/// <param name="Source">Source sentence index.</param>
/// <param name="Target">Target sentence index.</param>
/// <param name="Score">Margin score.</param>
public readonly record struct MinedPair(long Source, long Target, float Score);

/// <summary>
/// Margin-based bitext mining (Artetxe &amp; Schwenk 2019): score(x, y) = margin(cos(x, y),
/// Σ_{z∈NN_k(x)} cos(x, z)/2k + Σ_{z∈NN_k(y)} cos(y, z)/2k), where NN_k(x) are x's k nearest targets and NN_k(y) y's
/// k nearest sources. Candidates are each sentence's k nearest neighbours, rescored with the margin; vectors must be
/// L2-normalised. Both k-NN searches stream over the other side in chunks (<see cref="TopKSearch"/>).
/// </summary>
public static class MarginMiner
{
    /// <summary>Mines pairs; the result is sorted by descending score (ties by source, then target index).</summary>
    public static List<MinedPair> Mine(ReadOnlySpan<float> source, int sourceCount, ReadOnlySpan<float> target, int targetCount, int dim, MiningOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (sourceCount == 0 || targetCount == 0)
        {
            return [];
        }

        return Mine(new ArrayVectorRows(source.ToArray(), sourceCount, dim), new ArrayVectorRows(target.ToArray(), targetCount, dim), options);
    }

    /// <summary>
    /// Mines pairs between vectors read a block at a time, so rows on disk are never all in memory. Memory is the
    /// vector blocks — (<see cref="MiningOptions.QueryBlockRows"/> + <see cref="MiningOptions.ChunkRows"/>) × D floats, plus
    /// the GEMM buffers of <see cref="TopKSearch"/> — and per sentence k neighbours (index and cosine, 8k bytes), the
    /// mean neighbour cosine (4 bytes) and the candidate bookkeeping (about 40 bytes): no N × D term.
    /// The result is sorted by descending score (ties by source, then target index).
    /// </summary>
    public static List<MinedPair> Mine(IVectorRows source, IVectorRows target, MiningOptions options, IProgress<MiningProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(options);
        if (options.K <= 0)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"mining: k must be positive, got {options.K}");
        }

        if (source.Dimension != target.Dimension)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"mining: source vectors have {source.Dimension} dimensions, target vectors {target.Dimension}");
        }

        int sourceCount = source.Count, targetCount = target.Count;
        if (sourceCount == 0 || targetCount == 0)
        {
            return [];
        }

        int kx = Math.Min(options.K, targetCount), ky = Math.Min(options.K, sourceCount);
        var x2y = Neighbours(source, target, kx, options, false, progress, cancellationToken);
        var y2x = Neighbours(target, source, ky, options, true, progress, cancellationToken);
        var fwd = Best(x2y, y2x.Means, options.Margin);
        var bwd = Best(y2x, x2y.Means, options.Margin);
        var pairs = new List<MinedPair>();
        switch (options.Strategy)
        {
            case CandidateStrategy.Forward:
                for (int i = 0; i < sourceCount; i++)
                {
                    pairs.Add(new MinedPair(i, fwd.Other[i], fwd.Score[i]));
                }

                break;
            case CandidateStrategy.Backward:
                for (int j = 0; j < targetCount; j++)
                {
                    pairs.Add(new MinedPair(bwd.Other[j], j, bwd.Score[j]));
                }

                break;
            case CandidateStrategy.Intersection:
                for (int i = 0; i < sourceCount; i++)
                {
                    int j = fwd.Other[i];
                    if (j >= 0 && bwd.Other[j] == i)
                    {
                        pairs.Add(new MinedPair(i, j, fwd.Score[i]));
                    }
                }

                break;
            default:
                // Candidate n < sourceCount is source n's forward pick, the rest targets' backward picks. Sorted by
                // descending score, ties by n: forward candidates come before backward ones, as a stable sort would.
                int all = sourceCount + targetCount;
                var order = new int[all];
                for (int n = 0; n < all; n++)
                {
                    order[n] = n;
                }

                float ScoreOf(int n) => n < sourceCount ? fwd.Score[n] : bwd.Score[n - sourceCount];
                Array.Sort(order, (a, b) =>
                {
                    int c = ScoreOf(b).CompareTo(ScoreOf(a));
                    return c != 0 ? c : a.CompareTo(b);
                });
                var seenSrc = new System.Collections.BitArray(sourceCount);
                var seenTgt = new System.Collections.BitArray(targetCount);
                foreach (int n in order)
                {
                    int i = n < sourceCount ? n : bwd.Other[n - sourceCount];
                    int j = n < sourceCount ? fwd.Other[n] : n - sourceCount;
                    if (i >= 0 && j >= 0 && !seenSrc[i] && !seenTgt[j])
                    {
                        seenSrc[i] = true;
                        seenTgt[j] = true;
                        pairs.Add(new MinedPair(i, j, ScoreOf(n)));
                    }
                }

                break;
        }

        pairs.RemoveAll(p => !(p.Score >= options.Threshold));
        pairs.Sort((a, b) =>
        {
            int c = b.Score.CompareTo(a.Score);
            c = c != 0 ? c : a.Source.CompareTo(b.Source);
            return c != 0 ? c : a.Target.CompareTo(b.Target);
        });
        return pairs;
    }

    /// <summary>margin(a, b) as defined by <paramref name="kind"/>.</summary>
    public static float Margin(MarginKind kind, float a, float b) => kind switch
    {
        MarginKind.Absolute => a,
        MarginKind.Distance => a - b,
        _ => a / b,
    };

    internal static float[] RowMeans(TopKResult r)
    {
        var means = new float[r.Queries];
        for (int q = 0; q < r.Queries; q++)
        {
            means[q] = Mean(r.ScoresOf(q));
        }

        return means;
    }

    /// <summary>The mean of the finite scores (missing neighbours are −∞), 0 when there are none.</summary>
    private static float Mean(ReadOnlySpan<float> scores)
    {
        double s = 0;
        int n = 0;
        foreach (var x in scores)
        {
            if (float.IsFinite(x))
            {
                s += x;
                n++;
            }
        }

        return n == 0 ? 0f : (float)(s / n);
    }

    /// <summary>
    /// Every query's k nearest corpus rows, streamed: a block of query rows is read, the whole corpus is scanned past it
    /// a chunk at a time (<see cref="TopKSearch"/>), and only the block's neighbour lists are kept.
    /// </summary>
    private static Neighbourhood Neighbours(IVectorRows queries, IVectorRows corpus, int k, MiningOptions options, bool backward, IProgress<MiningProgress>? progress, CancellationToken cancel)
    {
        int dim = queries.Dimension, nq = queries.Count, nc = corpus.Count;
        int blockRows = Math.Clamp(options.QueryBlockRows, 1, nq);
        int chunkRows = Math.Clamp(options.ChunkRows, 1, nc);
        var result = new Neighbourhood(nq, k);
        var block = new float[(long)blockRows * dim];
        var chunk = new float[(long)chunkRows * dim];
        for (int q0 = 0; q0 < nq; q0 += blockRows)
        {
            int qn = Math.Min(blockRows, nq - q0);
            queries.Read(q0, qn, block.AsSpan(0, qn * dim));
            using var search = new TopKSearch(block, qn, dim, k, options.Threads, options.Backend);
            for (int c0 = 0; c0 < nc; c0 += chunkRows)
            {
                cancel.ThrowIfCancellationRequested();
                int cn = Math.Min(chunkRows, nc - c0);
                corpus.Read(c0, cn, chunk.AsSpan(0, cn * dim));
                search.AddChunk(chunk.AsSpan(0, cn * dim), cn, c0);
                progress?.Report(new MiningProgress(backward, q0 + ((long)qn * (c0 + cn) / nc), nq));
            }

            var top = search.Result;
            for (int q = 0; q < qn; q++)
            {
                var idx = top.IndicesOf(q);
                var sc = top.ScoresOf(q);
                for (int c = 0; c < k; c++)
                {
                    result.Indices[((long)(q0 + q) * k) + c] = (int)idx[c];
                }

                sc.CopyTo(result.Scores.AsSpan((q0 + q) * k, k));
                result.Means[q0 + q] = Mean(sc);
            }
        }

        return result;
    }

    private static (int[] Other, float[] Score) Best(Neighbourhood nn, float[] meanOther, MarginKind kind)
    {
        var other = new int[nn.Queries];
        var score = new float[nn.Queries];
        for (int q = 0; q < nn.Queries; q++)
        {
            var idx = nn.Indices.AsSpan(q * nn.K, nn.K);
            var sc = nn.Scores.AsSpan(q * nn.K, nn.K);
            int bestIdx = -1;
            float bestScore = float.NegativeInfinity;
            for (int c = 0; c < idx.Length; c++)
            {
                if (idx[c] < 0)
                {
                    continue;
                }

                float s = Margin(kind, sc[c], (nn.Means[q] + meanOther[idx[c]]) / 2f);
                if (s > bestScore)
                {
                    bestScore = s;
                    bestIdx = idx[c];
                }
            }

            other[q] = bestIdx;
            score[q] = bestScore;
        }

        return (other, score);
    }

    /// <summary>Compact k-NN lists of a whole side: int indices (−1 when missing), cosines and their means.</summary>
    private sealed class Neighbourhood(int queries, int k)
    {
        public int Queries { get; } = queries;

        public int K { get; } = k;

        public int[] Indices { get; } = new int[(long)queries * k];

        public float[] Scores { get; } = new float[(long)queries * k];

        public float[] Means { get; } = new float[queries];
    }
}

/// <summary>
/// Cross-domain similarity local scaling (Conneau et al. 2018): CSLS(x, y) = 2·cos(x, y) − r_T(x) − r_S(y), where
/// r_T(x) is the mean cosine of x with its k nearest targets and r_S(y) that of y with its k nearest sources.
/// </summary>
public static class Csls
{
    /// <summary>For every source vector, the <paramref name="neighbours"/> targets with the highest CSLS, best first.</summary>
    /// <param name="source">Normalised source vectors [sourceCount×dim].</param>
    /// <param name="sourceCount">Number of source vectors.</param>
    /// <param name="target">Normalised target vectors [targetCount×dim].</param>
    /// <param name="targetCount">Number of target vectors.</param>
    /// <param name="dim">Dimension.</param>
    /// <param name="k">Neighbourhood size of the hubness penalties (10 in the paper).</param>
    /// <param name="neighbours">How many targets to return per source.</param>
    /// <param name="chunkRows">Rows per streamed chunk.</param>
    /// <param name="backend">The backend the three searches run on (null: the CPU backend).</param>
    public static TopKResult Retrieve(ReadOnlySpan<float> source, int sourceCount, ReadOnlySpan<float> target, int targetCount, int dim, int k = 10, int neighbours = 1, int chunkRows = 4096, IComputeBackend? backend = null)
    {
        var rT = MarginMiner.RowMeans(TopKSearch.Search(source, sourceCount, target, targetCount, dim, Math.Max(1, Math.Min(k, Math.Max(1, targetCount))), chunkRows, backend: backend));
        var rS = MarginMiner.RowMeans(TopKSearch.Search(target, targetCount, source, sourceCount, dim, Math.Max(1, Math.Min(k, Math.Max(1, sourceCount))), chunkRows, backend: backend));
        using var search = new TopKSearch(source, sourceCount, dim, neighbours, backend: backend);
        for (int c0 = 0; c0 < targetCount; c0 += chunkRows)
        {
            int rows = Math.Min(chunkRows, targetCount - c0);
            search.AddChunk(target.Slice(c0 * dim, rows * dim), rows, c0, rS.AsSpan(c0, rows), scale: 2f);
        }

        var result = search.Result;
        for (int q = 0; q < result.Queries; q++)
        {
            for (int c = 0; c < result.K; c++)
            {
                result.Scores[(q * result.K) + c] -= rT[q];
            }
        }

        return result;
    }
}
