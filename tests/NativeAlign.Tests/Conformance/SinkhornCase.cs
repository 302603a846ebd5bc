using NativeAlign.Backends;
using NativeAlign.Tensors;
using static NativeAlign.Tests.Conformance.TestWeights;

namespace NativeAlign.Tests.Conformance;

/// <summary>
/// A batch of entropic transport problems of the given shapes (costs uniform in [0, 1), marginals positive, a zero
/// weight where <see cref="ZeroWeight"/> says) solved with <see cref="SinkhornOptions.Tolerance"/> 0 for
/// <see cref="Iterations"/> iterations, enough for every problem here to converge: the plans are compared with the
/// converged float64 log-domain solution of <see cref="TransportOracle"/>, which depends on the problem only, not on
/// how a backend orders its updates.
/// </summary>
internal sealed record SinkhornCase(TransportKind Kind, (int Rows, int Cols)[] Problems) : OpCase
{
    public float Epsilon { get; init; } = 0.1f;

    /// <summary>Unbalanced: the KL marginal penalty τ.</summary>
    public float Relaxation { get; init; } = 1f;

    /// <summary>Partial: the mass moved (null: min(Σa, Σb)).</summary>
    public float? Mass { get; init; }

    public int Iterations { get; init; } = 2000;

    /// <summary>Whether the first row and last column of each problem get weight 0 (a word that must receive no mass).</summary>
    public bool ZeroWeight { get; init; }

    public override BackendOp Op => BackendOp.Sinkhorn;

    public override string Name =>
        $"sinkhorn-{Kind}-{string.Join('.', Problems.Select(p => $"{p.Rows}x{p.Cols}"))}-eps{Epsilon}" +
        $"{(Kind == TransportKind.Unbalanced ? $"-tau{Relaxation}" : string.Empty)}{(Mass is { } m ? $"-mass{m}" : string.Empty)}{(ZeroWeight ? "-zero-weight" : string.Empty)}";

    public override OpSpec Spec => new(BackendOp.Sinkhorn, WeightType.F32, Problems.Max(p => p.Rows), Problems.Max(p => p.Cols)) { Transport = Kind };

    private SinkhornOptions Options => new()
    {
        Kind = Kind,
        Epsilon = Epsilon,
        MaxIterations = Iterations,
        Tolerance = 0,
        MarginalRelaxation = Relaxation,
        TransportedMass = Mass,
    };

    private SinkhornBatch Batch()
    {
        var rng = Inputs();
        var batch = new SinkhornBatch([.. Problems.Select(p => p.Rows)], [.. Problems.Select(p => p.Cols)]);
        for (int p = 0; p < batch.Count; p++)
        {
            Uniform(rng, batch.Cost(p).Length, 0.5f, 0.5f).CopyTo(batch.Cost(p));
            Marginal(rng, batch.Source(p), 1f, ZeroWeight ? 0 : -1);
            Marginal(rng, batch.Target(p), Kind == TransportKind.Unbalanced ? 1.5f : 1f, ZeroWeight ? batch.Cols[p] - 1 : -1);
        }

        batch.Plans.AsSpan().Fill(CaseRunner.Sentinel);
        return batch;
    }

    private static void Marginal(Random rng, Span<float> weights, float total, int zeroAt)
    {
        var w = Uniform(rng, weights.Length, 0.4f, 0.6f);
        if (zeroAt >= 0 && zeroAt < w.Length && w.Length > 1)
        {
            w[zeroAt] = 0;
        }

        float sum = w.Sum();
        for (int i = 0; i < w.Length; i++)
        {
            weights[i] = w[i] * total / sum;
        }
    }

    public override void Attempt(IComputeBackend backend) => backend.Sinkhorn(Batch(), Options);

    public override Verdict RunAndJudge(IComputeBackend backend)
    {
        var batch = Batch();
        backend.Sinkhorn(batch, Options);
        var expected = new double[batch.Plans.Length];
        for (int p = 0; p < batch.Count; p++)
        {
            if (batch.Rows[p] == 0 || batch.Cols[p] == 0)
            {
                continue;
            }

            var plan = TransportOracle.Solve(Kind, batch.Cost(p).ToArray(), batch.Rows[p], batch.Cols[p], batch.Source(p).ToArray(), batch.Target(p).ToArray(), Epsilon, Relaxation, batch.PartialMass(p, Options));
            plan.CopyTo(expected, batch.CellOffset(p));
        }

        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToUInt32Bits(batch.Plans[i]) == CaseRunner.SentinelBits || float.IsNaN(batch.Plans[i]))
            {
                return new Verdict(VerdictKind.Fail, $"plan cell {i} of {expected.Length} {(float.IsNaN(batch.Plans[i]) ? "is NaN" : "was never written")}");
            }
        }

        double nmse = ErrorMetric.NormalisedMse(batch.Plans, expected);
        return nmse <= Bound
            ? new Verdict(VerdictKind.Pass, $"normalised MSE {nmse:E2} within {Bound:E0}", nmse)
            : new Verdict(VerdictKind.Fail, $"normalised MSE {nmse:E3} above the Sinkhorn bound {Bound:E0}", nmse);
    }
}

/// <summary>
/// Entropic transport in float64 and the log domain, iterated to its fixed point (potentials changing by less than
/// 1e-13), from the problems' definitions: balanced (Cuturi 2013), unbalanced with KL marginals of weight τ (Chizat et
/// al. 2018: the scaling updates raised to τ/(τ + ε)), partial as iterative KL projections onto {rows ≤ a}, {columns ≤
/// b} and {total = m} (Benamou et al. 2015). Each has a unique solution, so the plan does not depend on update order.
/// </summary>
internal static class TransportOracle
{
    private const int MaxSweeps = 200_000;

    public static double[] Solve(TransportKind kind, float[] cost, int n, int m, float[] a, float[] b, float epsilon, float relaxation, double mass)
    {
        double eps = epsilon;
        var logA = a.Select(x => x == 0 ? double.NegativeInfinity : Math.Log(x)).ToArray();
        var logB = b.Select(x => x == 0 ? double.NegativeInfinity : Math.Log(x)).ToArray();
        if (kind == TransportKind.Partial)
        {
            return Partial(cost, n, m, logA, logB, eps, mass);
        }

        // f, g: dual potentials over ε; plan = exp(f_i + g_j − C_ij/ε).
        double power = kind == TransportKind.Unbalanced ? relaxation / (relaxation + eps) : 1;
        var f = new double[n];
        var g = new double[m];
        var fBefore = new double[n];
        var gBefore = new double[m];
        int anchor = Array.FindIndex(logA, x => !double.IsNegativeInfinity(x));
        for (int sweep = 0; sweep < MaxSweeps; sweep++)
        {
            f.CopyTo(fBefore, 0);
            g.CopyTo(gBefore, 0);
            for (int i = 0; i < n; i++)
            {
                f[i] = power * (logA[i] - Lse(m, j => g[j] - (cost[(i * m) + j] / eps)));
            }

            for (int j = 0; j < m; j++)
            {
                g[j] = power * (logB[j] - Lse(n, i => f[i] - (cost[(i * m) + j] / eps)));
            }

            // Balanced marginals whose float32 sums differ by a rounding have no fixed point: each sweep moves f up and
            // g down by log(Σa/Σb), which leaves the plan alone. Convergence is measured with that shift taken out (and
            // without the −∞ potentials of zero weights).
            double drift = kind == TransportKind.Balanced ? Delta(fBefore[anchor], f[anchor]) : 0;
            double change = 0;
            for (int i = 0; i < n; i++)
            {
                change = double.IsNegativeInfinity(f[i]) ? change : Math.Max(change, Math.Abs(Delta(fBefore[i], f[i]) - drift));
            }

            for (int j = 0; j < m; j++)
            {
                change = double.IsNegativeInfinity(g[j]) ? change : Math.Max(change, Math.Abs(Delta(gBefore[j], g[j]) + drift));
            }

            if (change < 1e-13)
            {
                break;
            }
        }

        var plan = new double[n * m];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                plan[(i * m) + j] = Math.Exp(f[i] + g[j] - (cost[(i * m) + j] / eps));
            }
        }

        return plan;
    }

    /// <summary>
    /// Partial transport: the KL projection of exp(−C/ε) onto {P1 ≤ a} ∩ {Pᵀ1 ≤ b} ∩ {ΣP = m}, by Dykstra's algorithm
    /// (projections with correction terms, without which alternating projections onto the two inequality sets stop
    /// at another point), in the log domain. Lines of weight 0 carry no mass: they are left out and stay zero.
    /// </summary>
    private static double[] Partial(float[] cost, int n, int m, double[] logA, double[] logB, double eps, double mass)
    {
        int[] rows = [.. Enumerable.Range(0, n).Where(i => !double.IsNegativeInfinity(logA[i]))];
        int[] cols = [.. Enumerable.Range(0, m).Where(j => !double.IsNegativeInfinity(logB[j]))];
        int r = rows.Length, c = cols.Length, cells = r * c;
        var logK = new double[cells];
        for (int i = 0; i < r; i++)
        {
            for (int j = 0; j < c; j++)
            {
                logK[(i * c) + j] = -cost[(rows[i] * m) + cols[j]] / eps;
            }
        }

        double logMass = Math.Log(mass);
        Shift(logK, logMass - Lse(cells, t => logK[t]));
        var q1 = new double[cells];
        var q2 = new double[cells];
        var q3 = new double[cells];
        var previous = new double[cells];
        for (int sweep = 0; sweep < MaxSweeps; sweep++)
        {
            logK.CopyTo(previous, 0);
            double change = 0;

            Project(logK, q1, r, c, byRow: true, line => logA[rows[line]]);
            Project(logK, q2, r, c, byRow: false, line => logB[cols[line]]);
            for (int t = 0; t < cells; t++)
            {
                logK[t] += q3[t];
            }

            double shift = logMass - Lse(cells, t => logK[t]);
            for (int t = 0; t < cells; t++)
            {
                q3[t] = -shift;
                logK[t] += shift;
            }

            for (int t = 0; t < cells; t++)
            {
                change = Math.Max(change, Math.Abs(logK[t] - previous[t]));
            }

            if (change < 1e-13)
            {
                break;
            }
        }

        var plan = new double[n * m];
        for (int i = 0; i < r; i++)
        {
            for (int j = 0; j < c; j++)
            {
                plan[(rows[i] * m) + cols[j]] = Math.Exp(logK[(i * c) + j]);
            }
        }

        return plan;
    }

    /// <summary>One Dykstra step onto {line sums ≤ weight}: x ← cap(x + q), q ← q + (x_old + q) − x_new, all in logs.</summary>
    private static void Project(double[] logK, double[] q, int rows, int cols, bool byRow, Func<int, double> logWeight)
    {
        for (int t = 0; t < logK.Length; t++)
        {
            logK[t] += q[t];
        }

        int lines = byRow ? rows : cols, length = byRow ? cols : rows;
        for (int line = 0; line < lines; line++)
        {
            int l = line;
            double lse = Lse(length, u => logK[byRow ? (l * cols) + u : (u * cols) + l]);
            double shift = Math.Min(logWeight(line) - lse, 0);
            for (int u = 0; u < length; u++)
            {
                int t = byRow ? (line * cols) + u : (u * cols) + line;
                logK[t] += shift;

                // y − x_new = −shift: the correction remembers what the cap took away.
                q[t] = -shift;
            }
        }
    }

    private static void Shift(double[] x, double by)
    {
        for (int i = 0; i < x.Length; i++)
        {
            x[i] += by;
        }
    }

    /// <summary>after − before, with two equal infinities (a zero weight's potential) no change.</summary>
    private static double Delta(double before, double after) => before == after ? 0 : after - before;

    private static double Lse(int count, Func<int, double> term)
    {
        double max = double.NegativeInfinity;
        for (int t = 0; t < count; t++)
        {
            max = Math.Max(max, term(t));
        }

        if (double.IsNegativeInfinity(max))
        {
            return double.NegativeInfinity;
        }

        double sum = 0;
        for (int t = 0; t < count; t++)
        {
            sum += Math.Exp(term(t) - max);
        }

        return max + Math.Log(sum);
    }
}
