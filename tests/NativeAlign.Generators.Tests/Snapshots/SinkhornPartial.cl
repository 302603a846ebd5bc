// SinkhornPartial: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
// MathF.Max/Min semantics: NaN when either operand is NaN, +0 above -0 (fmax/fmin would drop the NaN).
float na_max(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? y : x) : fmax(x, y); }
float na_min(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? x : y) : fmin(x, y); }
float SinkhornKernels_SumLanes(__local float* laneSum)
{
    float total = 0.0f;
    for (int l = 0; l < 64; l++)
    {
        total += laneSum[l];
    }
    return total;
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

__kernel void SinkhornPartial(__global const float* costs, __global const float* sourceWeights, __global const float* targetWeights, __global const int* rows, __global const int* columns, __global const int* cellOffsets, __global const int* rowOffsets, __global const int* columnOffsets, __global const float* masses, __global float* plans, __global int* iterationsRun, int problems, float epsilon, int maxIterations, float tolerance)
{
    __local float la[256];
    __local float lb[256];
    __local float rowCorrection[256];
    __local float columnCorrection[256];
    __local float columnLog[256];
    __local float columnStep[256];
    __local float laneSum[64];
    __local float state[4];
    int problem = min((int)get_group_id(0), problems - 1);
    int lane = (int)get_local_id(0);
    int n = min(rows[problem], 256);
    int m = min(columns[problem], 256);
    int cell0 = cellOffsets[problem];
    int row0 = rowOffsets[problem];
    int column0 = columnOffsets[problem];
    float invEps = 1.0f / epsilon;
    float logMass = log(masses[problem]);
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
        la[i] = 0.0f;
        lb[i] = 0.0f;
        rowCorrection[i] = 0.0f;
        columnCorrection[i] = 0.0f;
    }
    float max_ = -INFINITY;
    for (int c = lane; c < n * m; c += 64)
    {
        max_ = na_max(max_, -costs[cell0 + c] * invEps);
    }
    laneSum[lane] = max_;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lane == 0)
    {
        float all = -INFINITY;
        for (int l = 0; l < 64; l++)
        {
            all = na_max(all, laneSum[l]);
        }
        state[0] = 0.0f;
        state[2] = 0.0f;
        state[3] = all;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float sum = 0.0f;
    for (int c = lane; c < n * m; c += 64)
    {
        sum += exp(-costs[cell0 + c] * invEps - state[3]);
    }
    laneSum[lane] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lane == 0)
    {
        state[1] = logMass - (state[3] + log(SinkhornKernels_SumLanes(laneSum)));
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    int cap = 1.0f > tolerance ? maxIterations : 0;
    int iteration = 0;
    while (iteration < cap)
    {
        if (iteration % 10 == 0)
        {
            SinkhornKernels_WritePlan(costs, plans, cell0, n, m, la, lb, state[1], invEps, lane);
        }
        for (int i = lane; i < n; i += 64)
        {
            float li = la[i] + rowCorrection[i];
            float a = sourceWeights[row0 + i];
            float ls = a == 0.0f ? -INFINITY : na_min(log(a) - (li + state[1] + SinkhornKernels_RowLse(costs, cell0, m, i, lb, invEps)), 0.0f);
            la[i] = li + ls;
            rowCorrection[i] = ls == -INFINITY ? 0.0f : -ls;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int j = lane; j < m; j += 64)
        {
            float lj = lb[j] + columnCorrection[j];
            float b = targetWeights[column0 + j];
            float lc = lj + state[1] + SinkhornKernels_ColumnLse(costs, cell0, n, m, j, la, invEps);
            float ls = b == 0.0f ? -INFINITY : na_min(log(b) - lc, 0.0f);
            columnLog[j] = lc;
            columnStep[j] = ls;
            lb[j] = lj + ls;
            columnCorrection[j] = ls == -INFINITY ? 0.0f : -ls;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lane == 0)
        {
            float top = -INFINITY;
            for (int j = 0; j < m; j++)
            {
                top = na_max(top, columnLog[j] + columnStep[j]);
            }
            float total = 0.0f;
            for (int j = 0; j < m; j++)
            {
                total += exp(columnLog[j] + columnStep[j] - top);
            }
            float factor = logMass - (top + log(total) + state[2]);
            state[1] = state[1] + state[2] + factor;
            state[2] = -factor;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        float err = 0.0f;
        if (iteration % 10 == 0)
        {
            for (int c = lane; c < n * m; c += 64)
            {
                int i = c / m;
                int j = c - i * m;
                float d = plans[cell0 + c] - exp(la[i] + lb[j] + state[1] - costs[cell0 + c] * invEps);
                err += d * d;
            }
        }
        laneSum[lane] = err;
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lane == 0)
        {
            state[0] = iteration % 10 == 0 && sqrt(SinkhornKernels_SumLanes(laneSum)) <= tolerance ? 1.0f : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        iteration++;
        if (state[0] == 1.0f)
        {
            break;
        }
    }
    SinkhornKernels_WritePlan(costs, plans, cell0, n, m, la, lb, state[1], invEps, lane);
    if (lane == 0)
    {
        iterationsRun[problem] = iteration;
    }
}
