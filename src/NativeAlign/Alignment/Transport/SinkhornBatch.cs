namespace NativeAlign.Alignment.Transport;

/// <summary>
/// Many independent transport problems of possibly different shapes, packed back to back in flat arrays so a batch
/// solve touches no per-problem allocation. Fill <see cref="Costs"/>, <see cref="SourceWeights"/> and
/// <see cref="TargetWeights"/> through the per-problem views, then call <see cref="SinkhornSolver.SolveBatch"/>.
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

    /// <summary>Cost matrix of problem <paramref name="p"/>.</summary>
    public Span<float> Cost(int p) => Costs.AsSpan((int)_cellOffset[p], Rows[p] * Cols[p]);

    /// <summary>Plan of problem <paramref name="p"/>.</summary>
    public Span<float> Plan(int p) => Plans.AsSpan((int)_cellOffset[p], Rows[p] * Cols[p]);

    /// <summary>Source marginal of problem <paramref name="p"/>.</summary>
    public Span<float> Source(int p) => SourceWeights.AsSpan((int)_rowOffset[p], Rows[p]);

    /// <summary>Target marginal of problem <paramref name="p"/>.</summary>
    public Span<float> Target(int p) => TargetWeights.AsSpan((int)_colOffset[p], Cols[p]);
}
