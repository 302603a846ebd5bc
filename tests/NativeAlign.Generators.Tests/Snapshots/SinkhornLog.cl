// SinkhornLog: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
// MathF.Max/Min semantics: NaN when either operand is NaN, +0 above -0 (fmax/fmin would drop the NaN).
float na_max(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? y : x) : fmax(x, y); }
float na_min(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? x : y) : fmin(x, y); }
__kernel void SinkhornLog(__global const float* costs, __global const int* rowCounts, __global const int* columnCounts, __global float* plan, int batch, int maxRows, int maxColumns, float epsilon, int iterations)
{
    __local float f[256];
    __local float g[256];
    int pair = min((int)get_group_id(0), batch - 1);
    int lane = (int)get_local_id(0);
    int rows = max(0, min(min(rowCounts[pair], maxRows), 256));
    int columns = max(0, min(min(columnCounts[pair], maxColumns), 256));
    int offset = pair * maxRows * maxColumns;
    float logA = -log((float)max(rows, 1));
    float logB = -log((float)max(columns, 1));
    for (int i = lane; i < 256; i += 64)
    {
        f[i] = 0.0f;
        g[i] = 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int iteration = 0; iteration < iterations; iteration++)
    {
        for (int i = lane; i < rows; i += 64)
        {
            int rowOffset = offset + i * maxColumns;
            float max_ = -INFINITY;
            for (int j = 0; j < columns; j++)
            {
                max_ = na_max(max_, (g[j] - costs[rowOffset + j]) / epsilon);
            }
            float sum = 0.0f;
            for (int j = 0; j < columns; j++)
            {
                sum += exp((g[j] - costs[rowOffset + j]) / epsilon - max_);
            }
            f[i] = epsilon * (logA - (max_ + log(sum)));
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int j = lane; j < columns; j += 64)
        {
            float max_ = -INFINITY;
            for (int i = 0; i < rows; i++)
            {
                max_ = na_max(max_, (f[i] - costs[offset + i * maxColumns + j]) / epsilon);
            }
            float sum = 0.0f;
            for (int i = 0; i < rows; i++)
            {
                sum += exp((f[i] - costs[offset + i * maxColumns + j]) / epsilon - max_);
            }
            g[j] = epsilon * (logB - (max_ + log(sum)));
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int cell = lane; cell < maxRows * maxColumns; cell += 64)
    {
        int i = cell / maxColumns;
        int j = cell - i * maxColumns;
        plan[offset + cell] = i < rows && j < columns ? exp((f[i] + g[j] - costs[offset + cell]) / epsilon) : 0.0f;
    }
}
