// CosineTopK: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
void RetrievalKernels_Insert(__local float* scores, __local int* indices, int start, int keep, float score, int index)
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

__kernel void CosineTopK(__global const float* queries, __global const float* candidates, __global int* topIndices, __global float* topScores, int queryCount, int candidateCount, int dimension, int k)
{
    __local float laneScores[1024];
    __local int laneIndices[1024];
    int query = min((int)get_group_id(0), queryCount - 1);
    int lane = (int)get_local_id(0);
    int keep = min(k, 16);
    int own = lane * 16;
    for (int r = 0; r < keep; r++)
    {
        laneScores[own + r] = -INFINITY;
        laneIndices[own + r] = -1;
    }
    int queryOffset = query * dimension;
    float queryNorm = 0.0f;
    for (int d = 0; d < dimension; d++)
    {
        queryNorm += queries[queryOffset + d] * queries[queryOffset + d];
    }
    queryNorm = sqrt(queryNorm);
    for (int c = lane; c < candidateCount; c += 64)
    {
        float dot_ = 0.0f;
        float norm = 0.0f;
        for (int d = 0; d < dimension; d++)
        {
            float value = candidates[c * dimension + d];
            dot_ += queries[queryOffset + d] * value;
            norm += value * value;
        }
        float denominator = queryNorm * sqrt(norm);
        RetrievalKernels_Insert(laneScores, laneIndices, own, keep, denominator > 0.0f ? dot_ / denominator : 0.0f, c);
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
