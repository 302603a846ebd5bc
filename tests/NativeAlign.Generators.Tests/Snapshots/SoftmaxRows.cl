// SoftmaxRows: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
// MathF.Max/Min semantics: NaN when either operand is NaN, +0 above -0 (fmax/fmin would drop the NaN).
float na_max(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? y : x) : fmax(x, y); }
float na_min(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? x : y) : fmin(x, y); }
float RowKernels_ReduceMax(__local float* scratch, int lane, float value)
{
    scratch[lane] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = 32; stride > 0; stride /= 2)
    {
        if (lane < stride)
        {
            scratch[lane] = na_max(scratch[lane], scratch[lane + stride]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

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

__kernel void SoftmaxRows(__global const float* x, __global float* y, __local float* scratch, int rows, int columns)
{
    int row = min((int)get_group_id(0), rows - 1);
    int lane = (int)get_local_id(0);
    int offset = row * columns;
    float max_ = -INFINITY;
    for (int c = lane; c < columns; c += 64)
    {
        max_ = na_max(max_, x[offset + c]);
    }
    max_ = RowKernels_ReduceMax(scratch, lane, max_);
    float sum = 0.0f;
    for (int c = lane; c < columns; c += 64)
    {
        sum += exp(x[offset + c] - max_);
    }
    float inverse = 1.0f / RowKernels_ReduceSum(scratch, lane, sum);
    for (int c = lane; c < columns; c += 64)
    {
        y[offset + c] = exp(x[offset + c] - max_) * inverse;
    }
}
