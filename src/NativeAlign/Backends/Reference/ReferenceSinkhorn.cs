using NativeAlign.Tensors;

namespace NativeAlign.Backends.Reference;

/// <summary>
/// Sinkhorn in float64, pure log domain, one problem at a time: POT 0.8.2's iterations and stopping rules written as
/// plainly as possible, with no stabilisation tricks (float64 needs none at the ε word alignment uses). The oracle
/// the CPU and device solvers are tested against.
/// </summary>
internal static class ReferenceSinkhorn
{
    public static void SolveBatch(SinkhornBatch batch, SinkhornOptions options)
    {
        batch.Validate(options);
        for (int p = 0; p < batch.Count; p++)
        {
            int n = batch.Rows[p], m = batch.Cols[p];
            if (n == 0 || m == 0)
            {
                batch.Iterations[p] = 0;
                continue;
            }

            var cost = ToDouble(batch.Cost(p));
            var a = ToDouble(batch.Source(p));
            var b = ToDouble(batch.Target(p));
            var plan = new double[n * m];
            batch.Iterations[p] = options.Kind switch
            {
                TransportKind.Balanced => Balanced(cost, n, m, a, b, options, plan),
                TransportKind.Unbalanced => Unbalanced(cost, n, m, a, b, options, plan),
                _ => Partial(cost, n, m, a, b, options, batch.PartialMass(p, options), plan),
            };
            var output = batch.Plan(p);
            for (int c = 0; c < plan.Length; c++)
            {
                output[c] = (float)plan[c];
            }
        }
    }

    private static double[] ToDouble(ReadOnlySpan<float> x)
    {
        var d = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            d[i] = x[i];
        }

        return d;
    }

    private static double Log(double x) => x == 0 ? double.NegativeInfinity : Math.Log(x);

    /// <summary>log Σ_j exp(add[j] − cost[i·m + j]/ε) over a row (byRow) or log Σ_i exp(add[i] − cost[i·m + j]/ε) over a column.</summary>
    private static double Lse(double[] cost, int n, int m, int line, bool byRow, double[] add, double eps)
    {
        int count = byRow ? m : n;
        double max = double.NegativeInfinity;
        for (int t = 0; t < count; t++)
        {
            max = Math.Max(max, add[t] - (cost[byRow ? (line * m) + t : (t * m) + line] / eps));
        }

        if (double.IsNegativeInfinity(max))
        {
            return double.NegativeInfinity;
        }

        double sum = 0;
        for (int t = 0; t < count; t++)
        {
            sum += Math.Exp(add[t] - (cost[byRow ? (line * m) + t : (t * m) + line] / eps) - max);
        }

        return max + Math.Log(sum);
    }

    private static void Plan(double[] cost, int n, int m, double[] lu, double[] lv, double shift, double eps, double[] plan)
    {
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                plan[(i * m) + j] = Math.Exp(lu[i] + lv[j] + shift - (cost[(i * m) + j] / eps));
            }
        }
    }

    // POT sinkhorn_knopp: u = 1/n, v = 1/m; each iteration v = b / Kᵀu, then u = a / Kv; every 10th iteration
    // (counting from 0) stop when ‖v ∘ Kᵀu − b‖₂ < tol.
    private static int Balanced(double[] cost, int n, int m, double[] a, double[] b, SinkhornOptions o, double[] plan)
    {
        double eps = o.Epsilon;
        var lu = new double[n];
        var lv = new double[m];
        Array.Fill(lu, -Math.Log(n));
        Array.Fill(lv, -Math.Log(m));
        int it = 0;
        for (; it < o.MaxIterations; it++)
        {
            for (int j = 0; j < m; j++)
            {
                lv[j] = Log(b[j]) - Lse(cost, n, m, j, false, lu, eps);
            }

            for (int i = 0; i < n; i++)
            {
                lu[i] = Log(a[i]) - Lse(cost, n, m, i, true, lv, eps);
            }

            if (it % 10 == 0)
            {
                double err = 0;
                for (int j = 0; j < m; j++)
                {
                    double d = Math.Exp(lv[j] + Lse(cost, n, m, j, false, lu, eps)) - b[j];
                    err += d * d;
                }

                if (Math.Sqrt(err) < o.Tolerance)
                {
                    it++;
                    break;
                }
            }
        }

        Plan(cost, n, m, lu, lv, 0, eps, plan);
        return it;
    }

    // POT sinkhorn_knopp_unbalanced: u = (a / Kv)^φ, then v = (b / Kᵀu)^φ with φ = τ/(τ+ε); stop when the mean of the
    // two scalings' relative changes (max-norm, over max(‖now‖∞, ‖prev‖∞, 1)) is below tol, checked every iteration.
    private static int Unbalanced(double[] cost, int n, int m, double[] a, double[] b, SinkhornOptions o, double[] plan)
    {
        double eps = o.Epsilon, fi = o.MarginalRelaxation / (o.MarginalRelaxation + (double)o.Epsilon);
        var lu = new double[n];
        var lv = new double[m];
        var uPrev = new double[n];
        var vPrev = new double[m];
        Array.Fill(lu, -Math.Log(n));
        Array.Fill(lv, -Math.Log(m));
        int it = 0;
        for (; it < o.MaxIterations; it++)
        {
            for (int i = 0; i < n; i++)
            {
                uPrev[i] = Math.Exp(lu[i]);
            }

            for (int j = 0; j < m; j++)
            {
                vPrev[j] = Math.Exp(lv[j]);
            }

            for (int i = 0; i < n; i++)
            {
                lu[i] = a[i] == 0 ? double.NegativeInfinity : fi * (Math.Log(a[i]) - Lse(cost, n, m, i, true, lv, eps));
            }

            for (int j = 0; j < m; j++)
            {
                lv[j] = b[j] == 0 ? double.NegativeInfinity : fi * (Math.Log(b[j]) - Lse(cost, n, m, j, false, lu, eps));
            }

            if (0.5 * (RelativeChange(lu, uPrev) + RelativeChange(lv, vPrev)) < o.Tolerance)
            {
                it++;
                break;
            }
        }

        Plan(cost, n, m, lu, lv, 0, eps, plan);
        return it;
    }

    private static double RelativeChange(double[] logNow, double[] prev)
    {
        double diff = 0, maxNow = 0, maxPrev = 0;
        for (int i = 0; i < logNow.Length; i++)
        {
            double now = Math.Exp(logNow[i]);
            diff = Math.Max(diff, Math.Abs(now - prev[i]));
            maxNow = Math.Max(maxNow, now);
            maxPrev = Math.Max(maxPrev, Math.Abs(prev[i]));
        }

        return diff / Math.Max(Math.Max(maxNow, maxPrev), 1.0);
    }

    // POT entropic_partial_wasserstein: K = exp(−C/ε)·mass/ΣK, then Dykstra-corrected projections on the row bound, the
    // column bound and the total mass; every 10th iteration (from 0) the Frobenius change of the plan over that iteration
    // is the error, and the loop runs while it exceeds tol. Every projection is a diagonal scaling, so the plan is
    // exp(la_i + lb_j + lg − C_ij/ε) and the corrections are log vectors too.
    private static int Partial(double[] cost, int n, int m, double[] a, double[] b, SinkhornOptions o, double mass, double[] plan)
    {
        double eps = o.Epsilon;
        var la = new double[n];
        var lb = new double[m];
        var lq1 = new double[n];
        var lq2 = new double[m];
        var lc = new double[m];
        var lt = new double[m];
        var prev = new double[n * m];
        double max = double.NegativeInfinity;
        foreach (double c in cost)
        {
            max = Math.Max(max, -c / eps);
        }

        double sum = 0;
        foreach (double c in cost)
        {
            sum += Math.Exp((-c / eps) - max);
        }

        double lg = Math.Log(mass) - (max + Math.Log(sum)), lq3 = 0, err = 1;
        int it = 0;
        while (err > o.Tolerance && it < o.MaxIterations)
        {
            bool check = it % 10 == 0;
            if (check)
            {
                Plan(cost, n, m, la, lb, lg, eps, prev);
            }

            for (int i = 0; i < n; i++)
            {
                la[i] += lq1[i];
                double lr = la[i] + lg + Lse(cost, n, m, i, true, lb, eps);
                double ls = a[i] == 0 ? double.NegativeInfinity : Math.Min(Math.Log(a[i]) - lr, 0);
                la[i] += ls;
                lq1[i] = double.IsNegativeInfinity(ls) ? 0 : -ls;
            }

            for (int j = 0; j < m; j++)
            {
                lb[j] += lq2[j];
                lc[j] = lb[j] + lg + Lse(cost, n, m, j, false, la, eps);
                double ls = b[j] == 0 ? double.NegativeInfinity : Math.Min(Math.Log(b[j]) - lc[j], 0);
                lt[j] = ls;
                lb[j] += ls;
                lq2[j] = double.IsNegativeInfinity(ls) ? 0 : -ls;
            }

            double tmax = double.NegativeInfinity;
            for (int j = 0; j < m; j++)
            {
                tmax = Math.Max(tmax, lc[j] + lt[j]);
            }

            double tsum = 0;
            for (int j = 0; j < m; j++)
            {
                tsum += Math.Exp(lc[j] + lt[j] - tmax);
            }

            double lr3 = Math.Log(mass) - (tmax + Math.Log(tsum) + lq3);
            lg += lq3 + lr3;
            lq3 = -lr3;
            if (check)
            {
                Plan(cost, n, m, la, lb, lg, eps, plan);
                double e2 = 0;
                for (int c = 0; c < plan.Length; c++)
                {
                    e2 += (prev[c] - plan[c]) * (prev[c] - plan[c]);
                }

                err = Math.Sqrt(e2);
            }

            it++;
        }

        Plan(cost, n, m, la, lb, lg, eps, plan);
        return it;
    }
}
