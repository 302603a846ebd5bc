using System.Buffers;

namespace NativeAlign.Alignment.Transport;

/// <summary>
/// Entropic optimal transport solvers: balanced, unbalanced (KL-relaxed marginals) and partial, for one matrix or for a
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
public static class SinkhornSolver
{
    /// <summary>Scalings are absorbed into the potentials when |ln u| exceeds this.</summary>
    private const float AbsorbLog = 20f;

    private const float KernelFloor = VectorMath.LnFloatMin + AbsorbLog + 1f;
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
    public static SinkhornResult Solve(
        ReadOnlySpan<float> cost, int rows, int cols, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> plan, SinkhornOptions options)
    {
        Validate(cost, rows, cols, a, b, plan, options);
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
    public static void SolveBatch(SinkhornBatch batch, SinkhornOptions options, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ValidateOptions(options);
        for (int p = 0; p < batch.Count; p++)
        {
            ValidateMarginals(batch.Source(p), batch.Target(p), p);
        }

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

                    var r = SolveOne(batch.Cost(p), n, m, batch.Source(p), batch.Target(p), batch.Plan(p), options, work, parallel: false);
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

    private static int WorkSize(int n, int m) => checked((3 * n * m) + (6 * (n + m)) + 8);

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

    // ---------------------------------------------------------------- balanced

    private static SinkhornResult Balanced(
        ReadOnlySpan<float> cost, int n, int m, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> plan, SinkhornOptions o, float[] work, bool parallel)
    {
        float eps = o.Epsilon, invEps = 1f / eps;
        int nm = n * m;
        var costT = work.AsSpan(0, nm);
        var k = work.AsSpan(nm, nm);
        var kT = work.AsSpan(2 * nm, nm);
        int off = 3 * nm;
        var f = work.AsSpan(off, n); off += n;
        var g = work.AsSpan(off, m); off += m;
        var u = work.AsSpan(off, n); off += n;
        var v = work.AsSpan(off, m); off += m;
        var accN = work.AsSpan(off, n); off += n;
        var accM = work.AsSpan(off, m); off += m;
        var fs = work.AsSpan(off, n); off += n;
        var gs = work.AsSpan(off, m);
        Transpose(cost, n, m, costT);

        // POT starts from u = 1/n; in potential form f = ε·ln(1/n).
        f.Fill(eps * MathF.Log(1f / n));
        int it = 0;
        bool converged = false;

        // The first half-step is always exact in the log domain: it fixes g so that no column of the kernel is empty.
        LogStepG(cost: costT, n, m, b, f, g, fs, invEps, eps);
        Rebuild(cost, costT, n, m, f, g, k, kT, u, v, invEps, parallel);
        bool pendingU = true;
        for (; it < o.MaxIterations; it++)
        {
            if (!pendingU)
            {
                // v = b / (Kᵀu)
                MatTVec(k, n, m, u, accM, parallel);
                if (!Rescale(b, accM, v))
                {
                    Absorb(f, u, eps);
                    Absorb(g, v, eps);
                    LogStepG(costT, n, m, b, f, g, fs, invEps, eps);
                    Rebuild(cost, costT, n, m, f, g, k, kT, u, v, invEps, parallel);
                }
            }

            pendingU = false;

            // u = a / (K v)
            MatTVec(kT, m, n, v, accN, parallel);
            if (!Rescale(a, accN, u))
            {
                Absorb(f, u, eps);
                Absorb(g, v, eps);
                LogStepF(cost, n, m, a, f, g, gs, invEps, eps);
                Rebuild(cost, costT, n, m, f, g, k, kT, u, v, invEps, parallel);
            }

            if (it % 10 == 0)
            {
                // POT's check: ‖v ∘ (Kᵀu) − b‖₂.
                MatTVec(k, n, m, u, accM, parallel);
                double err = 0;
                for (int j = 0; j < m; j++)
                {
                    double d = ((double)v[j] * accM[j]) - b[j];
                    err += d * d;
                }

                if (Math.Sqrt(err) < o.Tolerance)
                {
                    it++;
                    converged = true;
                    break;
                }
            }
        }

        for (int i = 0; i < n; i++)
        {
            var row = plan.Slice(i * m, m);
            var kr = k.Slice(i * m, m);
            float ui = u[i];
            for (int j = 0; j < m; j++)
            {
                row[j] = ui * kr[j] * v[j];
            }
        }

        return new SinkhornResult(it, converged);
    }

    /// <summary>scale[i] = target[i] / acc[i]; false when a scaling leaves the absorb range or a sum underflowed.</summary>
    private static bool Rescale(ReadOnlySpan<float> target, ReadOnlySpan<float> acc, Span<float> scale)
    {
        bool ok = true;
        for (int i = 0; i < scale.Length; i++)
        {
            float t = target[i];
            if (t == 0f)
            {
                scale[i] = 0f;
                continue;
            }

            float s = t / acc[i];
            scale[i] = s;
            ok &= s <= ScaleMax && s >= ScaleMin;
        }

        return ok;
    }

    private static void Absorb(Span<float> potential, Span<float> scale, float eps)
    {
        for (int i = 0; i < potential.Length; i++)
        {
            float s = scale[i];

            // A zero scaling belongs to a zero-mass point; its potential stays -∞ (set by the exact step).
            potential[i] = s > 0f ? potential[i] + (eps * MathF.Log(s)) : float.NegativeInfinity;
            scale[i] = 1f;
        }
    }

    /// <summary>Exact g-update: g_j = ε ln b_j − ε LSE_i((f_i − C_ij)/ε).</summary>
    private static void LogStepG(ReadOnlySpan<float> cost, int n, int m, ReadOnlySpan<float> b, ReadOnlySpan<float> f, Span<float> g, Span<float> fs, float invEps, float eps)
    {
        for (int i = 0; i < n; i++)
        {
            fs[i] = f[i] * invEps;
        }

        for (int j = 0; j < m; j++)
        {
            float lse = VectorMath.LogSumExpAffine(cost.Slice(j * n, n), fs, invEps);
            g[j] = b[j] == 0f ? float.NegativeInfinity : eps * (MathF.Log(b[j]) - lse);
        }
    }

    /// <summary>Exact f-update: f_i = ε ln a_i − ε LSE_j((g_j − C_ij)/ε).</summary>
    private static void LogStepF(ReadOnlySpan<float> cost, int n, int m, ReadOnlySpan<float> a, Span<float> f, ReadOnlySpan<float> g, Span<float> gs, float invEps, float eps)
    {
        for (int j = 0; j < m; j++)
        {
            gs[j] = g[j] * invEps;
        }

        for (int i = 0; i < n; i++)
        {
            float lse = VectorMath.LogSumExpAffine(cost.Slice(i * m, m), gs, invEps);
            f[i] = a[i] == 0f ? float.NegativeInfinity : eps * (MathF.Log(a[i]) - lse);
        }
    }

    /// <summary>K_ij = exp((f_i + g_j − C_ij)/ε) (and its transpose), floored; scalings reset to 1.</summary>
    private static void Rebuild(
        ReadOnlySpan<float> cost, ReadOnlySpan<float> costT, int n, int m, ReadOnlySpan<float> f, ReadOnlySpan<float> g,
        Span<float> k, Span<float> kT, Span<float> u, Span<float> v, float invEps, bool parallel)
    {
        if (parallel)
        {
            unsafe
            {
                fixed (float* pc = cost, pct = costT, pf = f, pg = g, pk = k, pkt = kT)
                {
                    nint c = (nint)pc, ct = (nint)pct, fp = (nint)pf, gp = (nint)pg, kp = (nint)pk, ktp = (nint)pkt;
                    Parallel.For(0, n + m, r =>
                    {
                        var fSpan = new ReadOnlySpan<float>((float*)fp, n);
                        var gSpan = new ReadOnlySpan<float>((float*)gp, m);
                        if (r < n)
                        {
                            VectorMath.ExpAffine(new ReadOnlySpan<float>((float*)c + ((long)r * m), m), gSpan, invEps, fSpan[r] * invEps, new Span<float>((float*)kp + ((long)r * m), m), KernelFloor);
                        }
                        else
                        {
                            int j = r - n;
                            VectorMath.ExpAffine(new ReadOnlySpan<float>((float*)ct + ((long)j * n), n), fSpan, invEps, gSpan[j] * invEps, new Span<float>((float*)ktp + ((long)j * n), n), KernelFloor);
                        }
                    });
                }
            }
        }
        else
        {
            for (int i = 0; i < n; i++)
            {
                VectorMath.ExpAffine(cost.Slice(i * m, m), g, invEps, f[i] * invEps, k.Slice(i * m, m), KernelFloor);
            }

            for (int j = 0; j < m; j++)
            {
                VectorMath.ExpAffine(costT.Slice(j * n, n), f, invEps, g[j] * invEps, kT.Slice(j * n, n), KernelFloor);
            }
        }

        u.Fill(1f);
        v.Fill(1f);
    }

    /// <summary>acc = matᵀ·x for a rows×cols matrix: acc_j = Σ_i x_i mat_ij (row-broadcast FMAs, contiguous loads).</summary>
    private static void MatTVec(ReadOnlySpan<float> mat, int rows, int cols, ReadOnlySpan<float> x, Span<float> acc, bool parallel)
    {
        if (!parallel)
        {
            acc.Clear();
            for (int i = 0; i < rows; i++)
            {
                VectorMath.Axpy(acc, mat.Slice(i * cols, cols), x[i]);
            }

            return;
        }

        unsafe
        {
            fixed (float* pm = mat, px = x, pa = acc)
            {
                nint mp = (nint)pm, xp = (nint)px, ap = (nint)pa;
                int chunks = Math.Max(1, Math.Min(Environment.ProcessorCount * 4, cols / 256));
                Parallel.For(0, chunks, c =>
                {
                    int start = (int)((long)cols * c / chunks), end = (int)((long)cols * (c + 1) / chunks);
                    var slice = new Span<float>((float*)ap + start, end - start);
                    slice.Clear();
                    var xs = new ReadOnlySpan<float>((float*)xp, rows);
                    for (int i = 0; i < rows; i++)
                    {
                        VectorMath.Axpy(slice, new ReadOnlySpan<float>((float*)mp + ((long)i * cols) + start, end - start), xs[i]);
                    }
                });
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
                plan[(i * m) + j] = VectorMath.Exp(lu[i] + lv[j] - (cost[(i * m) + j] * invEps));
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

        double mass = o.TransportedMass ?? Math.Min(sumA, sumB);
        if (mass <= 0 || mass > Math.Min(sumA, sumB) * (1 + 1e-6))
        {
            throw new NativeAlignException(ErrorKind.Usage, $"partial transport: the mass to move must be in (0, min(Σa, Σb) = {Math.Min(sumA, sumB)}], got {mass}");
        }

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
                row[j] = VectorMath.Exp(li + lb[j] - (c[j] * invEps));
            }
        }
    }

    // ---------------------------------------------------------------- validation

    private static void Validate(ReadOnlySpan<float> cost, int rows, int cols, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> plan, SinkhornOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ValidateOptions(options);
        if (rows < 0 || cols < 0 || (long)rows * cols != cost.Length || plan.Length != cost.Length || a.Length != rows || b.Length != cols)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"transport problem shapes disagree: {rows}×{cols} expects cost and plan of {(long)rows * cols}, a of {rows}, b of {cols}; got {cost.Length}, {plan.Length}, {a.Length}, {b.Length}");
        }

        if (rows > 0 && cols > 0)
        {
            ValidateMarginals(a, b, 0);
        }
    }

    private static void ValidateOptions(SinkhornOptions o)
    {
        if (!(o.Epsilon > 0) || float.IsInfinity(o.Epsilon))
        {
            throw new NativeAlignException(ErrorKind.Usage, $"Sinkhorn ε must be a positive finite number, got {o.Epsilon}");
        }

        if (o.MaxIterations < 0)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"Sinkhorn iterations must be ≥ 0, got {o.MaxIterations}");
        }

        if (o.Kind == TransportKind.Unbalanced && !(o.MarginalRelaxation > 0))
        {
            throw new NativeAlignException(ErrorKind.Usage, $"unbalanced transport needs a positive marginal relaxation τ, got {o.MarginalRelaxation}");
        }
    }

    private static void ValidateMarginals(ReadOnlySpan<float> a, ReadOnlySpan<float> b, int problem)
    {
        if (a.IsEmpty || b.IsEmpty)
        {
            return;
        }

        double sa = 0, sb = 0;
        foreach (var x in a)
        {
            if (!(x >= 0) || float.IsInfinity(x))
            {
                throw new NativeAlignException(ErrorKind.Usage, $"transport problem {problem}: source marginal has a negative or non-finite weight ({x})");
            }

            sa += x;
        }

        foreach (var x in b)
        {
            if (!(x >= 0) || float.IsInfinity(x))
            {
                throw new NativeAlignException(ErrorKind.Usage, $"transport problem {problem}: target marginal has a negative or non-finite weight ({x})");
            }

            sb += x;
        }

        if (sa <= 0 || sb <= 0)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"transport problem {problem}: a marginal sums to zero");
        }
    }
}
