using System.Buffers;
using NativeAlign.Tensors;

namespace NativeAlign.Backends.Cpu;

/// <summary>
/// The CPU backend's entropic optimal transport solvers (<see cref="BackendOp.Sinkhorn"/>): balanced, unbalanced (KL-relaxed marginals) and partial, for one matrix or for a
/// batch of many small ones solved in parallel. Costs are row-major rows×cols float32; the plan has the same layout.
/// </summary>
/// <remarks>
/// <para>Every variant iterates on log-domain potentials so that small ε or large costs never underflow. The balanced
/// solver keeps the potentials in log form but runs its inner iterations on a Gibbs kernel built from them (log-domain
/// stabilisation with absorption, Schmitzer 2019): exp is only evaluated when the scalings leave [e^-20, e^20] and are
/// absorbed back into the potentials, so an iteration costs two matrix–vector products instead of rows·cols exps.
/// Kernel entries whose exponent is below ln(FLT_MIN)+21 are set to 0 — with scalings bounded by e^±20 no product or
/// sum can then become subnormal (subnormal operands slow FMAs ~100×). A row or column whose kernel sums underflow
/// takes an exact log-sum-exp step instead.</para>
/// <para>The unbalanced and partial solvers are pure log-domain: each half-iteration is a log-sum-exp over rows or
/// columns with exp floored at ln(FLT_MIN).</para>
/// <para>Iterates follow POT 0.8.2 exactly (same initialisation, update order and stopping rule), so for the same
/// iteration count the plans agree with POT up to float32 rounding.</para>
/// </remarks>
internal static partial class CpuSinkhorn
{
    /// <summary>Scalings are absorbed into the potentials when |ln u| exceeds this.</summary>
    private const float AbsorbLog = 20f;

    private const float KernelFloor = SimdExp.LnFloatMin + AbsorbLog + 1f;
    private static readonly float ScaleMax = MathF.Exp(AbsorbLog);
    private static readonly float ScaleMin = MathF.Exp(-AbsorbLog);

    /// <summary>Products above this many cells split their matrix–vector products over the cores.</summary>
    private const long ParallelCells = 1 << 16;

    /// <summary>Solves one problem: <paramref name="plan"/> receives the transport plan.</summary>
    /// <param name="cost">Cost matrix, rows×cols, row-major.</param>
    /// <param name="rows">Number of source points.</param>
    /// <param name="cols">Number of target points.</param>
    /// <param name="a">Source marginal (length rows, non-negative, positive sum).</param>
    /// <param name="b">Target marginal (length cols, non-negative, positive sum).</param>
    /// <param name="plan">Output, rows×cols.</param>
    /// <param name="options">Problem kind and parameters.</param>
    /// <exception cref="NativeAlignException">Shapes or parameters are invalid (usage error).</exception>
    internal static SinkhornResult Solve(
        ReadOnlySpan<float> cost, int rows, int cols, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> plan, SinkhornOptions options)
    {
        SinkhornBatch.ValidateProblem(cost, rows, cols, a, b, plan, options);
        if (rows == 0 || cols == 0)
        {
            return new SinkhornResult(0, true);
        }

        var work = ArrayPool<float>.Shared.Rent(WorkSize(rows, cols));
        try
        {
            bool parallel = (long)rows * cols >= ParallelCells && Environment.ProcessorCount > 1;
            return SolveOne(cost, rows, cols, a, b, plan, options, work, parallel);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(work);
        }
    }

    /// <summary>
    /// Solves every problem of <paramref name="batch"/> with the same options, spread over <paramref name="threads"/>
    /// threads (0 = all cores). Results go to <see cref="SinkhornBatch.Plans"/> and <see cref="SinkhornBatch.Iterations"/>.
    /// </summary>
    internal static void SolveBatch(SinkhornBatch batch, SinkhornOptions options, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Validate(options);

        int workers = threads <= 0 ? Environment.ProcessorCount : threads;
        workers = Math.Max(1, Math.Min(workers, batch.Count));
        int maxWork = 0;
        for (int p = 0; p < batch.Count; p++)
        {
            maxWork = Math.Max(maxWork, WorkSize(batch.Rows[p], batch.Cols[p]));
        }

        int next = -1;
        void Worker()
        {
            var work = new float[Math.Max(maxWork, 1)];
            const int grain = 16;
            while (true)
            {
                int start = Interlocked.Add(ref next, grain) - grain + 1;
                if (start >= batch.Count)
                {
                    return;
                }

                int end = Math.Min(batch.Count, start + grain);
                for (int p = start; p < end; p++)
                {
                    int n = batch.Rows[p], m = batch.Cols[p];
                    if (n == 0 || m == 0)
                    {
                        batch.Iterations[p] = 0;
                        continue;
                    }

                    var o = options.Kind == TransportKind.Partial && !float.IsNaN(batch.TransportedMasses[p]) ? options with { TransportedMass = batch.TransportedMasses[p] } : options;
                    var r = SolveOne(batch.Cost(p), n, m, batch.Source(p), batch.Target(p), batch.Plan(p), o, work, parallel: false);
                    batch.Iterations[p] = r.Iterations;
                }
            }
        }

        if (workers == 1)
        {
            Worker();
            return;
        }

        var tasks = new Task[workers - 1];
        for (int t = 0; t < tasks.Length; t++)
        {
            tasks[t] = Task.Factory.StartNew(Worker, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        Worker();
        Task.WaitAll(tasks);
    }

    private static int WorkSize(int n, int m) => checked((3 * Pad(n) * Pad(m)) + (8 * (Pad(n) + Pad(m))) + 64);

    /// <summary>Rows of the Gibbs kernels are padded to a multiple of 16 floats, one Vector512, so the inner loops have no tails.</summary>
    private static int Pad(int x) => (x + 15) & ~15;

    private static SinkhornResult SolveOne(
        ReadOnlySpan<float> cost, int n, int m, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> plan, SinkhornOptions o, float[] work, bool parallel)
    {
        return o.Kind switch
        {
            TransportKind.Balanced => Balanced(cost, n, m, a, b, plan, o, work, parallel),
            TransportKind.Unbalanced => Unbalanced(cost, n, m, a, b, plan, o, work),
            _ => Partial(cost, n, m, a, b, plan, o, work),
        };
    }

    private static void Transpose(ReadOnlySpan<float> src, int n, int m, Span<float> dst)
    {
        for (int i = 0; i < n; i++)
        {
            var row = src.Slice(i * m, m);
            for (int j = 0; j < m; j++)
            {
                dst[(j * n) + i] = row[j];
            }
        }
    }

    // ---------------------------------------------------------------- unbalanced

    private static SinkhornResult Unbalanced(
        ReadOnlySpan<float> cost, int n, int m, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> plan, SinkhornOptions o, float[] work)
    {
        float eps = o.Epsilon, invEps = 1f / eps;
        float fi = o.MarginalRelaxation / (o.MarginalRelaxation + eps);
        int nm = n * m;
        var costT = work.AsSpan(0, nm);
        int off = nm;
        var lu = work.AsSpan(off, n); off += n;
        var lv = work.AsSpan(off, m); off += m;
        var uPrev = work.AsSpan(off, n); off += n;
        var vPrev = work.AsSpan(off, m);
        Transpose(cost, n, m, costT);
        lu.Fill(MathF.Log(1f / n));
        lv.Fill(MathF.Log(1f / m));
        int it = 0;
        bool converged = false;
        for (; it < o.MaxIterations; it++)
        {
            for (int i = 0; i < n; i++)
            {
                uPrev[i] = MathF.Exp(lu[i]);
            }

            for (int j = 0; j < m; j++)
            {
                vPrev[j] = MathF.Exp(lv[j]);
            }

            // u = (a / K v)^φ and v = (b / Kᵀ u)^φ with φ = τ/(τ+ε), in logs.
            for (int i = 0; i < n; i++)
            {
                lu[i] = a[i] == 0f ? float.NegativeInfinity : fi * (MathF.Log(a[i]) - VectorMath.LogSumExpAffine(cost.Slice(i * m, m), lv, invEps));
            }

            for (int j = 0; j < m; j++)
            {
                lv[j] = b[j] == 0f ? float.NegativeInfinity : fi * (MathF.Log(b[j]) - VectorMath.LogSumExpAffine(costT.Slice(j * n, n), lu, invEps));
            }

            double err = 0.5 * (RelativeChange(lu, uPrev) + RelativeChange(lv, vPrev));
            if (err < o.Tolerance)
            {
                it++;
                converged = true;
                break;
            }
        }

        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                plan[(i * m) + j] = SimdExp.Exp(lu[i] + lv[j] - (cost[(i * m) + j] * invEps));
            }
        }

        return new SinkhornResult(it, converged);
    }

    private static double RelativeChange(ReadOnlySpan<float> logNow, ReadOnlySpan<float> prev)
    {
        double diff = 0, maxNow = 0, maxPrev = 0;
        for (int i = 0; i < logNow.Length; i++)
        {
            double now = Math.Exp(logNow[i]);
            diff = Math.Max(diff, Math.Abs(now - prev[i]));
            maxNow = Math.Max(maxNow, Math.Abs(now));
            maxPrev = Math.Max(maxPrev, Math.Abs(prev[i]));
        }

        return diff / Math.Max(Math.Max(maxNow, maxPrev), 1.0);
    }

    // ---------------------------------------------------------------- partial

    private static SinkhornResult Partial(
        ReadOnlySpan<float> cost, int n, int m, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> plan, SinkhornOptions o, float[] work)
    {
        float eps = o.Epsilon, invEps = 1f / eps;
        double sumA = 0, sumB = 0;
        foreach (var x in a)
        {
            sumA += x;
        }

        foreach (var x in b)
        {
            sumB += x;
        }

        double mass = SinkhornBatch.PartialMass(o.TransportedMass, sumA, sumB);

        int nm = n * m;
        var costT = work.AsSpan(0, nm);
        var prevPlan = work.AsSpan(nm, nm);
        int off = 2 * nm;
        var la = work.AsSpan(off, n); off += n;
        var lb = work.AsSpan(off, m); off += m;
        var lq1 = work.AsSpan(off, n); off += n;
        var lq2 = work.AsSpan(off, m); off += m;
        var lc = work.AsSpan(off, m); off += m;
        var lt = work.AsSpan(off, m);
        Transpose(cost, n, m, costT);

        // K = exp(−C/ε)·diag(e^la)·diag(e^lb)·e^lg; the Dykstra corrections q1, q2, q3 of POT are row, column and scalar
        // factors (every projection is a diagonal scaling), so they are kept as log vectors too.
        la.Clear();
        lb.Clear();
        lq1.Clear();
        lq2.Clear();
        double lse0 = double.NegativeInfinity;
        {
            double mx = double.NegativeInfinity;
            for (int p = 0; p < nm; p++)
            {
                mx = Math.Max(mx, -cost[p] * invEps);
            }

            double s = 0;
            for (int p = 0; p < nm; p++)
            {
                s += Math.Exp((-cost[p] * invEps) - mx);
            }

            lse0 = mx + Math.Log(s);
        }

        double lg = Math.Log(mass) - lse0, lq3 = 0;
        float logMass = (float)Math.Log(mass);
        double err = 1;
        int it = 0;
        while (err > o.Tolerance && it < o.MaxIterations)
        {
            bool check = it % 10 == 0;
            if (check)
            {
                FillPartialPlan(cost, n, m, la, lb, (float)lg, invEps, prevPlan);
            }

            // Row projection: K ← diag(min(a / rowsum(K·q1), 1)) (K·q1).
            for (int i = 0; i < n; i++)
            {
                la[i] += lq1[i];
                float lr = la[i] + (float)lg + VectorMath.LogSumExpAffine(cost.Slice(i * m, m), lb, invEps);
                float ls = a[i] == 0f ? float.NegativeInfinity : MathF.Min(MathF.Log(a[i]) - lr, 0f);
                la[i] += ls;
                lq1[i] = float.IsNegativeInfinity(ls) ? 0f : -ls;
            }

            // Column projection.
            for (int j = 0; j < m; j++)
            {
                lb[j] += lq2[j];
                lc[j] = lb[j] + (float)lg + VectorMath.LogSumExpAffine(costT.Slice(j * n, n), la, invEps);
                float ls = b[j] == 0f ? float.NegativeInfinity : MathF.Min(MathF.Log(b[j]) - lc[j], 0f);
                lt[j] = ls;
                lb[j] += ls;
                lq2[j] = float.IsNegativeInfinity(ls) ? 0f : -ls;
            }

            // Total-mass projection: K ← K·q3 · m / Σ(K·q3).
            double mx = double.NegativeInfinity;
            for (int j = 0; j < m; j++)
            {
                mx = Math.Max(mx, lc[j] + lt[j]);
            }

            double s = 0;
            for (int j = 0; j < m; j++)
            {
                s += Math.Exp(lc[j] + lt[j] - mx);
            }

            double logTotal = mx + Math.Log(s) + lq3;
            double lr3 = logMass - logTotal;
            lg += lq3 + lr3;
            lq3 = -lr3;

            if (check)
            {
                FillPartialPlan(cost, n, m, la, lb, (float)lg, invEps, plan);
                double e2 = 0;
                for (int p = 0; p < nm; p++)
                {
                    double d = prevPlan[p] - plan[p];
                    e2 += d * d;
                }

                err = Math.Sqrt(e2);
            }

            it++;
        }

        FillPartialPlan(cost, n, m, la, lb, (float)lg, invEps, plan);
        return new SinkhornResult(it, err <= o.Tolerance);
    }

    private static void FillPartialPlan(ReadOnlySpan<float> cost, int n, int m, ReadOnlySpan<float> la, ReadOnlySpan<float> lb, float lg, float invEps, Span<float> plan)
    {
        for (int i = 0; i < n; i++)
        {
            float li = la[i] + lg;
            var c = cost.Slice(i * m, m);
            var row = plan.Slice(i * m, m);
            for (int j = 0; j < m; j++)
            {
                row[j] = SimdExp.Exp(li + lb[j] - (c[j] * invEps));
            }
        }
    }
}
