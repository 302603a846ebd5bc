// SinkhornUnbalanced: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
// MathF.Max/Min semantics: NaN when either operand is NaN, +0 above -0 (fmax/fmin would drop the NaN).
float na_max(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? y : x) : fmax(x, y); }
float na_min(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? x : y) : fmin(x, y); }
float SinkhornKernels_RowLse(__global const float* costs, int cell0, int m, int i, __local float* add, float invEps)
{
    int offset = cell0 + i * m;
    float max_ = -INFINITY;
    for (int j = 0; j < m; j++)
    {
        max_ = na_max(max_, add[j] - costs[offset + j] * invEps);
    }
    if (max_ == -INFINITY)
    {
        return max_;
    }
    float sum = 0.0f;
    for (int j = 0; j < m; j++)
    {
        sum += exp(add[j] - costs[offset + j] * invEps - max_);
    }
    return max_ + log(sum);
}

float SinkhornKernels_ColumnLse(__global const float* costs, int cell0, int n, int m, int j, __local float* add, float invEps)
{
    float max_ = -INFINITY;
    for (int i = 0; i < n; i++)
    {
        max_ = na_max(max_, add[i] - costs[cell0 + i * m + j] * invEps);
    }
    if (max_ == -INFINITY)
    {
        return max_;
    }
    float sum = 0.0f;
    for (int i = 0; i < n; i++)
    {
        sum += exp(add[i] - costs[cell0 + i * m + j] * invEps - max_);
    }
    return max_ + log(sum);
}

float SinkhornKernels_RelativeChange(__local float* logNow, __local float* previous, int count)
{
    float diff = 0.0f;
    float maxNow = 0.0f;
    float maxPrevious = 0.0f;
    for (int t = 0; t < count; t++)
    {
        float now = exp(logNow[t]);
        diff = na_max(diff, fabs(now - previous[t]));
        maxNow = na_max(maxNow, now);
        maxPrevious = na_max(maxPrevious, fabs(previous[t]));
    }
    return diff / na_max(na_max(maxNow, maxPrevious), 1.0f);
}

void SinkhornKernels_WritePlan(__global const float* costs, __global float* plans, int cell0, int n, int m, __local float* lu, __local float* lv, float shift, float invEps, int lane)
{
    for (int c = lane; c < n * m; c += 64)
    {
        int i = c / m;
        int j = c - i * m;
        plans[cell0 + c] = exp(lu[i] + lv[j] + shift - costs[cell0 + c] * invEps);
    }
}

__kernel void SinkhornUnbalanced(__global const float* costs, __global const float* sourceWeights, __global const float* targetWeights, __global const int* rows, __global const int* columns, __global const int* cellOffsets, __global const int* rowOffsets, __global const int* columnOffsets, __global float* plans, __global int* iterationsRun, int problems, float epsilon, int maxIterations, float tolerance, float relaxation)
{
    __local float lu[256];
    __local float lv[256];
    __local float previousU[256];
    __local float previousV[256];
    __local float stop[1];
    int problem = min((int)get_group_id(0), problems - 1);
    int lane = (int)get_local_id(0);
    int n = min(rows[problem], 256);
    int m = min(columns[problem], 256);
    int cell0 = cellOffsets[problem];
    int row0 = rowOffsets[problem];
    int column0 = columnOffsets[problem];
    float invEps = 1.0f / epsilon;
    float phi = relaxation / (relaxation + epsilon);
    if (n == 0 || m == 0)
    {
        if (lane == 0)
        {
            iterationsRun[problem] = 0;
        }
        return;
    }
    for (int i = lane; i < 256; i += 64)
    {
        lu[i] = -log((float)n);
        lv[i] = -log((float)m);
    }
    if (lane == 0)
    {
        stop[0] = 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    int iteration = 0;
    while (iteration < maxIterations)
    {
        for (int i = lane; i < n; i += 64)
        {
            previousU[i] = exp(lu[i]);
            float a = sourceWeights[row0 + i];
            lu[i] = a == 0.0f ? -INFINITY : phi * (log(a) - SinkhornKernels_RowLse(costs, cell0, m, i, lv, invEps));
        }
        for (int j = lane; j < m; j += 64)
        {
            previousV[j] = exp(lv[j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int j = lane; j < m; j += 64)
        {
            float b = targetWeights[column0 + j];
            lv[j] = b == 0.0f ? -INFINITY : phi * (log(b) - SinkhornKernels_ColumnLse(costs, cell0, n, m, j, lu, invEps));
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lane == 0)
        {
            float change = 0.5f * (SinkhornKernels_RelativeChange(lu, previousU, n) + SinkhornKernels_RelativeChange(lv, previousV, m));
            stop[0] = change < tolerance ? 1.0f : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        iteration++;
        if (stop[0] == 1.0f)
        {
            break;
        }
    }
    SinkhornKernels_WritePlan(costs, plans, cell0, n, m, lu, lv, 0.0f, invEps, lane);
    if (lane == 0)
    {
        iterationsRun[problem] = iteration;
    }
}
