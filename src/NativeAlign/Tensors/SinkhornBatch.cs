namespace NativeAlign.Tensors;

/// <summary>
/// Many independent transport problems of possibly different shapes, packed back to back in flat arrays so a batch
/// solve touches no per-problem allocation. Fill <see cref="Costs"/>, <see cref="SourceWeights"/> and
/// <see cref="TargetWeights"/> through the per-problem views, then solve them all at once on a compute backend.
/// </summary>
public sealed class SinkhornBatch
{
    private readonly long[] _cellOffset;
    private readonly long[] _rowOffset;
    private readonly long[] _colOffset;

    /// <summary>Allocates a batch for problems of the given shapes.</summary>
    /// <param name="rows">Rows (source points) of each problem.</param>
    /// <param name="cols">Columns (target points) of each problem.</param>
    public SinkhornBatch(ReadOnlySpan<int> rows, ReadOnlySpan<int> cols)
    {
        if (rows.Length != cols.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"batch shapes: {rows.Length} row counts but {cols.Length} column counts");
        }

        Rows = rows.ToArray();
        Cols = cols.ToArray();
        _cellOffset = new long[rows.Length + 1];
        _rowOffset = new long[rows.Length + 1];
        _colOffset = new long[rows.Length + 1];
        for (int p = 0; p < rows.Length; p++)
        {
            if (rows[p] < 0 || cols[p] < 0)
            {
                throw new NativeAlignException(ErrorKind.Usage, $"batch problem {p}: negative shape {rows[p]}×{cols[p]}");
            }

            _cellOffset[p + 1] = _cellOffset[p] + ((long)rows[p] * cols[p]);
            _rowOffset[p + 1] = _rowOffset[p] + rows[p];
            _colOffset[p + 1] = _colOffset[p] + cols[p];
        }

        if (_cellOffset[^1] > Array.MaxLength)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"batch too large: {_cellOffset[^1]} cells; split it");
        }

        Costs = new float[_cellOffset[^1]];
        Plans = new float[_cellOffset[^1]];
        SourceWeights = new float[_rowOffset[^1]];
        TargetWeights = new float[_colOffset[^1]];
        Iterations = new int[rows.Length];
        TransportedMasses = new float[rows.Length];
        Array.Fill(TransportedMasses, float.NaN);
    }

    /// <summary>
    /// Partial transport only: the mass moved in each problem, overriding <see cref="SinkhornOptions.TransportedMass"/>;
    /// NaN (the initial value) means the options' value.
    /// </summary>
    public float[] TransportedMasses { get; }

    /// <summary>Number of problems.</summary>
    public int Count => Rows.Length;

    /// <summary>Rows of each problem.</summary>
    public int[] Rows { get; }

    /// <summary>Columns of each problem.</summary>
    public int[] Cols { get; }

    /// <summary>All cost matrices, back to back, each row-major.</summary>
    public float[] Costs { get; }

    /// <summary>All plans, laid out like <see cref="Costs"/>.</summary>
    public float[] Plans { get; }

    /// <summary>All source marginals, back to back.</summary>
    public float[] SourceWeights { get; }

    /// <summary>All target marginals, back to back.</summary>
    public float[] TargetWeights { get; }

    /// <summary>Iterations each problem ran.</summary>
    public int[] Iterations { get; }

    /// <summary>Index of problem <paramref name="p"/>'s first cell in <see cref="Costs"/> and <see cref="Plans"/>.</summary>
    internal long CellOffset(int p) => _cellOffset[p];

    /// <summary>Index of problem <paramref name="p"/>'s first weight in <see cref="SourceWeights"/>.</summary>
    internal long RowOffset(int p) => _rowOffset[p];

    /// <summary>Index of problem <paramref name="p"/>'s first weight in <see cref="TargetWeights"/>.</summary>
    internal long ColumnOffset(int p) => _colOffset[p];

    /// <summary>Cost matrix of problem <paramref name="p"/>.</summary>
    public Span<float> Cost(int p) => Costs.AsSpan((int)_cellOffset[p], Rows[p] * Cols[p]);

    /// <summary>Plan of problem <paramref name="p"/>.</summary>
    public Span<float> Plan(int p) => Plans.AsSpan((int)_cellOffset[p], Rows[p] * Cols[p]);

    /// <summary>Source marginal of problem <paramref name="p"/>.</summary>
    public Span<float> Source(int p) => SourceWeights.AsSpan((int)_rowOffset[p], Rows[p]);

    /// <summary>Target marginal of problem <paramref name="p"/>.</summary>
    public Span<float> Target(int p) => TargetWeights.AsSpan((int)_colOffset[p], Cols[p]);

    /// <summary>
    /// Checks the options and every problem's marginals (non-negative, finite, positive sums) and, for partial transport,
    /// the mass each problem moves; throws a usage <see cref="NativeAlignException"/> naming the problem otherwise.
    /// </summary>
    public void Validate(SinkhornOptions options)
    {
        ValidateOptions(options);
        for (int p = 0; p < Count; p++)
        {
            if (Rows[p] == 0 || Cols[p] == 0)
            {
                continue;
            }

            var (sa, sb) = ValidateMarginals(Source(p), Target(p), p);
            if (options.Kind == TransportKind.Partial)
            {
                PartialMass(float.IsNaN(TransportedMasses[p]) ? options.TransportedMass : TransportedMasses[p], sa, sb);
            }
        }
    }

    /// <summary>The mass moved by problem <paramref name="p"/> of a partial solve: its own value, the options' value, else min(Σa, Σb).</summary>
    public double PartialMass(int p, SinkhornOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        double sa = 0, sb = 0;
        foreach (var x in Source(p))
        {
            sa += x;
        }

        foreach (var x in Target(p))
        {
            sb += x;
        }

        return PartialMass(float.IsNaN(TransportedMasses[p]) ? options.TransportedMass : TransportedMasses[p], sa, sb);
    }

    /// <summary>The mass a partial solve moves (<paramref name="requested"/>, or min(Σa, Σb) when null), checked to lie in (0, min(Σa, Σb)].</summary>
    internal static double PartialMass(float? requested, double sumA, double sumB)
    {
        double mass = requested ?? Math.Min(sumA, sumB);
        if (!(mass > 0) || mass > Math.Min(sumA, sumB) * (1 + 1e-6))
        {
            throw new NativeAlignException(ErrorKind.Usage, $"partial transport: the mass to move must be in (0, min(Σa, Σb) = {Math.Min(sumA, sumB)}], got {mass}");
        }

        return mass;
    }

    /// <summary>Checks one problem given as spans (the single-problem solve).</summary>
    internal static void ValidateProblem(ReadOnlySpan<float> cost, int rows, int cols, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> plan, SinkhornOptions options)
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
        ArgumentNullException.ThrowIfNull(o);

        // The solvers work with 1/ε: an ε so small (subnormal) that 1/ε overflows would turn every plan into NaN.
        if (!(o.Epsilon > 0) || float.IsInfinity(o.Epsilon) || float.IsInfinity(1f / o.Epsilon))
        {
            throw new NativeAlignException(ErrorKind.Usage, $"Sinkhorn ε must be a positive finite number with a finite reciprocal (at least {1f / float.MaxValue:G3}), got {o.Epsilon}");
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

    private static (double SumA, double SumB) ValidateMarginals(ReadOnlySpan<float> a, ReadOnlySpan<float> b, int problem)
    {
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

        return (sa, sb);
    }
}
