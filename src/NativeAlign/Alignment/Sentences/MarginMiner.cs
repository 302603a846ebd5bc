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

    /// <summary>Threads (0 = all cores).</summary>
    public int Threads { get; init; }
}

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

        int kx = Math.Min(options.K, targetCount), ky = Math.Min(options.K, sourceCount);
        if (options.K <= 0)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"mining: k must be positive, got {options.K}");
        }

        var x2y = TopKSearch.Search(source, sourceCount, target, targetCount, dim, kx, options.ChunkRows, options.Threads);
        var y2x = TopKSearch.Search(target, targetCount, source, sourceCount, dim, ky, options.ChunkRows, options.Threads);
        var meanX = RowMeans(x2y);
        var meanY = RowMeans(y2x);

        var fwd = Best(x2y, meanX, meanY, options.Margin);
        var bwd = Best(y2x, meanY, meanX, options.Margin);
        var pairs = new List<MinedPair>();
        switch (options.Strategy)
        {
            case CandidateStrategy.Forward:
                for (int i = 0; i < sourceCount; i++)
                {
                    pairs.Add(new MinedPair(i, fwd[i].Other, fwd[i].Score));
                }

                break;
            case CandidateStrategy.Backward:
                for (int j = 0; j < targetCount; j++)
                {
                    pairs.Add(new MinedPair(bwd[j].Other, j, bwd[j].Score));
                }

                break;
            case CandidateStrategy.Intersection:
                for (int i = 0; i < sourceCount; i++)
                {
                    long j = fwd[i].Other;
                    if (bwd[j].Other == i)
                    {
                        pairs.Add(new MinedPair(i, j, fwd[i].Score));
                    }
                }

                break;
            default:
                var all = new List<MinedPair>(sourceCount + targetCount);
                for (int i = 0; i < sourceCount; i++)
                {
                    all.Add(new MinedPair(i, fwd[i].Other, fwd[i].Score));
                }

                for (int j = 0; j < targetCount; j++)
                {
                    all.Add(new MinedPair(bwd[j].Other, j, bwd[j].Score));
                }

                // Stable sort: forward candidates come before backward ones on equal scores.
                var order = all.Select((p, n) => (p, n)).OrderByDescending(t => t.p.Score).ThenBy(t => t.n);
                var seenSrc = new HashSet<long>();
                var seenTgt = new HashSet<long>();
                foreach (var (p, _) in order)
                {
                    if (!seenSrc.Contains(p.Source) && !seenTgt.Contains(p.Target))
                    {
                        seenSrc.Add(p.Source);
                        seenTgt.Add(p.Target);
                        pairs.Add(p);
                    }
                }

                break;
        }

        return [.. pairs.Where(p => p.Score >= options.Threshold).OrderByDescending(p => p.Score).ThenBy(p => p.Source).ThenBy(p => p.Target)];
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
            double s = 0;
            int n = 0;
            foreach (var x in r.ScoresOf(q))
            {
                if (float.IsFinite(x))
                {
                    s += x;
                    n++;
                }
            }

            means[q] = n == 0 ? 0f : (float)(s / n);
        }

        return means;
    }

    private static (long Other, float Score)[] Best(TopKResult nn, float[] meanSelf, float[] meanOther, MarginKind kind)
    {
        var best = new (long, float)[nn.Queries];
        for (int q = 0; q < nn.Queries; q++)
        {
            var idx = nn.IndicesOf(q);
            var sc = nn.ScoresOf(q);
            long bestIdx = -1;
            float bestScore = float.NegativeInfinity;
            for (int c = 0; c < idx.Length; c++)
            {
                if (idx[c] < 0)
                {
                    continue;
                }

                float s = Margin(kind, sc[c], (meanSelf[q] + meanOther[idx[c]]) / 2f);
                if (s > bestScore)
                {
                    bestScore = s;
                    bestIdx = idx[c];
                }
            }

            best[q] = (bestIdx, bestScore);
        }

        return best;
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
    public static TopKResult Retrieve(ReadOnlySpan<float> source, int sourceCount, ReadOnlySpan<float> target, int targetCount, int dim, int k = 10, int neighbours = 1, int chunkRows = 4096)
    {
        var rT = MarginMiner.RowMeans(TopKSearch.Search(source, sourceCount, target, targetCount, dim, Math.Max(1, Math.Min(k, Math.Max(1, targetCount))), chunkRows));
        var rS = MarginMiner.RowMeans(TopKSearch.Search(target, targetCount, source, sourceCount, dim, Math.Max(1, Math.Min(k, Math.Max(1, sourceCount))), chunkRows));
        var search = new TopKSearch(source, sourceCount, dim, neighbours);
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
