namespace NativeAlign.Kernels.Attention;

/// <summary>Multi-head self-attention without materialising the sequence × sequence score matrix.</summary>
public static partial class AttentionKernels
{
    /// <summary>Queries (work-items) per work-group.</summary>
    public const int QueriesPerGroup = 16;

    /// <summary>The largest head dimension: the length of each work-item's accumulator in local memory.</summary>
    public const int MaxHeadDim = 128;

    /// <summary>
    /// <c>output = softmax(q kᵀ / √headDim + mask) v</c> per head, with the softmax computed online (running maximum
    /// and sum, the accumulator rescaled when the maximum grows), so memory stays linear in the sequence length. q, k,
    /// v and output are [batch, sequence, heads · headDim] (heads side by side, as the projections produce them); mask
    /// is [batch, sequence] with 1 for a token and 0 for padding. Launch a 2-D range of (sequence, batch · heads)
    /// work-items in groups of <see cref="QueriesPerGroup"/> along the sequence: work-item (i, bh) computes query i of
    /// head bh over the unmasked keys. Padding queries, and queries with no unmasked key, output zeros. Variants are
    /// compiled for head dimensions 32, 64 and 128 (loops of known length).
    /// </summary>
    /// <remarks>
    /// Each work-item keeps its output row in its own slice of local memory, so no barrier is needed: on PoCL a
    /// barrier-free kernel whose inner loops run along the head dimension vectorises, while the former layout (one
    /// work-group of 128 per query, barriers per key tile) left most work-items idle at these short sequences and
    /// measured about 35 times slower on the default model's Tatoeba batches. Masked keys are skipped rather than
    /// scored -∞, so no infinity meets the relaxed float math the program is built with.
    /// </remarks>
    /// <param name="q">Queries.</param>
    /// <param name="k">Keys.</param>
    /// <param name="v">Values.</param>
    /// <param name="mask">Token mask, batch × sequence.</param>
    /// <param name="output">Result, same layout as q.</param>
    /// <param name="sequence">Padded sequence length.</param>
    /// <param name="heads">Number of heads.</param>
    /// <param name="headDim">Width of a head, at most <see cref="MaxHeadDim"/>.</param>
    [Kernel(LocalSizeX = QueriesPerGroup, UnsafeMathOptimizations = true)]
    [Specialize("headDim", 32, 64, 128)]
    public static void Attention(
        ReadOnlyGlobalBuffer<float> q, ReadOnlyGlobalBuffer<float> k, ReadOnlyGlobalBuffer<float> v, ReadOnlyGlobalBuffer<int> mask,
        GlobalBuffer<float> output, int sequence, int heads, int headDim)
    {
        LocalBuffer<float> accumulators = LocalMemory.Allocate<float>(QueriesPerGroup * MaxHeadDim);
        int position = WorkItem.GlobalId(0);
        int batchHead = WorkItem.GlobalId(1);
        if (position >= sequence)
        {
            return;
        }

        int tokenBase = batchHead / heads * sequence;
        int hidden = heads * headDim;
        int rowOffset = ((tokenBase + position) * hidden) + (batchHead % heads * headDim);
        if (mask[tokenBase + position] == 0)
        {
            for (int d = 0; d < headDim; d++)
            {
                output[rowOffset + d] = 0f;
            }

            return;
        }

        int slot = WorkItem.LocalId(0) * MaxHeadDim;
        for (int d = 0; d < headDim; d++)
        {
            accumulators[slot + d] = 0f;
        }

        float scale = 1f / MathF.Sqrt((float)headDim);
        float runningMax = 0f;
        float runningSum = 0f;
        for (int key = 0; key < sequence; key++)
        {
            if (mask[tokenBase + key] != 0)
            {
                // Keys of this head sit at the same offset in their rows as the query does in its own.
                int keyOffset = rowOffset + ((key - position) * hidden);
                float score = 0f;
                for (int d = 0; d < headDim; d++)
                {
                    score += q[rowOffset + d] * k[keyOffset + d];
                }

                score *= scale;

                // The first key sets the maximum; a larger one later rescales what has been summed so far.
                if (runningSum == 0f)
                {
                    runningMax = score;
                }
                else if (score > runningMax)
                {
                    float correction = MathF.Exp(runningMax - score);
                    runningSum *= correction;
                    for (int d = 0; d < headDim; d++)
                    {
                        accumulators[slot + d] *= correction;
                    }

                    runningMax = score;
                }

                float weight = MathF.Exp(score - runningMax);
                runningSum += weight;
                for (int d = 0; d < headDim; d++)
                {
                    accumulators[slot + d] += weight * v[keyOffset + d];
                }
            }
        }

        float inverse = runningSum > 0f ? 1f / runningSum : 0f;
        for (int d = 0; d < headDim; d++)
        {
            output[rowOffset + d] = accumulators[slot + d] * inverse;
        }
    }
}
