using NativeAlign.Backends;
using NativeAlign.Backends.Cpu;
using NativeAlign.Tensors;

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
/// Exact inner-product top-k search that streams over the corpus on a compute backend (<see cref="BackendOp.TopK"/>):
/// the queries are handed to the backend once, each corpus chunk as it comes, and every chunk's scores are merged into
/// the running top-k of each query. Memory is the chunk plus queries×k — never the queries×corpus matrix (the CPU
/// backend computes blocks of 256 queries × the chunk with one GEMM each). With L2-normalised vectors
/// (<see cref="Normalize"/>) the scores are cosine similarities.
/// </summary>
/// <remarks>
/// An optional per-corpus-row bias is subtracted from the scores before selection (score = scale·q·c − bias[c]),
/// which turns the same search into CSLS retrieval (2·cos − r(c)). Ties keep the lower corpus index first; NaN scores
/// are never selected.
/// </remarks>
public sealed class TopKSearch : IDisposable
{
    private readonly int _dim;
    private readonly TopKResult _result;
    private readonly IComputeBackend _backend;
    private readonly bool _ownsBackend;
    private readonly BackendMatrix _queries;

    /// <summary>
    /// Prepares a search of <paramref name="queryCount"/> queries [queryCount×dim] for the <paramref name="k"/> best corpus
    /// rows on <paramref name="backend"/> (null: the CPU backend with <paramref name="threads"/> threads, 0 = all cores).
    /// </summary>
    public TopKSearch(ReadOnlySpan<float> queries, int queryCount, int dim, int k, int threads = 0, IComputeBackend? backend = null)
        : this(Checked(queries, queryCount, dim), queryCount, dim, k, threads, backend)
    {
    }

    /// <summary>
    /// Searches with the first <paramref name="queryCount"/> rows of <paramref name="queries"/>, which the caller lends
    /// (not copied on a host backend; it must not change until the search is done): a streamed search reuses one block buffer.
    /// </summary>
    internal TopKSearch(float[] queries, int queryCount, int dim, int k, int threads, IComputeBackend? backend)
    {
        if (queryCount < 0 || dim <= 0 || (long)queryCount * dim > queries.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"top-k: {queryCount} queries × {dim} dimensions do not fit {queries.Length} values");
        }

        if (k <= 0 || k > 4096)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"top-k: k must be in 1..4096, got {k}");
        }

        _ownsBackend = backend is null;
        _backend = backend ?? new CpuBackend { Threads = threads };
        try
        {
            _backend.Require(new OpSpec(BackendOp.TopK, WeightType.F32, 0, dim) { K = k });
            _dim = dim;
            _result = new TopKResult(queryCount, k);
            _queries = _backend.Borrow(queries.AsMemory(0, queryCount * dim), queryCount, dim);
        }
        catch
        {
            if (_ownsBackend)
            {
                _backend.Dispose();
            }

            throw;
        }
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

        // The chunk is pinned and lent, not copied, on a host backend: the caller's buffer stays the only copy in memory.
        unsafe
        {
            fixed (float* pChunk = chunk)
            {
                using var pinned = new PinnedFloats(pChunk, chunk.Length);
                using var corpus = _backend.Borrow(pinned.Memory, rows, _dim);
                _backend.TopK(_queries, corpus, firstIndex, bias, scale, _result.Indices, _result.Scores);
            }
        }
    }

    /// <summary>Releases the queries' backend copy (and the backend, when the search made its own).</summary>
    public void Dispose()
    {
        _queries.Dispose();
        if (_ownsBackend)
        {
            _backend.Dispose();
        }
    }

    /// <summary>Searches an in-memory corpus chunk by chunk (<paramref name="chunkRows"/> rows at a time).</summary>
    public static TopKResult Search(
        ReadOnlySpan<float> queries, int queryCount, ReadOnlySpan<float> corpus, int corpusCount, int dim, int k, int chunkRows = 4096, int threads = 0, IComputeBackend? backend = null)
    {
        if (corpusCount < 0 || (long)corpusCount * dim != corpus.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"top-k: {corpusCount} corpus rows × {dim} dimensions do not match {corpus.Length} values");
        }

        using var search = new TopKSearch(queries, queryCount, dim, k, threads, backend);
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
