using NativeAlign.Backends;
using NativeAlign.Tensors;

namespace NativeAlign.Tests.Conformance;

/// <summary>
/// The table: every op × the shapes that reach each code path (vector tails of 8 and 16 lanes, 16 × 16 device tiles,
/// the few-row 4-bit path up to 48 rows and the packed one above, key blocks of 64, generated attention tiles for head
/// sizes 32/64/128 and the generic loop otherwise) × weight types × epilogues, kept tiny so that the whole table runs
/// on every backend in seconds. NaN cases sit next to the plain ones: the oracle says where NaN must come out.
/// </summary>
internal static class OpCases
{
    /// <summary>Widths around the 8- and 16-lane vector edges, plus empty and single.</summary>
    private static readonly int[] RowWidths = [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 129, 257];

    private static readonly ActivationKind[] Activations =
        [ActivationKind.None, ActivationKind.Gelu, ActivationKind.GeluTanh, ActivationKind.Relu, ActivationKind.Tanh, ActivationKind.Sigmoid];

    public static IReadOnlyList<OpCase> All { get; } = [.. Build()];

    private static IEnumerable<OpCase> Build() =>
        Activation().Concat(Linear()).Concat(LayerNorm()).Concat(Attention()).Concat(Pooling()).Concat(L2Normalize()).Concat(EmbeddingSum())
            .Concat(TopK()).Concat(Sinkhorn());

    private static IEnumerable<OpCase> Activation()
    {
        foreach (var kind in Activations)
        {
            foreach (int w in RowWidths)
            {
                yield return new ActivationCase(kind, 3, w);
            }

            // NaN at the first element, mid-vector and in the scalar tail of a 3 × 37 input: exactly those stay NaN.
            yield return new ActivationCase(kind, 3, 37) { NaNAt = [0, 45, 110] };

            // Inputs up to ±100: exp and tanh saturate (e^200 overflows float) and must give the limit, not NaN.
            yield return new ActivationCase(kind, 3, 37) { Scale = 100 };
        }

        // More rows than one parallel block of the CPU backend (32 rows): the row blocks are split over the cores.
        yield return new ActivationCase(ActivationKind.GeluTanh, 70, 17);

        yield return new ActivationCase(ActivationKind.Gelu, 4, 33) { InPlace = true };
        yield return new ActivationCase(ActivationKind.Sigmoid, 4, 33) { InPlace = true, NaNAt = [7] };
        yield return new ActivationCase(ActivationKind.None, 4, 33) { InPlace = true };
    }

    private static IEnumerable<OpCase> Linear()
    {
        // Every epilogue on one ragged shape (45 = 2·16 + 13 device tile columns, 70 = 2·32 + 6: a partial 4-bit block).
        foreach (var act in Activations)
        {
            foreach (bool bias in new[] { false, true })
            {
                foreach (bool residual in new[] { false, true })
                {
                    yield return new LinearCase(WeightType.F32, 5, 45, 70, bias, act, residual);
                }
            }
        }

        // Shapes: a single element, one token (the GEMV-like path), the 48-row few-row limit and just past it, tall.
        (int M, int N, int K)[] shapes = [(1, 1, 1), (1, 16, 32), (3, 17, 64), (9, 33, 129), (48, 20, 64), (49, 20, 64), (37, 45, 70), (0, 8, 32)];
        foreach (var type in new[] { WeightType.F32, WeightType.F16, WeightType.BF16 })
        {
            foreach (var (m, n, k) in shapes)
            {
                yield return new LinearCase(type, m, n, k, Bias: true, ActivationKind.Gelu, Residual: m % 2 == 1);
            }
        }

        // 4-bit: the block sizes the ONNX exports use (32 for the default model; 16, 64, 128 elsewhere), K both a
        // multiple of the block and not, with and without stored zero points.
        foreach (int block in new[] { 16, 32, 64, 128 })
        {
            foreach (var (m, n, k) in new[] { (1, 17, 2 * block), (4, 33, (2 * block) + 6), (49, 16, block) })
            {
                yield return new LinearCase(WeightType.Q4, m, n, k, Bias: true, ActivationKind.Gelu, Residual: true) { BlockSize = block };
            }
        }

        // MiniLM-L6's feed-forward down projection reads K = 1536 (in 48 blocks of 32): long sums, one token and a few.
        yield return new LinearCase(WeightType.Q4, 1, 24, 1536, Bias: true, ActivationKind.None, Residual: true);
        yield return new LinearCase(WeightType.Q4, 3, 24, 1536, Bias: true, ActivationKind.None, Residual: true);
        yield return new LinearCase(WeightType.F32, 3, 24, 1536, Bias: true, ActivationKind.None, Residual: true);

        // Enough multiply-adds (64·96·256 ≈ 1.6M) that the products split over threads.
        yield return new LinearCase(WeightType.F32, 64, 96, 256, Bias: true, ActivationKind.Gelu, Residual: true);
        yield return new LinearCase(WeightType.Q4, 64, 96, 256, Bias: true, ActivationKind.Gelu, Residual: true);
        yield return new LinearCase(WeightType.Q4, 16, 96, 256, Bias: true, ActivationKind.None, Residual: false);

        yield return new LinearCase(WeightType.Q4, 3, 20, 96, Bias: false, ActivationKind.None, Residual: false) { ZeroPoints = false };
        yield return new LinearCase(WeightType.Q4, 3, 20, 96, Bias: true, ActivationKind.Tanh, Residual: false);

        // A NaN in one input row makes exactly that output row NaN, whatever the epilogue (Relu included: C#'s Max keeps NaN).
        foreach (var (type, act) in new[] { (WeightType.F32, ActivationKind.None), (WeightType.F32, ActivationKind.Relu), (WeightType.F32, ActivationKind.Gelu), (WeightType.BF16, ActivationKind.None), (WeightType.Q4, ActivationKind.Gelu) })
        {
            yield return new LinearCase(type, 6, 19, 40, Bias: true, act, Residual: true) { NaNRow = 2 };
            yield return new LinearCase(type, 53, 19, 40, Bias: true, act, Residual: false) { NaNRow = 50 };
        }
    }

    private static IEnumerable<OpCase> LayerNorm()
    {
        foreach (int w in new[] { 1, 7, 16, 33, 100, 384 })
        {
            yield return new LayerNormCase(5, w, 1e-12f);
        }

        // A large mean must not cancel the variance; ε inside the square root matters when the variance is small.
        yield return new LayerNormCase(5, 100, 1e-12f) { Offset = 40 };
        yield return new LayerNormCase(5, 64, 1e-5f) { Scale = 0.01f };
        yield return new LayerNormCase(5, 64, 1e-3f) { Scale = 0.01f };
        yield return new LayerNormCase(4, 48, 1e-5f) { ConstantRow = 1 };
        yield return new LayerNormCase(4, 48, 1e-5f) { GainType = WeightType.F16 };
        yield return new LayerNormCase(4, 48, 1e-5f) { GainType = WeightType.BF16 };
        yield return new LayerNormCase(6, 33, 1e-12f) { InPlace = true };
        yield return new LayerNormCase(6, 33, 1e-12f) { NaNRow = 4 };
        yield return new LayerNormCase(0, 33, 1e-12f);
        yield return new LayerNormCase(70, 40, 1e-12f);
    }

    private static IEnumerable<OpCase> Attention()
    {
        // Head sizes with generated tiles (32, 64, 128) and without (1, 7, 8, 17, 48); lengths full, about half, 1 and 0.
        foreach (int d in new[] { 1, 7, 8, 17, 32, 48, 64, 128 })
        {
            foreach (int t in new[] { 1, 5, 65 })
            {
                yield return new AttentionCase(4, t, 2, d, [t, (t + 1) / 2, 1, 0]);
            }
        }

        // Several key blocks of 64 with a ragged last one; one head as MiniLM-L6 has them (12 × 32).
        yield return new AttentionCase(2, 130, 1, 32, [130, 129]);
        yield return new AttentionCase(1, 19, 12, 32, [17]);

        // Scores of several hundred: the online softmax must rescale, not overflow exp.
        foreach (int d in new[] { 32, 48, 64, 128 })
        {
            yield return new AttentionCase(2, 80, 1, d, [80, 71]) { Scale = 12 };
        }

        // A head wider than the device kernel's accumulator (the OpenCL backend declares it unsupported).
        yield return new AttentionCase(1, 3, 1, 256, [3]);

        // NaN: in a valid query row only that row of that head; in a valid key or value every valid row of the head
        // (a value only in its column); in a padded query, key or value row nothing, since padding is masked out.
        int[] lengths = [70, 66];
        foreach (var nan in new NaNPlacement[] { new("q", 5, 1), new("k", 65, 1), new("v", 3, 0), new("q", 70 + 67, 0), new("k", 70 + 68, 1), new("v", 70 + 69, 0) })
        {
            yield return new AttentionCase(2, 70, 2, 32, lengths) { NaN = nan };
        }

        // The same on the other generated tiles (64, 128) and the generic loop (17), valid and padded keys.
        foreach (int d in new[] { 17, 64, 128 })
        {
            yield return new AttentionCase(1, 70, 2, d, [66]) { NaN = new("k", 65, 1) };
            yield return new AttentionCase(1, 70, 2, d, [66]) { NaN = new("k", 68, 1) };
        }
    }

    private static IEnumerable<OpCase> Pooling()
    {
        foreach (int w in new[] { 1, 8, 17, 129 })
        {
            yield return new MeanPoolCase(6, [6, 3, 1, 0], w);
            yield return new ClsPoolCase(4, 6, w);
        }

        yield return new MeanPoolCase(1, [1, 0, 1], 33);
        yield return new MeanPoolCase(0, [0, 0], 16);
        yield return new ClsPoolCase(3, 1, 33);

        // A NaN in a valid row reaches its column of that sequence's mean; one in a padded row reaches nothing.
        yield return new MeanPoolCase(6, [6, 3], 17) { NaNRow = 8 };
        yield return new MeanPoolCase(6, [6, 3], 17) { NaNRow = 10 };
    }

    private static IEnumerable<OpCase> L2Normalize()
    {
        foreach (int w in new[] { 0, 1, 7, 16, 33, 384 })
        {
            yield return new L2NormalizeCase(5, w);
        }

        yield return new L2NormalizeCase(5, 384) { ZeroRow = 1, TinyRow = 3 };
        yield return new L2NormalizeCase(5, 33) { ZeroRow = 0, NaNRow = 2 };
        yield return new L2NormalizeCase(4, 33) { InPlace = true, ZeroRow = 2 };
    }

    private static IEnumerable<OpCase> EmbeddingSum()
    {
        foreach (var type in new[] { WeightType.F32, WeightType.F16, WeightType.BF16, WeightType.Q4 })
        {
            foreach (int h in new[] { 1, 17, 48, 129 })
            {
                if (type == WeightType.Q4 && h < 16)
                {
                    continue; // a 4-bit table needs at least one block of 16
                }

                yield return new EmbeddingSumCase(type, h, 7, TokenTypes: true) { BlockSize = 16 };
                yield return new EmbeddingSumCase(type, h, 7, TokenTypes: false) { BlockSize = 16 };
            }
        }

        yield return new EmbeddingSumCase(WeightType.F32, 32, 0, TokenTypes: true);
        yield return new EmbeddingSumCase(WeightType.F32, 32, 1, TokenTypes: false);
    }

    private static IEnumerable<OpCase> TopK()
    {
        yield return new TopKCase(4, 16, 40, 5);
        yield return new TopKCase(5, 24, 100, 4) { Chunks = [13, 60, 27], Bias = true, Scale = 2 };
        yield return new TopKCase(3, 384, 50, 8) { Chunks = [32, 18] };
        yield return new TopKCase(6, 1, 33, 3);

        // Exact ties from duplicated rows, inside a chunk and across chunk borders: the lower index first, alone at k = 1.
        foreach (int k in new[] { 1, 2, 4 })
        {
            yield return new TopKCase(3, 20, 40, k) { Chunks = [20, 20], Ties = [(2, 30), (7, 8), (11, 25)] };
        }

        yield return new TopKCase(3, 20, 40, 3) { Chunks = [16, 24], Bias = true, Ties = [(1, 39), (5, 6), (15, 16)] };

        // More slots than rows, an empty chunk, the device kernel's largest k and one past it, a corpus of 300 rows.
        yield return new TopKCase(2, 8, 3, 5);
        yield return new TopKCase(2, 8, 20, 3) { Chunks = [10, 0, 10] };
        yield return new TopKCase(4, 32, 120, 16) { Chunks = [64, 56] };
        yield return new TopKCase(2, 32, 40, 17);
        yield return new TopKCase(7, 48, 300, 6) { Chunks = [128, 128, 44] };
        yield return new TopKCase(0, 16, 10, 2);

        // NaN: a corpus row with a NaN scores NaN and is never selected; a query with a NaN selects nothing.
        yield return new TopKCase(4, 16, 30, 4) { NaNCorpusRow = 9 };
        yield return new TopKCase(4, 16, 30, 4) { NaNQuery = 2 };
    }

    private static IEnumerable<OpCase> Sinkhorn()
    {
        foreach (var kind in new[] { TransportKind.Balanced, TransportKind.Unbalanced, TransportKind.Partial })
        {
            float? mass = kind == TransportKind.Partial ? 0.6f : null;
            yield return new SinkhornCase(kind, [(5, 7), (1, 1), (12, 9), (2, 16)]) { Mass = mass };
            yield return new SinkhornCase(kind, [(0, 4), (3, 3), (4, 0)]) { Mass = mass };
            yield return new SinkhornCase(kind, [(6, 6), (4, 9)]) { Mass = mass, ZeroWeight = true };
            yield return new SinkhornCase(kind, [(7, 5)]) { Mass = mass, Epsilon = 0.5f };

            // A side longer than the device kernel's 256: the OpenCL backend hands it to the CPU solver (and counts it).
            yield return new SinkhornCase(kind, [(260, 6), (3, 4)]) { Mass = mass };
        }

        yield return new SinkhornCase(TransportKind.Unbalanced, [(6, 8)]) { Relaxation = 0.1f };
        yield return new SinkhornCase(TransportKind.Partial, [(6, 8), (3, 3)]);
    }
}

/// <summary>
/// The normalised-MSE bound per op, Σ(actual − expected)²/Σexpected² against the float64 oracle over the elements the
/// oracle has no NaN in. Bounds follow from float32 arithmetic (unit roundoff u = 2⁻²⁴ ≈ 6e-8, so one rounding is an
/// NMSE of at most u² ≈ 3.6e-15) with headroom for summation order and the backends' own exp/erf/tanh, and stay below
/// what a real slip costs: the largest element of an N-element output 1 % off is an NMSE of at least 1e-4/N (N ≤ 6144
/// for the linear cases, ≤ 66560 for attention), which PlantedMutationTests checks is caught for every case.
/// Measured worst cases (ReportWorstErrors, every backend here): activation 4e-15, linear 1.3e-13, layer norm
/// 1.5e-12, attention 3e-13, pooling/norm/embedding 6e-15, CLS 0.
/// </summary>
internal static class OpBounds
{
    /// <summary>ClsPool copies rows: exact.</summary>
    public const double Copy = 0;

    /// <summary>
    /// Sums of two or three rounded values (embedding sum), a mean of at most a few rows, a row scaled by one rounded
    /// norm: a few roundings per element, NMSE ~ 10u² ≈ 4e-14; bound 1e-12.
    /// </summary>
    public const double FewRoundings = 1e-12;

    /// <summary>
    /// Activations: the CPU kernels promise GELU within 1e-6 relative and the exp/tanh polynomials within a few ulps,
    /// so NMSE ≤ 1e-12; bound 1e-10 leaves 100× for devices' own erf/tanh.
    /// </summary>
    public const double Elementwise = 1e-10;

    /// <summary>
    /// Layer norm: a float32 mean and variance over ≤ 384 values, then one multiply-add; the variance of a row with
    /// mean 40 and spread ±3 loses log2(1600/3) ≈ 9 bits if computed as E[x²] − mean², an NMSE near 1e-10; two-pass
    /// variance stays near 1e-13. Bound 1e-9.
    /// </summary>
    public const double Normalisation = 1e-9;

    /// <summary>
    /// Products (linear, attention): float32 dot products of K ≤ 1536 terms, relative error ~ √K·u per element, NMSE
    /// ~ K·u² ≤ 6e-12; attention adds an exp per score and a softmax sum of ≤ 130 terms. The weights are exact in
    /// every type (the oracle reads the same f16/bf16/4-bit values the backend stores). Bound 1e-9: over 100× the
    /// estimate, 16× below one element of the largest linear output 1 % off.
    /// </summary>
    public const double Products = 1e-9;

    /// <summary>
    /// Top-k scores: a float32 dot product of d terms is within γ_d·Σ|q·c| of exact (γ_64 ≈ 3.8e-6), so each reported
    /// score may differ from the float64 one by 1e-5 of Σ|scale·q·c| + |bias|, and entries may swap only within that;
    /// the verdict reports the worst relative score error squared, bounded by this.
    /// </summary>
    public const double Scores = 1e-10;

    /// <summary>
    /// Transport plans at the fixed point: each entry is exp((f + g − C)/ε), whose float32 exponent carries an error of
    /// a few u·|f + g − C|/ε, ~1e-6 for ε ≥ 0.1 and costs below 1, so NMSE ~1e-12 at worst (measured: 5e-13). Bound
    /// 1e-10, far below a 1 % error in the largest cell of the batches here (NMSE ≥ 1e-4/1584 ≈ 6e-8).
    /// </summary>
    public const double Transport = 1e-10;

    public static double For(BackendOp op) => op switch
    {
        BackendOp.TopK => Scores,
        BackendOp.Sinkhorn => Transport,
        BackendOp.ClsPool => Copy,
        BackendOp.EmbeddingSum or BackendOp.MeanPool or BackendOp.L2Normalize => FewRoundings,
        BackendOp.Activation => Elementwise,
        BackendOp.LayerNorm => Normalisation,
        BackendOp.Linear or BackendOp.Attention => Products,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };
}
