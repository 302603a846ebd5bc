// Attention: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void Attention(__global const float* q, __global const float* k, __global const float* v, __global const int* mask, __global float* output, int sequence, int heads, int headDim)
{
    __local float query[128];
    __local float scores[128];
    int lane = (int)get_local_id(0);
    int position = (int)get_group_id(1);
    int batchHead = (int)get_group_id(2);
    int tokenBase = batchHead / heads * sequence;
    int headOffset = batchHead % heads * headDim;
    int hidden = heads * headDim;
    if (lane < headDim)
    {
        query[lane] = q[(tokenBase + position) * hidden + headOffset + lane] / sqrt((float)headDim);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float runningMax = -INFINITY;
    float runningSum = 0.0f;
    float accumulator = 0.0f;
    for (int start = 0; start < sequence; start += 128)
    {
        int key = start + lane;
        float score = -INFINITY;
        if (key < sequence && mask[tokenBase + key] != 0)
        {
            int keyOffset = (tokenBase + key) * hidden + headOffset;
            score = 0.0f;
            for (int d = 0; d < headDim; d++)
            {
                score += query[d] * k[keyOffset + d];
            }
        }
        scores[lane] = score;
        barrier(CLK_LOCAL_MEM_FENCE);
        int count = min(128, sequence - start);
        float tileMax = -INFINITY;
        for (int t = 0; t < count; t++)
        {
            tileMax = fmax(tileMax, scores[t]);
        }
        if (tileMax > -INFINITY)
        {
            float newMax = fmax(runningMax, tileMax);
            float correction = exp(runningMax - newMax);
            runningSum *= correction;
            accumulator *= correction;
            for (int t = 0; t < count; t++)
            {
                float weight = exp(scores[t] - newMax);
                runningSum += weight;
                if (lane < headDim)
                {
                    accumulator += weight * v[(tokenBase + start + t) * hidden + headOffset + lane];
                }
            }
            runningMax = newMax;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane < headDim)
    {
        output[(tokenBase + position) * hidden + headOffset + lane] = runningSum > 0.0f ? accumulator / runningSum : 0.0f;
    }
}

// Attention with headDim = 32
__kernel void Attention_headDim32(__global const float* q, __global const float* k, __global const float* v, __global const int* mask, __global float* output, int sequence, int heads, int headDim)
{
    __local float query[128];
    __local float scores[128];
    int lane = (int)get_local_id(0);
    int position = (int)get_group_id(1);
    int batchHead = (int)get_group_id(2);
    int tokenBase = batchHead / heads * sequence;
    int headOffset = batchHead % heads * 32;
    int hidden = heads * 32;
    if (lane < 32)
    {
        query[lane] = q[(tokenBase + position) * hidden + headOffset + lane] / sqrt((float)32);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float runningMax = -INFINITY;
    float runningSum = 0.0f;
    float accumulator = 0.0f;
    for (int start = 0; start < sequence; start += 128)
    {
        int key = start + lane;
        float score = -INFINITY;
        if (key < sequence && mask[tokenBase + key] != 0)
        {
            int keyOffset = (tokenBase + key) * hidden + headOffset;
            score = 0.0f;
            for (int d = 0; d < 32; d++)
            {
                score += query[d] * k[keyOffset + d];
            }
        }
        scores[lane] = score;
        barrier(CLK_LOCAL_MEM_FENCE);
        int count = min(128, sequence - start);
        float tileMax = -INFINITY;
        for (int t = 0; t < count; t++)
        {
            tileMax = fmax(tileMax, scores[t]);
        }
        if (tileMax > -INFINITY)
        {
            float newMax = fmax(runningMax, tileMax);
            float correction = exp(runningMax - newMax);
            runningSum *= correction;
            accumulator *= correction;
            for (int t = 0; t < count; t++)
            {
                float weight = exp(scores[t] - newMax);
                runningSum += weight;
                if (lane < 32)
                {
                    accumulator += weight * v[(tokenBase + start + t) * hidden + headOffset + lane];
                }
            }
            runningMax = newMax;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane < 32)
    {
        output[(tokenBase + position) * hidden + headOffset + lane] = runningSum > 0.0f ? accumulator / runningSum : 0.0f;
    }
}

// Attention with headDim = 64
__kernel void Attention_headDim64(__global const float* q, __global const float* k, __global const float* v, __global const int* mask, __global float* output, int sequence, int heads, int headDim)
{
    __local float query[128];
    __local float scores[128];
    int lane = (int)get_local_id(0);
    int position = (int)get_group_id(1);
    int batchHead = (int)get_group_id(2);
    int tokenBase = batchHead / heads * sequence;
    int headOffset = batchHead % heads * 64;
    int hidden = heads * 64;
    if (lane < 64)
    {
        query[lane] = q[(tokenBase + position) * hidden + headOffset + lane] / sqrt((float)64);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float runningMax = -INFINITY;
    float runningSum = 0.0f;
    float accumulator = 0.0f;
    for (int start = 0; start < sequence; start += 128)
    {
        int key = start + lane;
        float score = -INFINITY;
        if (key < sequence && mask[tokenBase + key] != 0)
        {
            int keyOffset = (tokenBase + key) * hidden + headOffset;
            score = 0.0f;
            for (int d = 0; d < 64; d++)
            {
                score += query[d] * k[keyOffset + d];
            }
        }
        scores[lane] = score;
        barrier(CLK_LOCAL_MEM_FENCE);
        int count = min(128, sequence - start);
        float tileMax = -INFINITY;
        for (int t = 0; t < count; t++)
        {
            tileMax = fmax(tileMax, scores[t]);
        }
        if (tileMax > -INFINITY)
        {
            float newMax = fmax(runningMax, tileMax);
            float correction = exp(runningMax - newMax);
            runningSum *= correction;
            accumulator *= correction;
            for (int t = 0; t < count; t++)
            {
                float weight = exp(scores[t] - newMax);
                runningSum += weight;
                if (lane < 64)
                {
                    accumulator += weight * v[(tokenBase + start + t) * hidden + headOffset + lane];
                }
            }
            runningMax = newMax;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane < 64)
    {
        output[(tokenBase + position) * hidden + headOffset + lane] = runningSum > 0.0f ? accumulator / runningSum : 0.0f;
    }
}

// Attention with headDim = 128
__kernel void Attention_headDim128(__global const float* q, __global const float* k, __global const float* v, __global const int* mask, __global float* output, int sequence, int heads, int headDim)
{
    __local float query[128];
    __local float scores[128];
    int lane = (int)get_local_id(0);
    int position = (int)get_group_id(1);
    int batchHead = (int)get_group_id(2);
    int tokenBase = batchHead / heads * sequence;
    int headOffset = batchHead % heads * 128;
    int hidden = heads * 128;
    if (lane < 128)
    {
        query[lane] = q[(tokenBase + position) * hidden + headOffset + lane] / sqrt((float)128);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float runningMax = -INFINITY;
    float runningSum = 0.0f;
    float accumulator = 0.0f;
    for (int start = 0; start < sequence; start += 128)
    {
        int key = start + lane;
        float score = -INFINITY;
        if (key < sequence && mask[tokenBase + key] != 0)
        {
            int keyOffset = (tokenBase + key) * hidden + headOffset;
            score = 0.0f;
            for (int d = 0; d < 128; d++)
            {
                score += query[d] * k[keyOffset + d];
            }
        }
        scores[lane] = score;
        barrier(CLK_LOCAL_MEM_FENCE);
        int count = min(128, sequence - start);
        float tileMax = -INFINITY;
        for (int t = 0; t < count; t++)
        {
            tileMax = fmax(tileMax, scores[t]);
        }
        if (tileMax > -INFINITY)
        {
            float newMax = fmax(runningMax, tileMax);
            float correction = exp(runningMax - newMax);
            runningSum *= correction;
            accumulator *= correction;
            for (int t = 0; t < count; t++)
            {
                float weight = exp(scores[t] - newMax);
                runningSum += weight;
                if (lane < 128)
                {
                    accumulator += weight * v[(tokenBase + start + t) * hidden + headOffset + lane];
                }
            }
            runningMax = newMax;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane < 128)
    {
        output[(tokenBase + position) * hidden + headOffset + lane] = runningSum > 0.0f ? accumulator / runningSum : 0.0f;
    }
}
