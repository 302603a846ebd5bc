using NativeAlign.Backends;
using NativeAlign.Tensors;
using static NativeAlign.Tests.Conformance.TestWeights;

namespace NativeAlign.Tests.Conformance;

/// <summary>
/// Inner-product top-k of <see cref="Queries"/> rows against a corpus of <see cref="CorpusRows"/> rows streamed in
/// <see cref="Chunks"/>, each chunk's scores scale·(q·c) − bias[c] merged into running lists. Judged as sets under the
/// contract's order (<see cref="Judge"/>): exact ties, planted as duplicate corpus rows, must keep the lower index.
/// </summary>
internal sealed record TopKCase(int Queries, int Dimension, int CorpusRows, int K) : OpCase
{
    /// <summary>Rows per call, in corpus order; null: one call with the whole corpus.</summary>
    public int[]? Chunks { get; init; }

    public bool Bias { get; init; }

    public float Scale { get; init; } = 1;

    /// <summary>
    /// Query i's best match planted twice: corpus rows (Low, High) both set to 3·q_i, an exact tie at the top whose
    /// lower index must come first (and alone when k = 1). The pairs may straddle chunks.
    /// </summary>
    public (int Low, int High)[] Ties { get; init; } = [];

    public int NaNCorpusRow { get; init; } = -1;

    public int NaNQuery { get; init; } = -1;

    public override BackendOp Op => BackendOp.TopK;

    public override string Name =>
        $"topk-q{Queries}-d{Dimension}-n{CorpusRows}-k{K}{(Chunks is null ? string.Empty : "-chunks" + string.Join('.', Chunks))}" +
        $"{(Bias ? "-bias" : string.Empty)}{(Scale != 1 ? $"-scale{Scale}" : string.Empty)}{(Ties.Length > 0 ? $"-ties{Ties.Length}" : string.Empty)}" +
        $"{Nan(NaNCorpusRow, "corpus-row")}{Nan(NaNQuery, "query")}";

    public override OpSpec Spec => new(BackendOp.TopK, WeightType.F32, 0, Dimension) { K = K };

    private (float[] Q, float[] C, float[] B) Data()
    {
        var rng = Inputs();
        var q = Uniform(rng, Queries * Dimension);
        var c = Uniform(rng, CorpusRows * Dimension);
        var b = Bias ? Uniform(rng, CorpusRows, 0.5f) : [];
        for (int i = 0; i < Ties.Length; i++)
        {
            for (int p = 0; p < Dimension; p++)
            {
                c[(Ties[i].Low * Dimension) + p] = c[(Ties[i].High * Dimension) + p] = 3 * q[(i * Dimension) + p];
            }

            if (Bias)
            {
                b[Ties[i].High] = b[Ties[i].Low];
            }
        }

        if (NaNCorpusRow >= 0)
        {
            c[(NaNCorpusRow * Dimension) + (Dimension / 2)] = float.NaN;
        }

        if (NaNQuery >= 0)
        {
            q[(NaNQuery * Dimension) + 1] = float.NaN;
        }

        return (q, c, b);
    }

    public override void Attempt(IComputeBackend backend)
    {
        var d = Data();
        Run(backend, d.Q, d.C, d.B, new long[Queries * K], new float[Queries * K]);
    }

    public override Verdict RunAndJudge(IComputeBackend backend)
    {
        var d = Data();
        var indices = new long[Queries * K];
        var scores = new float[Queries * K];
        indices.AsSpan().Fill(-1);
        scores.AsSpan().Fill(float.NegativeInfinity);
        Run(backend, d.Q, d.C, d.B, indices, scores);
        return Judge(d.Q, d.C, d.B, indices, scores);
    }

    private void Run(IComputeBackend backend, float[] q, float[] c, float[] b, long[] indices, float[] scores)
    {
        using var session = new CaseSession(backend);
        var queries = session.Input(q, Queries, Dimension);
        int first = 0;
        foreach (int rows in Chunks ?? [CorpusRows])
        {
            var chunk = session.Input(c[(first * Dimension)..((first + rows) * Dimension)], rows, Dimension);
            backend.TopK(queries, chunk, first, Bias ? b.AsSpan(first, rows) : [], Scale, indices, scores);
            first += rows;
        }

        if (first != CorpusRows)
        {
            throw new InvalidOperationException($"{Name}: chunks cover {first} of {CorpusRows} rows");
        }
    }

    /// <summary>
    /// Per query, against float64 scores s_c = scale·Σ q·c − bias[c] with NaN scores excluded: the filled slots are
    /// min(k, non-NaN candidates), then (−1, −∞); scores are descending with equal scores by ascending index; each
    /// reported score is within the float32 dot-product bound of its row's s_c (γ_d·Σ|scale·q·c| + |bias|·u, taken as
    /// 1e-5 of those magnitudes, above γ_64 ≈ 3.8e-6); the set differs from the oracle's only by swapping entries
    /// whose scores are within that bound of each other, and never across an exact tie (there the lower index wins),
    /// and rows with exactly equal s_c appear in ascending index order.
    /// </summary>
    private Verdict Judge(float[] q, float[] c, float[] b, long[] indices, float[] scores)
    {
        double worst = 0;
        for (int i = 0; i < Queries; i++)
        {
            var s = new double[CorpusRows];
            var tol = new double[CorpusRows];
            for (int r = 0; r < CorpusRows; r++)
            {
                double dot = 0, magnitude = 0;
                for (int p = 0; p < Dimension; p++)
                {
                    double term = (double)q[(i * Dimension) + p] * c[(r * Dimension) + p];
                    dot += term;
                    magnitude += Math.Abs(term);
                }

                double bias = Bias ? b[r] : 0;
                s[r] = (Scale * dot) - bias;
                tol[r] = 1e-5 * ((Math.Abs(Scale) * magnitude) + Math.Abs(bias)) + 1e-30;
            }

            var expected = Enumerable.Range(0, CorpusRows).Where(r => !double.IsNaN(s[r])).OrderByDescending(r => s[r]).ThenBy(r => r).Take(K).ToArray();
            var list = indices.AsSpan(i * K, K).ToArray();
            var listScores = scores.AsSpan(i * K, K).ToArray();
            string at = $"query {i}";
            int filled = list.TakeWhile(x => x >= 0).Count();
            if (filled != expected.Length)
            {
                return Fail($"{at}: {filled} filled slots, the oracle has {expected.Length} candidates for k = {K} (list [{string.Join(", ", list)}])");
            }

            for (int slot = filled; slot < K; slot++)
            {
                if (list[slot] != -1 || !float.IsNegativeInfinity(listScores[slot]))
                {
                    return Fail($"{at}: empty slot {slot} holds ({list[slot]}, {listScores[slot]}), expected (-1, -∞)");
                }
            }

            var actual = list[..filled].Select(x => (int)x).ToArray();
            if (actual.Any(r => r < 0 || r >= CorpusRows) || actual.Distinct().Count() != filled)
            {
                return Fail($"{at}: indices [{string.Join(", ", actual)}] out of range or repeated");
            }

            for (int slot = 0; slot < filled; slot++)
            {
                int r = actual[slot];
                if (double.IsNaN(s[r]) || float.IsNaN(listScores[slot]))
                {
                    return Fail($"{at}: row {r} with a NaN score was selected");
                }

                double error = Math.Abs(listScores[slot] - s[r]);
                worst = Math.Max(worst, error / tol[r] * 1e-5);
                if (error > tol[r])
                {
                    return Fail($"{at}: row {r} scored {listScores[slot]:R}, the oracle {s[r]:R} (tolerance {tol[r]:E2})");
                }

                if (slot > 0 && (listScores[slot] > listScores[slot - 1] || (listScores[slot] == listScores[slot - 1] && r < actual[slot - 1])))
                {
                    return Fail($"{at}: slots {slot - 1}, {slot} = ({actual[slot - 1]}, {listScores[slot - 1]:R}), ({r}, {listScores[slot]:R}) break the order (score descending, then index ascending)");
                }
            }

            var missing = expected.Except(actual).ToArray();
            var extra = actual.Except(expected).ToArray();
            foreach (int e in missing)
            {
                foreach (int x in extra)
                {
                    if (s[e] == s[x])
                    {
                        return Fail($"{at}: rows {e} and {x} tie exactly at {s[e]:R}; the lower index must be kept, got {x}");
                    }

                    if (s[e] - s[x] > tol[e] + tol[x])
                    {
                        return Fail($"{at}: row {x} ({s[x]:R}) was kept over row {e} ({s[e]:R})");
                    }
                }
            }

            for (int u = 0; u < filled; u++)
            {
                for (int v = u + 1; v < filled; v++)
                {
                    if (s[actual[u]] == s[actual[v]] && actual[u] > actual[v])
                    {
                        return Fail($"{at}: rows {actual[v]} and {actual[u]} tie exactly; the lower index must come first");
                    }
                }
            }
        }

        return new Verdict(VerdictKind.Pass, $"lists match the oracle as sets; worst score error {worst:E2} of the magnitudes", worst * worst);
    }

    private static Verdict Fail(string detail) => new(VerdictKind.Fail, detail);
}
