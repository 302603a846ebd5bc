// LayerNormRows: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
float RowKernels_ReduceSum(__local float* scratch, int lane, float value)
{
    scratch[lane] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = 32; stride > 0; stride /= 2)
    {
        if (lane < stride)
        {
            scratch[lane] = scratch[lane] + scratch[lane + stride];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

__kernel void LayerNormRows(__global const float* x, __global const float* gamma, __global const float* beta, __global float* y, __local float* scratch, int rows, int columns, float epsilon)
{
    int row = min((int)get_group_id(0), rows - 1);
    int lane = (int)get_local_id(0);
    int offset = row * columns;
    float sum = 0.0f;
    for (int c = lane; c < columns; c += 64)
    {
        sum += x[offset + c];
    }
    float mean = RowKernels_ReduceSum(scratch, lane, sum) / (float)columns;
    float squares = 0.0f;
    for (int c = lane; c < columns; c += 64)
    {
        float d = x[offset + c] - mean;
        squares += d * d;
    }
    float inverseDeviation = 1.0f / sqrt(RowKernels_ReduceSum(scratch, lane, squares) / (float)columns + epsilon);
    for (int c = lane; c < columns; c += 64)
    {
        y[offset + c] = (x[offset + c] - mean) * inverseDeviation * gamma[c] + beta[c];
    }
}

// LayerNormRows with columns = 384
__kernel void LayerNormRows_columns384(__global const float* x, __global const float* gamma, __global const float* beta, __global float* y, __local float* scratch, int rows, int columns, float epsilon)
{
    int row = min((int)get_group_id(0), rows - 1);
    int lane = (int)get_local_id(0);
    int offset = row * 384;
    float sum = 0.0f;
    for (int c = lane; c < 384; c += 64)
    {
        sum += x[offset + c];
    }
    float mean = RowKernels_ReduceSum(scratch, lane, sum) / (float)384;
    float squares = 0.0f;
    for (int c = lane; c < 384; c += 64)
    {
        float d = x[offset + c] - mean;
        squares += d * d;
    }
    float inverseDeviation = 1.0f / sqrt(RowKernels_ReduceSum(scratch, lane, squares) / (float)384 + epsilon);
    for (int c = lane; c < 384; c += 64)
    {
        y[offset + c] = (x[offset + c] - mean) * inverseDeviation * gamma[c] + beta[c];
    }
}

// LayerNormRows with columns = 768
__kernel void LayerNormRows_columns768(__global const float* x, __global const float* gamma, __global const float* beta, __global float* y, __local float* scratch, int rows, int columns, float epsilon)
{
    int row = min((int)get_group_id(0), rows - 1);
    int lane = (int)get_local_id(0);
    int offset = row * 768;
    float sum = 0.0f;
    for (int c = lane; c < 768; c += 64)
    {
        sum += x[offset + c];
    }
    float mean = RowKernels_ReduceSum(scratch, lane, sum) / (float)768;
    float squares = 0.0f;
    for (int c = lane; c < 768; c += 64)
    {
        float d = x[offset + c] - mean;
        squares += d * d;
    }
    float inverseDeviation = 1.0f / sqrt(RowKernels_ReduceSum(scratch, lane, squares) / (float)768 + epsilon);
    for (int c = lane; c < 768; c += 64)
    {
        y[offset + c] = (x[offset + c] - mean) * inverseDeviation * gamma[c] + beta[c];
    }
}

// LayerNormRows with columns = 1024
__kernel void LayerNormRows_columns1024(__global const float* x, __global const float* gamma, __global const float* beta, __global float* y, __local float* scratch, int rows, int columns, float epsilon)
{
    int row = min((int)get_group_id(0), rows - 1);
    int lane = (int)get_local_id(0);
    int offset = row * 1024;
    float sum = 0.0f;
    for (int c = lane; c < 1024; c += 64)
    {
        sum += x[offset + c];
    }
    float mean = RowKernels_ReduceSum(scratch, lane, sum) / (float)1024;
    float squares = 0.0f;
    for (int c = lane; c < 1024; c += 64)
    {
        float d = x[offset + c] - mean;
        squares += d * d;
    }
    float inverseDeviation = 1.0f / sqrt(RowKernels_ReduceSum(scratch, lane, squares) / (float)1024 + epsilon);
    for (int c = lane; c < 1024; c += 64)
    {
        y[offset + c] = (x[offset + c] - mean) * inverseDeviation * gamma[c] + beta[c];
    }
}
