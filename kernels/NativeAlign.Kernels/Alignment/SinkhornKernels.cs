namespace NativeAlign.Kernels.Alignment;

/// <summary>
/// Entropic optimal transport for a batch of problems packed back to back, for word alignment: problem p's cost is
/// rows[p] × columns[p] from cellOffsets[p], its marginals from rowOffsets[p] and columnOffsets[p]. One kernel per
/// problem kind, each with POT 0.8.2's iterations and stopping rule, in the log domain: log potentials lu, lv replace
/// the scalings u, v, and every product with the Gibbs kernel is a log-sum-exp, so small ε never underflows. One
/// work-group per problem (launch <c>problems · GroupSize</c> work-items): work-items share the rows and columns of each
/// half-step, the first one combines the reductions. Sides must not exceed <see cref="MaxLength"/> (the host checks).
/// </summary>
/// <remarks>
/// One kernel per kind rather than one with a kind switch: PoCL 3.1 skipped the reduction block after a barrier when
/// barriers sat in several branches of an if/else chain inside the iteration loop (the stopping check never fired),
/// and a straight loop body per kernel has no such branches.
/// </remarks>
public static partial class SinkhornKernels
{
    /// <summary>Work-items per problem.</summary>
    public const int GroupSize = 64;

    /// <summary>The longest side (points per marginal) the kernels handle; potentials live in local memory.</summary>
    public const int MaxLength = 256;

    /// <summary>
    /// Balanced transport (POT <c>sinkhorn_knopp</c>): from u = 1/n, v = 1/m, each iteration sets v = b / Kᵀu then
    /// u = a / Kv; every 10th iteration (from 0) it stops when ‖v ∘ Kᵀu − b‖₂ &lt; tolerance, counting that iteration.
    /// </summary>
    /// <param name="costs">All cost matrices, back to back, row-major.</param>
    /// <param name="sourceWeights">All source marginals, back to back.</param>
    /// <param name="targetWeights">All target marginals, back to back.</param>
    /// <param name="rows">Rows of each problem.</param>
    /// <param name="columns">Columns of each problem.</param>
    /// <param name="cellOffsets">First cost cell of each problem.</param>
    /// <param name="rowOffsets">First source weight of each problem.</param>
    /// <param name="columnOffsets">First target weight of each problem.</param>
    /// <param name="plans">Output plans, laid out like the costs.</param>
    /// <param name="iterationsRun">Output: iterations each problem ran.</param>
    /// <param name="problems">Number of problems.</param>
    /// <param name="epsilon">Entropic regularisation ε (> 0).</param>
    /// <param name="maxIterations">Iteration cap.</param>
    /// <param name="tolerance">Stopping threshold (POT's stopThr).</param>
    [Kernel(LocalSizeX = GroupSize)]
    public static void SinkhornBalanced(
        ReadOnlyGlobalBuffer<float> costs, ReadOnlyGlobalBuffer<float> sourceWeights, ReadOnlyGlobalBuffer<float> targetWeights,
        ReadOnlyGlobalBuffer<int> rows, ReadOnlyGlobalBuffer<int> columns, ReadOnlyGlobalBuffer<int> cellOffsets, ReadOnlyGlobalBuffer<int> rowOffsets,
        ReadOnlyGlobalBuffer<int> columnOffsets, GlobalBuffer<float> plans, GlobalBuffer<int> iterationsRun,
        int problems, float epsilon, int maxIterations, float tolerance)
    {
        LocalBuffer<float> lu = LocalMemory.Allocate<float>(MaxLength);
        LocalBuffer<float> lv = LocalMemory.Allocate<float>(MaxLength);
        LocalBuffer<float> laneSum = LocalMemory.Allocate<float>(GroupSize);
        LocalBuffer<float> stop = LocalMemory.Allocate<float>(1);
        int problem = Math.Min(WorkItem.GroupId(0), problems - 1);
        int lane = WorkItem.LocalId(0);
        int n = Math.Min(rows[problem], MaxLength);
        int m = Math.Min(columns[problem], MaxLength);
        int cell0 = cellOffsets[problem];
        int row0 = rowOffsets[problem];
        int column0 = columnOffsets[problem];
        float invEps = 1f / epsilon;
        if (n == 0 || m == 0)
        {
            if (lane == 0)
            {
                iterationsRun[problem] = 0;
            }

            return;
        }

        for (int i = lane; i < MaxLength; i += GroupSize)
        {
            lu[i] = -MathF.Log((float)n);
            lv[i] = -MathF.Log((float)m);
        }

        if (lane == 0)
        {
            stop[0] = 0f;
        }

        WorkItem.Barrier();
        int iteration = 0;
        while (iteration < maxIterations)
        {
            for (int j = lane; j < m; j += GroupSize)
            {
                lv[j] = LogOf(targetWeights[column0 + j]) - ColumnLse(costs, cell0, n, m, j, lu, invEps);
            }

            WorkItem.Barrier();
            for (int i = lane; i < n; i += GroupSize)
            {
                lu[i] = LogOf(sourceWeights[row0 + i]) - RowLse(costs, cell0, m, i, lv, invEps);
            }

            WorkItem.Barrier();
            float err = 0f;
            if (iteration % 10 == 0)
            {
                for (int j = lane; j < m; j += GroupSize)
                {
                    float d = MathF.Exp(lv[j] + ColumnLse(costs, cell0, n, m, j, lu, invEps)) - targetWeights[column0 + j];
                    err += d * d;
                }
            }

            laneSum[lane] = err;
            WorkItem.Barrier();
            if (lane == 0)
            {
                stop[0] = iteration % 10 == 0 && MathF.Sqrt(SumLanes(laneSum)) < tolerance ? 1f : 0f;
            }

            WorkItem.Barrier();
            iteration++;
            if (stop[0] == 1f)
            {
                break;
            }
        }

        WritePlan(costs, plans, cell0, n, m, lu, lv, 0f, invEps, lane);
        if (lane == 0)
        {
            iterationsRun[problem] = iteration;
        }
    }

    /// <summary>
    /// Unbalanced transport (POT <c>sinkhorn_knopp_unbalanced</c>): from u = 1/n, v = 1/m, each iteration sets
    /// u = (a / Kv)^φ then v = (b / Kᵀu)^φ with φ = τ/(τ+ε), and stops when the mean relative change of u and v
    /// (max-norm over max(‖now‖∞, ‖previous‖∞, 1)) is below the tolerance, counting that iteration.
    /// </summary>
    /// <param name="costs">All cost matrices, back to back, row-major.</param>
    /// <param name="sourceWeights">All source marginals, back to back.</param>
    /// <param name="targetWeights">All target marginals, back to back.</param>
    /// <param name="rows">Rows of each problem.</param>
    /// <param name="columns">Columns of each problem.</param>
    /// <param name="cellOffsets">First cost cell of each problem.</param>
    /// <param name="rowOffsets">First source weight of each problem.</param>
    /// <param name="columnOffsets">First target weight of each problem.</param>
    /// <param name="plans">Output plans, laid out like the costs.</param>
    /// <param name="iterationsRun">Output: iterations each problem ran.</param>
    /// <param name="problems">Number of problems.</param>
    /// <param name="epsilon">Entropic regularisation ε (> 0).</param>
    /// <param name="maxIterations">Iteration cap.</param>
    /// <param name="tolerance">Stopping threshold (POT's stopThr).</param>
    /// <param name="relaxation">The KL marginal penalty τ.</param>
    [Kernel(LocalSizeX = GroupSize)]
    public static void SinkhornUnbalanced(
        ReadOnlyGlobalBuffer<float> costs, ReadOnlyGlobalBuffer<float> sourceWeights, ReadOnlyGlobalBuffer<float> targetWeights,
        ReadOnlyGlobalBuffer<int> rows, ReadOnlyGlobalBuffer<int> columns, ReadOnlyGlobalBuffer<int> cellOffsets, ReadOnlyGlobalBuffer<int> rowOffsets,
        ReadOnlyGlobalBuffer<int> columnOffsets, GlobalBuffer<float> plans, GlobalBuffer<int> iterationsRun,
        int problems, float epsilon, int maxIterations, float tolerance, float relaxation)
    {
        LocalBuffer<float> lu = LocalMemory.Allocate<float>(MaxLength);
        LocalBuffer<float> lv = LocalMemory.Allocate<float>(MaxLength);
        LocalBuffer<float> previousU = LocalMemory.Allocate<float>(MaxLength);
        LocalBuffer<float> previousV = LocalMemory.Allocate<float>(MaxLength);
        LocalBuffer<float> stop = LocalMemory.Allocate<float>(1);
        int problem = Math.Min(WorkItem.GroupId(0), problems - 1);
        int lane = WorkItem.LocalId(0);
        int n = Math.Min(rows[problem], MaxLength);
        int m = Math.Min(columns[problem], MaxLength);
        int cell0 = cellOffsets[problem];
        int row0 = rowOffsets[problem];
        int column0 = columnOffsets[problem];
        float invEps = 1f / epsilon;
        float phi = relaxation / (relaxation + epsilon);
        if (n == 0 || m == 0)
        {
            if (lane == 0)
            {
                iterationsRun[problem] = 0;
            }

            return;
        }

        for (int i = lane; i < MaxLength; i += GroupSize)
        {
            lu[i] = -MathF.Log((float)n);
            lv[i] = -MathF.Log((float)m);
        }

        if (lane == 0)
        {
            stop[0] = 0f;
        }

        WorkItem.Barrier();
        int iteration = 0;
        while (iteration < maxIterations)
        {
            for (int i = lane; i < n; i += GroupSize)
            {
                previousU[i] = MathF.Exp(lu[i]);
                float a = sourceWeights[row0 + i];
                lu[i] = a == 0f ? float.NegativeInfinity : phi * (MathF.Log(a) - RowLse(costs, cell0, m, i, lv, invEps));
            }

            for (int j = lane; j < m; j += GroupSize)
            {
                previousV[j] = MathF.Exp(lv[j]);
            }

            WorkItem.Barrier();
            for (int j = lane; j < m; j += GroupSize)
            {
                float b = targetWeights[column0 + j];
                lv[j] = b == 0f ? float.NegativeInfinity : phi * (MathF.Log(b) - ColumnLse(costs, cell0, n, m, j, lu, invEps));
            }

            WorkItem.Barrier();
            if (lane == 0)
            {
                float change = 0.5f * (RelativeChange(lu, previousU, n) + RelativeChange(lv, previousV, m));
                stop[0] = change < tolerance ? 1f : 0f;
            }

            WorkItem.Barrier();
            iteration++;
            if (stop[0] == 1f)
            {
                break;
            }
        }

        WritePlan(costs, plans, cell0, n, m, lu, lv, 0f, invEps, lane);
        if (lane == 0)
        {
            iterationsRun[problem] = iteration;
        }
    }

    /// <summary>
    /// Partial transport (POT <c>entropic_partial_wasserstein</c>): K = exp(−C/ε) scaled to the mass moved, then
    /// Dykstra-corrected projections on the row bound, the column bound and the total mass; every projection is a
    /// diagonal scaling, so the plan is exp(la_i + lb_j + lg − C_ij/ε) and the corrections are log vectors too. Every 10th
    /// iteration (from 0) the Frobenius change of the plan over that iteration is the error, and the loop runs while it
    /// exceeds the tolerance (1 before the first check), counting every iteration it ran.
    /// </summary>
    /// <param name="costs">All cost matrices, back to back, row-major.</param>
    /// <param name="sourceWeights">All source marginals, back to back.</param>
    /// <param name="targetWeights">All target marginals, back to back.</param>
    /// <param name="rows">Rows of each problem.</param>
    /// <param name="columns">Columns of each problem.</param>
    /// <param name="cellOffsets">First cost cell of each problem.</param>
    /// <param name="rowOffsets">First source weight of each problem.</param>
    /// <param name="columnOffsets">First target weight of each problem.</param>
    /// <param name="masses">The mass each problem moves.</param>
    /// <param name="plans">Output plans, laid out like the costs (also the previous plan during a check).</param>
    /// <param name="iterationsRun">Output: iterations each problem ran.</param>
    /// <param name="problems">Number of problems.</param>
    /// <param name="epsilon">Entropic regularisation ε (> 0).</param>
    /// <param name="maxIterations">Iteration cap.</param>
    /// <param name="tolerance">Stopping threshold (POT's stopThr).</param>
    [Kernel(LocalSizeX = GroupSize)]
    public static void SinkhornPartial(
        ReadOnlyGlobalBuffer<float> costs, ReadOnlyGlobalBuffer<float> sourceWeights, ReadOnlyGlobalBuffer<float> targetWeights,
        ReadOnlyGlobalBuffer<int> rows, ReadOnlyGlobalBuffer<int> columns, ReadOnlyGlobalBuffer<int> cellOffsets, ReadOnlyGlobalBuffer<int> rowOffsets,
        ReadOnlyGlobalBuffer<int> columnOffsets, ReadOnlyGlobalBuffer<float> masses, GlobalBuffer<float> plans, GlobalBuffer<int> iterationsRun,
        int problems, float epsilon, int maxIterations, float tolerance)
    {
        LocalBuffer<float> la = LocalMemory.Allocate<float>(MaxLength);
        LocalBuffer<float> lb = LocalMemory.Allocate<float>(MaxLength);
        LocalBuffer<float> rowCorrection = LocalMemory.Allocate<float>(MaxLength);
        LocalBuffer<float> columnCorrection = LocalMemory.Allocate<float>(MaxLength);
        LocalBuffer<float> columnLog = LocalMemory.Allocate<float>(MaxLength);
        LocalBuffer<float> columnStep = LocalMemory.Allocate<float>(MaxLength);
        LocalBuffer<float> laneSum = LocalMemory.Allocate<float>(GroupSize);

        // [0] stop flag, [1] lg (log of the total-mass factor), [2] its Dykstra correction, [3] a shared maximum.
        LocalBuffer<float> state = LocalMemory.Allocate<float>(4);
        int problem = Math.Min(WorkItem.GroupId(0), problems - 1);
        int lane = WorkItem.LocalId(0);
        int n = Math.Min(rows[problem], MaxLength);
        int m = Math.Min(columns[problem], MaxLength);
        int cell0 = cellOffsets[problem];
        int row0 = rowOffsets[problem];
        int column0 = columnOffsets[problem];
        float invEps = 1f / epsilon;
        float logMass = MathF.Log(masses[problem]);
        if (n == 0 || m == 0)
        {
            if (lane == 0)
            {
                iterationsRun[problem] = 0;
            }

            return;
        }

        for (int i = lane; i < MaxLength; i += GroupSize)
        {
            la[i] = 0f;
            lb[i] = 0f;
            rowCorrection[i] = 0f;
            columnCorrection[i] = 0f;
        }

        // lg = log(mass) − LSE over every cell of −C/ε.
        float max = float.NegativeInfinity;
        for (int c = lane; c < n * m; c += GroupSize)
        {
            max = MathF.Max(max, -costs[cell0 + c] * invEps);
        }

        laneSum[lane] = max;
        WorkItem.Barrier();
        if (lane == 0)
        {
            float all = float.NegativeInfinity;
            for (int l = 0; l < GroupSize; l++)
            {
                all = MathF.Max(all, laneSum[l]);
            }

            state[0] = 0f;
            state[2] = 0f;
            state[3] = all;
        }

        WorkItem.Barrier();
        float sum = 0f;
        for (int c = lane; c < n * m; c += GroupSize)
        {
            sum += MathF.Exp((-costs[cell0 + c] * invEps) - state[3]);
        }

        laneSum[lane] = sum;
        WorkItem.Barrier();
        if (lane == 0)
        {
            state[1] = logMass - (state[3] + MathF.Log(SumLanes(laneSum)));
        }

        WorkItem.Barrier();
        int cap = 1f > tolerance ? maxIterations : 0;
        int iteration = 0;
        while (iteration < cap)
        {
            if (iteration % 10 == 0)
            {
                // The plan buffer keeps the plan before this iteration, to measure the iteration's change; each
                // work-item writes and later reads the same cells, so no barrier is needed between.
                WritePlan(costs, plans, cell0, n, m, la, lb, state[1], invEps, lane);
            }

            for (int i = lane; i < n; i += GroupSize)
            {
                float li = la[i] + rowCorrection[i];
                float a = sourceWeights[row0 + i];
                float ls = a == 0f ? float.NegativeInfinity : MathF.Min(MathF.Log(a) - (li + state[1] + RowLse(costs, cell0, m, i, lb, invEps)), 0f);
                la[i] = li + ls;
                rowCorrection[i] = ls == float.NegativeInfinity ? 0f : -ls;
            }

            WorkItem.Barrier();
            for (int j = lane; j < m; j += GroupSize)
            {
                float lj = lb[j] + columnCorrection[j];
                float b = targetWeights[column0 + j];
                float lc = lj + state[1] + ColumnLse(costs, cell0, n, m, j, la, invEps);
                float ls = b == 0f ? float.NegativeInfinity : MathF.Min(MathF.Log(b) - lc, 0f);
                columnLog[j] = lc;
                columnStep[j] = ls;
                lb[j] = lj + ls;
                columnCorrection[j] = ls == float.NegativeInfinity ? 0f : -ls;
            }

            WorkItem.Barrier();
            if (lane == 0)
            {
                // Total-mass projection: K ← K·q3 · mass / Σ(K·q3).
                float top = float.NegativeInfinity;
                for (int j = 0; j < m; j++)
                {
                    top = MathF.Max(top, columnLog[j] + columnStep[j]);
                }

                float total = 0f;
                for (int j = 0; j < m; j++)
                {
                    total += MathF.Exp(columnLog[j] + columnStep[j] - top);
                }

                float factor = logMass - (top + MathF.Log(total) + state[2]);
                state[1] = state[1] + state[2] + factor;
                state[2] = -factor;
            }

            WorkItem.Barrier();
            float err = 0f;
            if (iteration % 10 == 0)
            {
                for (int c = lane; c < n * m; c += GroupSize)
                {
                    int i = c / m;
                    int j = c - (i * m);
                    float d = plans[cell0 + c] - MathF.Exp(la[i] + lb[j] + state[1] - (costs[cell0 + c] * invEps));
                    err += d * d;
                }
            }

            laneSum[lane] = err;
            WorkItem.Barrier();
            if (lane == 0)
            {
                // POT's loop runs while err > tol: it stops once a check finds the error at or below it.
                state[0] = iteration % 10 == 0 && MathF.Sqrt(SumLanes(laneSum)) <= tolerance ? 1f : 0f;
            }

            WorkItem.Barrier();
            iteration++;
            if (state[0] == 1f)
            {
                break;
            }
        }

        WritePlan(costs, plans, cell0, n, m, la, lb, state[1], invEps, lane);
        if (lane == 0)
        {
            iterationsRun[problem] = iteration;
        }
    }

    /// <summary>The sum of the group's per-work-item partial sums.</summary>
    private static float SumLanes(LocalBuffer<float> laneSum)
    {
        float total = 0f;
        for (int l = 0; l < GroupSize; l++)
        {
            total += laneSum[l];
        }

        return total;
    }

    /// <summary>ln x, with ln 0 = −∞ (a zero-mass point).</summary>
    private static float LogOf(float x) => x == 0f ? float.NegativeInfinity : MathF.Log(x);

    /// <summary>log Σ_j exp(add[j] − C[i, j]/ε) over row i; −∞ when every term is.</summary>
    private static float RowLse(ReadOnlyGlobalBuffer<float> costs, int cell0, int m, int i, LocalBuffer<float> add, float invEps)
    {
        int offset = cell0 + (i * m);
        float max = float.NegativeInfinity;
        for (int j = 0; j < m; j++)
        {
            max = MathF.Max(max, add[j] - (costs[offset + j] * invEps));
        }

        if (max == float.NegativeInfinity)
        {
            return max;
        }

        float sum = 0f;
        for (int j = 0; j < m; j++)
        {
            sum += MathF.Exp(add[j] - (costs[offset + j] * invEps) - max);
        }

        return max + MathF.Log(sum);
    }

    /// <summary>log Σ_i exp(add[i] − C[i, j]/ε) over column j; −∞ when every term is.</summary>
    private static float ColumnLse(ReadOnlyGlobalBuffer<float> costs, int cell0, int n, int m, int j, LocalBuffer<float> add, float invEps)
    {
        float max = float.NegativeInfinity;
        for (int i = 0; i < n; i++)
        {
            max = MathF.Max(max, add[i] - (costs[cell0 + (i * m) + j] * invEps));
        }

        if (max == float.NegativeInfinity)
        {
            return max;
        }

        float sum = 0f;
        for (int i = 0; i < n; i++)
        {
            sum += MathF.Exp(add[i] - (costs[cell0 + (i * m) + j] * invEps) - max);
        }

        return max + MathF.Log(sum);
    }

    /// <summary>max|e^now − prev| / max(max e^now, max|prev|, 1) over <paramref name="count"/> entries (POT's relative change).</summary>
    private static float RelativeChange(LocalBuffer<float> logNow, LocalBuffer<float> previous, int count)
    {
        float diff = 0f;
        float maxNow = 0f;
        float maxPrevious = 0f;
        for (int t = 0; t < count; t++)
        {
            float now = MathF.Exp(logNow[t]);
            diff = MathF.Max(diff, MathF.Abs(now - previous[t]));
            maxNow = MathF.Max(maxNow, now);
            maxPrevious = MathF.Max(maxPrevious, MathF.Abs(previous[t]));
        }

        return diff / MathF.Max(MathF.Max(maxNow, maxPrevious), 1f);
    }

    /// <summary>plan[i, j] = exp(lu[i] + lv[j] + shift − C[i, j]/ε), cells spread over the group.</summary>
    private static void WritePlan(ReadOnlyGlobalBuffer<float> costs, GlobalBuffer<float> plans, int cell0, int n, int m, LocalBuffer<float> lu, LocalBuffer<float> lv, float shift, float invEps, int lane)
    {
        for (int c = lane; c < n * m; c += GroupSize)
        {
            int i = c / m;
            int j = c - (i * m);
            plans[cell0 + c] = MathF.Exp(lu[i] + lv[j] + shift - (costs[cell0 + c] * invEps));
        }
    }
}
