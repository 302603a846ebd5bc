// InnerProductTopK: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
bool RetrievalKernels_Precedes(float score, int index, float otherScore, int otherIndex)
{
    return score > otherScore || (score == otherScore && index < otherIndex);
}

void RetrievalKernels_Insert(__local float* scores, __local int* indices, int start, int keep, float score, int index)
{
    if (index < 0 || keep == 0 || !RetrievalKernels_Precedes(score, index, scores[start + keep - 1], indices[start + keep - 1]))
    {
        return;
    }
    int position = keep - 1;
    while (position > 0 && RetrievalKernels_Precedes(score, index, scores[start + position - 1], indices[start + position - 1]))
    {
        scores[start + position] = scores[start + position - 1];
        indices[start + position] = indices[start + position - 1];
        position--;
    }
    scores[start + position] = score;
    indices[start + position] = index;
}

__kernel void InnerProductTopK(__global const float* queries, __global const float* corpus, __global const float* bias, __global int* topIndices, __global float* topScores, int queryCount, int corpusCount, int dimension, int k, float scale, int hasBias)
{
    __local float laneScores[1024];
    __local int laneIndices[1024];
    int query = min((int)get_group_id(0), queryCount - 1);
    int lane = (int)get_local_id(0);
    int keep = max(0, min(k, 16));
    int own = lane * 16;
    for (int r = 0; r < keep; r++)
    {
        laneScores[own + r] = -INFINITY;
        laneIndices[own + r] = -1;
    }
    int queryOffset = query * dimension;
    for (int c = lane; c < corpusCount; c += 64)
    {
        float dot_ = 0.0f;
        for (int d = 0; d < dimension; d++)
        {
            dot_ += queries[queryOffset + d] * corpus[c * dimension + d];
        }
        float score = dot_ * scale - (hasBias == 1 ? bias[c] : 0.0f);
        RetrievalKernels_Insert(laneScores, laneIndices, own, keep, score, c);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lane == 0)
    {
        for (int other = 1; other < 64; other++)
        {
            for (int r = 0; r < keep; r++)
            {
                RetrievalKernels_Insert(laneScores, laneIndices, 0, keep, laneScores[other * 16 + r], laneIndices[other * 16 + r]);
            }
        }
        for (int r = 0; r < k; r++)
        {
            topScores[query * k + r] = r < keep ? laneScores[r] : -INFINITY;
            topIndices[query * k + r] = r < keep ? laneIndices[r] : -1;
        }
    }
}
