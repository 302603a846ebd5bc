using System.Runtime.Intrinsics;
using NativeAlign.Backends.Cpu;

namespace NativeAlign.Alignment.Sentences;

/// <summary>The k best corpus rows of every query, best first: <see cref="Indices"/> and <see cref="Scores"/> are queries×k.</summary>
public sealed class TopKResult
{
    internal TopKResult(int queries, int k)
    {
        Queries = queries;
        K = k;
        Indices = new long[queries * k];
        Scores = new float[queries * k];
        Array.Fill(Indices, -1);
        Array.Fill(Scores, float.NegativeInfinity);
    }

    /// <summary>Number of queries.</summary>
    public int Queries { get; }

    /// <summary>Neighbours kept per query.</summary>
    public int K { get; }

    /// <summary>Corpus row of each neighbour (−1 when the corpus had fewer than k rows), queries×k, best first.</summary>
    public long[] Indices { get; }

    /// <summary>Score of each neighbour, queries×k, descending; −∞ for missing neighbours.</summary>
    public float[] Scores { get; }

    /// <summary>The neighbours of query <paramref name="q"/>.</summary>
    public ReadOnlySpan<long> IndicesOf(int q) => Indices.AsSpan(q * K, K);

    /// <summary>The scores of query <paramref name="q"/>.</summary>
    public ReadOnlySpan<float> ScoresOf(int q) => Scores.AsSpan(q * K, K);
}

/// <summary>
/// Exact inner-product top-k search that streams over the corpus: the corpus is fed in chunks, each query block ×
/// chunk product is computed with <see cref="GemmF32"/> into a buffer of blockRows × chunkRows floats, and every row of
/// that buffer is merged into the running top-k of its query. Memory is the chunk buffers plus queries×k — never the
/// queries×corpus matrix. With L2-normalised vectors (<see cref="Normalize"/>) the scores are cosine similarities.
/// </summary>
/// <remarks>
/// An optional per-corpus-row bias is subtracted from the scores before selection (score = scale·q·c − bias[c]),
/// which turns the same search into CSLS retrieval (2·cos − r(c)). Ties keep the lower corpus index first.
/// </remarks>
public sealed class TopKSearch
{
    private const int QueryBlock = 256;
    private readonly float[] _queries;
    private readonly int _dim;
    private readonly TopKResult _result;
    private readonly int _threads;

    /// <summary>Prepares a search of <paramref name="queryCount"/> queries [queryCount×dim] for the <paramref name="k"/> best corpus rows.</summary>
    public TopKSearch(ReadOnlySpan<float> queries, int queryCount, int dim, int k, int threads = 0)
        : this(Checked(queries, queryCount, dim), queryCount, dim, k, threads)
    {
    }

    /// <summary>
    /// Searches with the first <paramref name="queryCount"/> rows of <paramref name="queries"/>, which the caller lends
    /// (not copied; it must not change until the search is done): a streamed search reuses one block buffer.
    /// </summary>
    internal TopKSearch(float[] queries, int queryCount, int dim, int k, int threads)
    {
        if (queryCount < 0 || dim <= 0 || (long)queryCount * dim > queries.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"top-k: {queryCount} queries × {dim} dimensions do not fit {queries.Length} values");
        }

        if (k <= 0 || k > 4096)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"top-k: k must be in 1..4096, got {k}");
        }

        _queries = queries;
        _dim = dim;
        _result = new TopKResult(queryCount, k);
        _threads = threads <= 0 ? Environment.ProcessorCount : threads;
    }

    private static float[] Checked(ReadOnlySpan<float> queries, int queryCount, int dim)
    {
        if (queryCount < 0 || dim <= 0 || (long)queryCount * dim != queries.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"top-k: {queryCount} queries × {dim} dimensions do not match {queries.Length} values");
        }

        return queries.ToArray();
    }

    /// <summary>The running result; complete once every corpus chunk has been added.</summary>
    public TopKResult Result => _result;

    /// <summary>
    /// Merges one corpus chunk [rows×dim] whose first row is corpus row <paramref name="firstIndex"/>.
    /// <paramref name="bias"/> (length rows, or empty) is subtracted from the chunk's scores after scaling by
    /// <paramref name="scale"/>.
    /// </summary>
    public void AddChunk(ReadOnlySpan<float> chunk, int rows, long firstIndex, ReadOnlySpan<float> bias = default, float scale = 1f)
    {
        if (rows < 0 || (long)rows * _dim != chunk.Length || (!bias.IsEmpty && bias.Length != rows))
        {
            throw new NativeAlignException(ErrorKind.Usage, $"top-k chunk: {rows} rows × {_dim} dimensions do not match {chunk.Length} values (bias {bias.Length})");
        }

        if (rows == 0 || _result.Queries == 0)
        {
            return;
        }

        // The chunk is pinned, not copied: the caller's buffer is the only copy of the corpus rows in memory.
        unsafe
        {
            fixed (float* pChunk = chunk, pBias = bias)
            {
                AddPinned((nint)pChunk, rows, firstIndex, bias.IsEmpty ? 0 : (nint)pBias, scale);
            }
        }
    }

    private unsafe void AddPinned(nint chunkPtr, int rows, long firstIndex, nint biasPtr, float scale)
    {
        int blocks = (_result.Queries + QueryBlock - 1) / QueryBlock;
        int workers = Math.Max(1, Math.Min(_threads, blocks));
        int next = -1;
        void Work()
        {
            var chunk = new ReadOnlySpan<float>((float*)chunkPtr, rows * _dim);
            var bias = biasPtr == 0 ? default : new ReadOnlySpan<float>((float*)biasPtr, rows);
            var buffer = new float[QueryBlock * rows];
            while (true)
            {
                int b = Interlocked.Increment(ref next);
                if (b >= blocks)
                {
                    return;
                }

                int q0 = b * QueryBlock, qn = Math.Min(QueryBlock, _result.Queries - q0);
                GemmF32.Compute(qn, rows, _dim, _queries.AsSpan(q0 * _dim, qn * _dim), _dim, chunk, _dim, transposeB: true, buffer, rows);
                for (int r = 0; r < qn; r++)
                {
                    var row = buffer.AsSpan(r * rows, rows);
                    if (scale != 1f || !bias.IsEmpty)
                    {
                        for (int c = 0; c < rows; c++)
                        {
                            row[c] = (row[c] * scale) - (bias.IsEmpty ? 0f : bias[c]);
                        }
                    }

                    Merge(row, firstIndex, _result.Indices.AsSpan((q0 + r) * _result.K, _result.K), _result.Scores.AsSpan((q0 + r) * _result.K, _result.K));
                }
            }
        }

        if (workers == 1)
        {
            Work();
            return;
        }

        var tasks = new Task[workers - 1];
        for (int t = 0; t < tasks.Length; t++)
        {
            tasks[t] = Task.Run(Work);
        }

        Work();
        Task.WaitAll(tasks);
    }

    /// <summary>Merges a row of scores into a descending top-k list; a vector compare skips blocks below the current k-th score.</summary>
    internal static void Merge(ReadOnlySpan<float> row, long firstIndex, Span<long> idx, Span<float> sc)
    {
        int k = sc.Length;
        float floor = sc[k - 1];
        int c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; c <= row.Length - 16; c += 16)
            {
                var v = Vector512.Create(row.Slice(c, 16));
                if (Vector512.GreaterThanAny(v, Vector512.Create(floor)))
                {
                    for (int l = 0; l < 16; l++)
                    {
                        if (row[c + l] > floor)
                        {
                            Insert(row[c + l], firstIndex + c + l, idx, sc);
                            floor = sc[k - 1];
                        }
                    }
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; c <= row.Length - 8; c += 8)
            {
                var v = Vector256.Create(row.Slice(c, 8));
                if (Vector256.GreaterThanAny(v, Vector256.Create(floor)))
                {
                    for (int l = 0; l < 8; l++)
                    {
                        if (row[c + l] > floor)
                        {
                            Insert(row[c + l], firstIndex + c + l, idx, sc);
                            floor = sc[k - 1];
                        }
                    }
                }
            }
        }

        for (; c < row.Length; c++)
        {
            if (row[c] > floor)
            {
                Insert(row[c], firstIndex + c, idx, sc);
                floor = sc[k - 1];
            }
        }
    }

    private static void Insert(float score, long index, Span<long> idx, Span<float> sc)
    {
        // Strictly greater than the k-th: equal scores keep the earlier (lower) corpus index.
        int p = sc.Length - 1;
        while (p > 0 && sc[p - 1] < score)
        {
            sc[p] = sc[p - 1];
            idx[p] = idx[p - 1];
            p--;
        }

        sc[p] = score;
        idx[p] = index;
    }

    /// <summary>Searches an in-memory corpus chunk by chunk (<paramref name="chunkRows"/> rows at a time).</summary>
    public static TopKResult Search(
        ReadOnlySpan<float> queries, int queryCount, ReadOnlySpan<float> corpus, int corpusCount, int dim, int k, int chunkRows = 4096, int threads = 0)
    {
        if (corpusCount < 0 || (long)corpusCount * dim != corpus.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"top-k: {corpusCount} corpus rows × {dim} dimensions do not match {corpus.Length} values");
        }

        var search = new TopKSearch(queries, queryCount, dim, k, threads);
        chunkRows = Math.Max(1, chunkRows);
        for (int c0 = 0; c0 < corpusCount; c0 += chunkRows)
        {
            int rows = Math.Min(chunkRows, corpusCount - c0);
            search.AddChunk(corpus.Slice(c0 * dim, rows * dim), rows, c0);
        }

        return search.Result;
    }

    /// <summary>Scales each of the <paramref name="rows"/> vectors to unit L2 norm in place (zero vectors stay zero).</summary>
    public static void Normalize(Span<float> vectors, int rows, int dim)
    {
        if ((long)rows * dim != vectors.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"normalize: {rows}×{dim} does not match {vectors.Length} values");
        }

        for (int r = 0; r < rows; r++)
        {
            var v = vectors.Slice(r * dim, dim);
            double s = 0;
            foreach (var x in v)
            {
                s += (double)x * x;
            }

            if (s > 0)
            {
                float inv = (float)(1 / Math.Sqrt(s));
                for (int d = 0; d < dim; d++)
                {
                    v[d] *= inv;
                }
            }
        }
    }
}
