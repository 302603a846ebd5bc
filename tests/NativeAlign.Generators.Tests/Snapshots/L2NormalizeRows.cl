// L2NormalizeRows: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
// MathF.Max/Min semantics: NaN when either operand is NaN, +0 above -0 (fmax/fmin would drop the NaN).
float na_max(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? y : x) : fmax(x, y); }
float na_min(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? x : y) : fmin(x, y); }
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

__kernel void L2NormalizeRows(__global const float* x, __global float* y, __local float* scratch, int rows, int columns)
{
    int row = min((int)get_group_id(0), rows - 1);
    int lane = (int)get_local_id(0);
    int offset = row * columns;
    float squares = 0.0f;
    for (int c = lane; c < columns; c += 64)
    {
        float v = x[offset + c];
        squares += v * v;
    }
    float inverseNorm = 1.0f / na_max(sqrt(RowKernels_ReduceSum(scratch, lane, squares)), 1E-12f);
    for (int c = lane; c < columns; c += 64)
    {
        y[offset + c] = x[offset + c] * inverseNorm;
    }
}
