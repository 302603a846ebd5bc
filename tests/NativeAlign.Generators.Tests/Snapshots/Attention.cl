// Attention: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void Attention(__global const float* q, __global const float* k, __global const float* v, __global const int* mask, __global float* output, int sequence, int heads, int headDim)
{
    __local float accumulators[2048];
    int position = (int)get_global_id(0);
    int batchHead = (int)get_global_id(1);
    if (position >= sequence)
    {
        return;
    }
    int tokenBase = batchHead / heads * sequence;
    int hidden = heads * headDim;
    int rowOffset = (tokenBase + position) * hidden + batchHead % heads * headDim;
    if (mask[tokenBase + position] == 0)
    {
        for (int d = 0; d < headDim; d++)
        {
            output[rowOffset + d] = 0.0f;
        }
        return;
    }
    int slot = (int)get_local_id(0) * 128;
    for (int d = 0; d < headDim; d++)
    {
        accumulators[slot + d] = 0.0f;
    }
    float scale = 1.0f / sqrt((float)headDim);
    float runningMax = 0.0f;
    float runningSum = 0.0f;
    for (int key = 0; key < sequence; key++)
    {
        if (mask[tokenBase + key] != 0)
        {
            int keyOffset = rowOffset + (key - position) * hidden;
            float score = 0.0f;
            for (int d = 0; d < headDim; d++)
            {
                score += q[rowOffset + d] * k[keyOffset + d];
            }
            score *= scale;
            if (runningSum == 0.0f)
            {
                runningMax = score;
            }
            else if (score > runningMax)
            {
                float correction = exp(runningMax - score);
                runningSum *= correction;
                for (int d = 0; d < headDim; d++)
                {
                    accumulators[slot + d] *= correction;
                }
                runningMax = score;
            }
            float weight = exp(score - runningMax);
            runningSum += weight;
            for (int d = 0; d < headDim; d++)
            {
                accumulators[slot + d] += weight * v[keyOffset + d];
            }
        }
    }
    float inverse = runningSum > 0.0f ? 1.0f / runningSum : 0.0f;
    for (int d = 0; d < headDim; d++)
    {
        output[rowOffset + d] = accumulators[slot + d] * inverse;
    }
}

// Attention with headDim = 32
__kernel void Attention_headDim32(__global const float* q, __global const float* k, __global const float* v, __global const int* mask, __global float* output, int sequence, int heads, int headDim)
{
    __local float accumulators[2048];
    int position = (int)get_global_id(0);
    int batchHead = (int)get_global_id(1);
    if (position >= sequence)
    {
        return;
    }
    int tokenBase = batchHead / heads * sequence;
    int hidden = heads * 32;
    int rowOffset = (tokenBase + position) * hidden + batchHead % heads * 32;
    if (mask[tokenBase + position] == 0)
    {
        for (int d = 0; d < 32; d++)
        {
            output[rowOffset + d] = 0.0f;
        }
        return;
    }
    int slot = (int)get_local_id(0) * 128;
    for (int d = 0; d < 32; d++)
    {
        accumulators[slot + d] = 0.0f;
    }
    float scale = 1.0f / sqrt((float)32);
    float runningMax = 0.0f;
    float runningSum = 0.0f;
    for (int key = 0; key < sequence; key++)
    {
        if (mask[tokenBase + key] != 0)
        {
            int keyOffset = rowOffset + (key - position) * hidden;
            float score = 0.0f;
            for (int d = 0; d < 32; d++)
            {
                score += q[rowOffset + d] * k[keyOffset + d];
            }
            score *= scale;
            if (runningSum == 0.0f)
            {
                runningMax = score;
            }
            else if (score > runningMax)
            {
                float correction = exp(runningMax - score);
                runningSum *= correction;
                for (int d = 0; d < 32; d++)
                {
                    accumulators[slot + d] *= correction;
                }
                runningMax = score;
            }
            float weight = exp(score - runningMax);
            runningSum += weight;
            for (int d = 0; d < 32; d++)
            {
                accumulators[slot + d] += weight * v[keyOffset + d];
            }
        }
    }
    float inverse = runningSum > 0.0f ? 1.0f / runningSum : 0.0f;
    for (int d = 0; d < 32; d++)
    {
        output[rowOffset + d] = accumulators[slot + d] * inverse;
    }
}

// Attention with headDim = 64
__kernel void Attention_headDim64(__global const float* q, __global const float* k, __global const float* v, __global const int* mask, __global float* output, int sequence, int heads, int headDim)
{
    __local float accumulators[2048];
    int position = (int)get_global_id(0);
    int batchHead = (int)get_global_id(1);
    if (position >= sequence)
    {
        return;
    }
    int tokenBase = batchHead / heads * sequence;
    int hidden = heads * 64;
    int rowOffset = (tokenBase + position) * hidden + batchHead % heads * 64;
    if (mask[tokenBase + position] == 0)
    {
        for (int d = 0; d < 64; d++)
        {
            output[rowOffset + d] = 0.0f;
        }
        return;
    }
    int slot = (int)get_local_id(0) * 128;
    for (int d = 0; d < 64; d++)
    {
        accumulators[slot + d] = 0.0f;
    }
    float scale = 1.0f / sqrt((float)64);
    float runningMax = 0.0f;
    float runningSum = 0.0f;
    for (int key = 0; key < sequence; key++)
    {
        if (mask[tokenBase + key] != 0)
        {
            int keyOffset = rowOffset + (key - position) * hidden;
            float score = 0.0f;
            for (int d = 0; d < 64; d++)
            {
                score += q[rowOffset + d] * k[keyOffset + d];
            }
            score *= scale;
            if (runningSum == 0.0f)
            {
                runningMax = score;
            }
            else if (score > runningMax)
            {
                float correction = exp(runningMax - score);
                runningSum *= correction;
                for (int d = 0; d < 64; d++)
                {
                    accumulators[slot + d] *= correction;
                }
                runningMax = score;
            }
            float weight = exp(score - runningMax);
            runningSum += weight;
            for (int d = 0; d < 64; d++)
            {
                accumulators[slot + d] += weight * v[keyOffset + d];
            }
        }
    }
    float inverse = runningSum > 0.0f ? 1.0f / runningSum : 0.0f;
    for (int d = 0; d < 64; d++)
    {
        output[rowOffset + d] = accumulators[slot + d] * inverse;
    }
}

// Attention with headDim = 128
__kernel void Attention_headDim128(__global const float* q, __global const float* k, __global const float* v, __global const int* mask, __global float* output, int sequence, int heads, int headDim)
{
    __local float accumulators[2048];
    int position = (int)get_global_id(0);
    int batchHead = (int)get_global_id(1);
    if (position >= sequence)
    {
        return;
    }
    int tokenBase = batchHead / heads * sequence;
    int hidden = heads * 128;
    int rowOffset = (tokenBase + position) * hidden + batchHead % heads * 128;
    if (mask[tokenBase + position] == 0)
    {
        for (int d = 0; d < 128; d++)
        {
            output[rowOffset + d] = 0.0f;
        }
        return;
    }
    int slot = (int)get_local_id(0) * 128;
    for (int d = 0; d < 128; d++)
    {
        accumulators[slot + d] = 0.0f;
    }
    float scale = 1.0f / sqrt((float)128);
    float runningMax = 0.0f;
    float runningSum = 0.0f;
    for (int key = 0; key < sequence; key++)
    {
        if (mask[tokenBase + key] != 0)
        {
            int keyOffset = rowOffset + (key - position) * hidden;
            float score = 0.0f;
            for (int d = 0; d < 128; d++)
            {
                score += q[rowOffset + d] * k[keyOffset + d];
            }
            score *= scale;
            if (runningSum == 0.0f)
            {
                runningMax = score;
            }
            else if (score > runningMax)
            {
                float correction = exp(runningMax - score);
                runningSum *= correction;
                for (int d = 0; d < 128; d++)
                {
                    accumulators[slot + d] *= correction;
                }
                runningMax = score;
            }
            float weight = exp(score - runningMax);
            runningSum += weight;
            for (int d = 0; d < 128; d++)
            {
                accumulators[slot + d] += weight * v[keyOffset + d];
            }
        }
    }
    float inverse = runningSum > 0.0f ? 1.0f / runningSum : 0.0f;
    for (int d = 0; d < 128; d++)
    {
        output[rowOffset + d] = accumulators[slot + d] * inverse;
    }
}
