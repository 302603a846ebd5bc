namespace NativeAlign.Kernels.Retrieval;

/// <summary>Nearest-neighbour search over sentence embeddings.</summary>
public static partial class RetrievalKernels
{
    /// <summary>Work-items per query.</summary>
    public const int GroupSize = 64;

    /// <summary>The largest k the kernel keeps.</summary>
    public const int MaxK = 16;

    /// <summary>
    /// The k corpus rows with the highest score·scale·(q·c) − bias[c] for each query, best first: one chunk of a streamed
    /// search (the host merges chunks). One work-group per query (launch <c>queryCount · GroupSize</c> work-items): each
    /// work-item keeps a sorted top-k of the rows it strides over in local memory, then the first work-item merges the
    /// group's lists. The order is total — higher score first, equal scores by lower row — so the result does not depend
    /// on how rows were spread over work-items; NaN scores are never kept. Empty slots hold row −1 and score −∞.
    /// </summary>
    /// <param name="queries">Queries, queryCount × dimension.</param>
    /// <param name="corpus">Corpus rows, corpusCount × dimension.</param>
    /// <param name="bias">Per-row bias subtracted after scaling (read only when <paramref name="hasBias"/> is 1).</param>
    /// <param name="topIndices">Output, queryCount × k corpus rows (chunk-local).</param>
    /// <param name="topScores">Output, queryCount × k scores.</param>
    /// <param name="queryCount">Number of queries.</param>
    /// <param name="corpusCount">Number of corpus rows.</param>
    /// <param name="dimension">Vector width.</param>
    /// <param name="k">Rows kept per query (at most <see cref="MaxK"/>).</param>
    /// <param name="scale">Factor on the inner product.</param>
    /// <param name="hasBias">1 when <paramref name="bias"/> holds one value per corpus row, 0 for none.</param>
    [Kernel(LocalSizeX = GroupSize)]
    public static void InnerProductTopK(
        ReadOnlyGlobalBuffer<float> queries, ReadOnlyGlobalBuffer<float> corpus, ReadOnlyGlobalBuffer<float> bias, GlobalBuffer<int> topIndices, GlobalBuffer<float> topScores,
        int queryCount, int corpusCount, int dimension, int k, float scale, int hasBias)
    {
        LocalBuffer<float> laneScores = LocalMemory.Allocate<float>(GroupSize * MaxK);
        LocalBuffer<int> laneIndices = LocalMemory.Allocate<int>(GroupSize * MaxK);
        int query = Math.Min(WorkItem.GroupId(0), queryCount - 1);
        int lane = WorkItem.LocalId(0);
        int keep = Math.Max(0, Math.Min(k, MaxK));
        int own = lane * MaxK;
        for (int r = 0; r < keep; r++)
        {
            laneScores[own + r] = float.NegativeInfinity;
            laneIndices[own + r] = -1;
        }

        int queryOffset = query * dimension;
        for (int c = lane; c < corpusCount; c += GroupSize)
        {
            float dot = 0f;
            for (int d = 0; d < dimension; d++)
            {
                dot += queries[queryOffset + d] * corpus[(c * dimension) + d];
            }

            float score = (dot * scale) - (hasBias == 1 ? bias[c] : 0f);
            Insert(laneScores, laneIndices, own, keep, score, c);
        }

        WorkItem.Barrier();
        if (lane == 0)
        {
            for (int other = 1; other < GroupSize; other++)
            {
                for (int r = 0; r < keep; r++)
                {
                    Insert(laneScores, laneIndices, 0, keep, laneScores[(other * MaxK) + r], laneIndices[(other * MaxK) + r]);
                }
            }

            for (int r = 0; r < k; r++)
            {
                topScores[(query * k) + r] = r < keep ? laneScores[r] : float.NegativeInfinity;
                topIndices[(query * k) + r] = r < keep ? laneIndices[r] : -1;
            }
        }
    }

    /// <summary>Whether (score, index) comes before (otherScore, otherIndex): higher score, then lower index; NaN never does.</summary>
    private static bool Precedes(float score, int index, float otherScore, int otherIndex) =>
        score > otherScore || (score == otherScore && index < otherIndex);

    /// <summary>Inserts (score, index) into the ordered list of <paramref name="keep"/> entries at <paramref name="start"/>.</summary>
    private static void Insert(LocalBuffer<float> scores, LocalBuffer<int> indices, int start, int keep, float score, int index)
    {
        if (index < 0 || keep == 0 || !Precedes(score, index, scores[start + keep - 1], indices[start + keep - 1]))
        {
            return;
        }

        int position = keep - 1;
        while (position > 0 && Precedes(score, index, scores[start + position - 1], indices[start + position - 1]))
        {
            scores[start + position] = scores[start + position - 1];
            indices[start + position] = indices[start + position - 1];
            position--;
        }

        scores[start + position] = score;
        indices[start + position] = index;
    }
}
