namespace NativeAlign.Kernels.Attention;

/// <summary>Multi-head self-attention without materialising the sequence × sequence score matrix.</summary>
public static partial class AttentionKernels
{
    /// <summary>Work-items per (query, head) group; also the largest head dimension and the key tile length.</summary>
    public const int GroupSize = 128;

    /// <summary>
    /// <c>output = softmax(q kᵀ / √headDim + mask) v</c> per head, with the softmax computed online (running maximum
    /// and sum, rescaled per key tile), so memory stays linear in the sequence length. q, k, v and output are
    /// [batch, sequence, heads · headDim] (heads side by side, as the projections produce them); mask is
    /// [batch, sequence] with 1 for a token and 0 for padding, applied to the keys. Launch a 3-D range of
    /// (GroupSize, sequence, batch · heads) work-items: one group per query and head, in which work-item j scores key
    /// (tile start + j) and work-item d accumulates output dimension d. A query whose keys are all masked outputs zeros.
    /// Variants are compiled for head dimensions 32, 64 and 128 (unrolled dot products).
    /// </summary>
    /// <param name="q">Queries.</param>
    /// <param name="k">Keys.</param>
    /// <param name="v">Values.</param>
    /// <param name="mask">Key mask, batch × sequence.</param>
    /// <param name="output">Result, same layout as q.</param>
    /// <param name="sequence">Padded sequence length.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="headDim">Width of a head, at most <see cref="GroupSize"/>.</param>
    [Kernel(LocalSizeX = GroupSize)]
    [Specialize("headDim", 32, 64, 128)]
    public static void Attention(
        ReadOnlyGlobalBuffer<float> q, ReadOnlyGlobalBuffer<float> k, ReadOnlyGlobalBuffer<float> v, ReadOnlyGlobalBuffer<int> mask,
        GlobalBuffer<float> output, int sequence, int heads, int headDim)
    {
        LocalBuffer<float> query = LocalMemory.Allocate<float>(GroupSize);
        LocalBuffer<float> scores = LocalMemory.Allocate<float>(GroupSize);
        int lane = WorkItem.LocalId(0);
        int position = WorkItem.GroupId(1);
        int batchHead = WorkItem.GroupId(2);
        int tokenBase = batchHead / heads * sequence;
        int headOffset = batchHead % heads * headDim;
        int hidden = heads * headDim;

        // The query is staged once, pre-scaled, so each key costs one dot product.
        if (lane < headDim)
        {
            query[lane] = q[((tokenBase + position) * hidden) + headOffset + lane] / MathF.Sqrt((float)headDim);
        }

        WorkItem.Barrier();
        float runningMax = float.NegativeInfinity;
        float runningSum = 0f;
        float accumulator = 0f;
        for (int start = 0; start < sequence; start += GroupSize)
        {
            int key = start + lane;
            float score = float.NegativeInfinity;
            if (key < sequence && mask[tokenBase + key] != 0)
            {
                int keyOffset = ((tokenBase + key) * hidden) + headOffset;
                score = 0f;
                for (int d = 0; d < headDim; d++)
                {
                    score += query[d] * k[keyOffset + d];
                }
            }

            scores[lane] = score;
            WorkItem.Barrier();
            int count = Math.Min(GroupSize, sequence - start);
            float tileMax = float.NegativeInfinity;
            for (int t = 0; t < count; t++)
            {
                tileMax = MathF.Max(tileMax, scores[t]);
            }

            // Every work-item sees the same scores, so this branch is uniform; an all-masked tile changes nothing
            // (and would otherwise compute exp(-inf - -inf) = NaN).
            if (tileMax > float.NegativeInfinity)
            {
                float newMax = MathF.Max(runningMax, tileMax);
                float correction = MathF.Exp(runningMax - newMax);
                runningSum *= correction;
                accumulator *= correction;
                for (int t = 0; t < count; t++)
                {
                    float weight = MathF.Exp(scores[t] - newMax);
                    runningSum += weight;
                    if (lane < headDim)
                    {
                        accumulator += weight * v[((tokenBase + start + t) * hidden) + headOffset + lane];
                    }
                }

                runningMax = newMax;
            }

            // The next tile overwrites scores only after everyone has read this one.
            WorkItem.Barrier();
        }

        if (lane < headDim)
        {
            output[((tokenBase + position) * hidden) + headOffset + lane] = runningSum > 0f ? accumulator / runningSum : 0f;
        }
    }

    /// <summary>
    /// Zeroes the rows of padding tokens: <c>x[r, c] = 0</c> where <c>mask[r] == 0</c>, for a 2-D range of
    /// (columns, rows) work-items. <see cref="Attention"/> computes every query row, padding ones included; the backend
    /// contract wants padding rows of the attention output to be zeros.
    /// </summary>
    /// <param name="x">Matrix, rows × columns, changed in place.</param>
    /// <param name="mask">1 for a token, 0 for padding, rows.</param>
    /// <param name="rows">Rows of x.</param>
    /// <param name="columns">Columns of x.</param>
    [Kernel(LocalSizeX = 64)]
    public static void ZeroPaddingRows(GlobalBuffer<float> x, ReadOnlyGlobalBuffer<int> mask, int rows, int columns)
    {
        int c = WorkItem.GlobalId(0);
        int r = WorkItem.GlobalId(1);
        if (c < columns && r < rows && mask[r] == 0)
        {
            x[(r * columns) + c] = 0f;
        }
    }
}
