using NativeAlign.Tensors;

namespace NativeAlign.Backends.Cpu;

/// <summary>
/// The CPU backend's <see cref="BackendOp.TopK"/>: each block of up to 256 queries × the corpus chunk is one
/// <see cref="GemmF32"/> product into a block × chunk buffer, and every row of that buffer is merged into its query's
/// list. Query blocks are spread over the cores; memory is the block buffers, never queries × corpus.
/// </summary>
internal static class CpuTopK
{
    private const int QueryBlock = 256;

    public static void Run(HostMatrix queries, HostMatrix corpus, long firstIndex, ReadOnlySpan<float> bias, float scale, Span<long> indices, Span<float> scores, int threads)
    {
        int k = TopKLists.Check(queries, corpus, bias, indices, scores, "cpu");
        if (k == 0 || corpus.Rows == 0)
        {
            return;
        }

        unsafe
        {
            fixed (float* pBias = bias)
            fixed (long* pIdx = indices)
            fixed (float* pScores = scores)
            {
                Blocks(queries, corpus, firstIndex, bias.IsEmpty ? 0 : (nint)pBias, scale, k, (nint)pIdx, (nint)pScores, threads);
            }
        }
    }

    private static unsafe void Blocks(HostMatrix queries, HostMatrix corpus, long firstIndex, nint biasPtr, float scale, int k, nint idxPtr, nint scorePtr, int threads)
    {
        int rows = corpus.Rows, dim = queries.Columns, count = queries.Rows;
        int blocks = (count + QueryBlock - 1) / QueryBlock;
        int workers = Math.Max(1, Math.Min(threads <= 0 ? Environment.ProcessorCount : threads, blocks));
        int next = -1;
        void Work()
        {
            var bias = biasPtr == 0 ? default : new ReadOnlySpan<float>((float*)biasPtr, rows);
            var buffer = new float[QueryBlock * rows];
            while (true)
            {
                int b = Interlocked.Increment(ref next);
                if (b >= blocks)
                {
                    return;
                }

                int q0 = b * QueryBlock, qn = Math.Min(QueryBlock, count - q0);
                GemmF32.Compute(qn, rows, dim, queries.Span.Slice(q0 * dim, qn * dim), dim, corpus.Span, dim, transposeB: true, buffer, rows);
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

                    long list = (long)(q0 + r) * k;
                    TopKLists.MergeRow(row, firstIndex, new Span<long>((long*)idxPtr + list, k), new Span<float>((float*)scorePtr + list, k));
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
}
