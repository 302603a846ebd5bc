namespace NativeAlign.Kernels.Retrieval;

/// <summary>Nearest-neighbour search over sentence embeddings.</summary>
public static partial class RetrievalKernels
{
    /// <summary>Work-items per query.</summary>
    public const int GroupSize = 64;

    /// <summary>The largest k the kernel keeps; slots past it are returned empty.</summary>
    public const int MaxK = 16;

    /// <summary>
    /// The k candidates most cosine-similar to each query, best first. One work-group per query (launch
    /// <c>queryCount · GroupSize</c> work-items): each work-item keeps a sorted top-k of the candidates it strides
    /// over in local memory, then the first work-item merges the group's lists. Empty slots (k larger than the
    /// candidate count or than <see cref="MaxK"/>) hold index −1 and score −∞; a zero vector has similarity 0.
    /// </summary>
    /// <param name="queries">Queries, queryCount × dimension.</param>
    /// <param name="candidates">Candidates, candidateCount × dimension.</param>
    /// <param name="topIndices">Output, queryCount × k candidate indices.</param>
    /// <param name="topScores">Output, queryCount × k cosine similarities.</param>
    /// <param name="queryCount">Number of queries.</param>
    /// <param name="candidateCount">Number of candidates.</param>
    /// <param name="dimension">Embedding width.</param>
    /// <param name="k">Neighbours per query.</param>
    [Kernel(LocalSizeX = GroupSize)]
    public static void CosineTopK(
        ReadOnlyGlobalBuffer<float> queries, ReadOnlyGlobalBuffer<float> candidates, GlobalBuffer<int> topIndices, GlobalBuffer<float> topScores,
        int queryCount, int candidateCount, int dimension, int k)
    {
        LocalBuffer<float> laneScores = LocalMemory.Allocate<float>(GroupSize * MaxK);
        LocalBuffer<int> laneIndices = LocalMemory.Allocate<int>(GroupSize * MaxK);
        int query = Math.Min(WorkItem.GroupId(0), queryCount - 1);
        int lane = WorkItem.LocalId(0);
        int keep = Math.Min(k, MaxK);
        int own = lane * MaxK;
        for (int r = 0; r < keep; r++)
        {
            laneScores[own + r] = float.NegativeInfinity;
            laneIndices[own + r] = -1;
        }

        int queryOffset = query * dimension;
        float queryNorm = 0f;
        for (int d = 0; d < dimension; d++)
        {
            queryNorm += queries[queryOffset + d] * queries[queryOffset + d];
        }

        queryNorm = MathF.Sqrt(queryNorm);
        for (int c = lane; c < candidateCount; c += GroupSize)
        {
            float dot = 0f;
            float norm = 0f;
            for (int d = 0; d < dimension; d++)
            {
                float value = candidates[(c * dimension) + d];
                dot += queries[queryOffset + d] * value;
                norm += value * value;
            }

            float denominator = queryNorm * MathF.Sqrt(norm);
            Insert(laneScores, laneIndices, own, keep, denominator > 0f ? dot / denominator : 0f, c);
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

    /// <summary>Inserts (score, index) into the descending list of <paramref name="keep"/> entries at <paramref name="start"/>.</summary>
    private static void Insert(LocalBuffer<float> scores, LocalBuffer<int> indices, int start, int keep, float score, int index)
    {
        if (index < 0 || keep == 0 || score <= scores[start + keep - 1])
        {
            return;
        }

        int position = keep - 1;
        while (position > 0 && scores[start + position - 1] < score)
        {
            scores[start + position] = scores[start + position - 1];
            indices[start + position] = indices[start + position - 1];
            position--;
        }

        scores[start + position] = score;
        indices[start + position] = index;
    }
}
