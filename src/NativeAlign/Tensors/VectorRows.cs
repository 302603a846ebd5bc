namespace NativeAlign.Tensors;

/// <summary>
/// Row-major float32 vectors [<see cref="Count"/> × <see cref="Dimension"/>] that a streamed search reads a block of rows at
/// a time, wherever they live (an array, a spill file, a .npy); the reader decides what is resident, so a search over
/// rows on disk holds only the blocks it is working on.
/// </summary>
public interface IVectorRows
{
    /// <summary>Number of rows.</summary>
    int Count { get; }

    /// <summary>Values per row.</summary>
    int Dimension { get; }

    /// <summary>Copies rows <paramref name="first"/> … <paramref name="first"/> + <paramref name="count"/> − 1 into <paramref name="destination"/> (count × Dimension values).</summary>
    void Read(int first, int count, Span<float> destination);
}

/// <summary>Vectors held in an array.</summary>
public sealed class ArrayVectorRows : IVectorRows
{
    private readonly float[] _data;

    /// <summary>Wraps <paramref name="data"/> [count × dimension] (not copied).</summary>
    public ArrayVectorRows(float[] data, int count, int dimension)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (count < 0 || dimension <= 0 || (long)count * dimension != data.Length)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"vectors: {count} rows × {dimension} dimensions do not match {data.Length} values");
        }

        _data = data;
        Count = count;
        Dimension = dimension;
    }

    /// <inheritdoc />
    public int Count { get; }

    /// <inheritdoc />
    public int Dimension { get; }

    /// <inheritdoc />
    public void Read(int first, int count, Span<float> destination) =>
        _data.AsSpan(first * Dimension, count * Dimension).CopyTo(destination);
}

/// <summary>
/// The rows of another <see cref="IVectorRows"/> less some left out (for mining: blank lines, which would otherwise pair
/// with each other or with real sentences), renumbered 0… in order; <see cref="Original"/> maps a row back.
/// </summary>
public sealed class VectorRowSubset : IVectorRows
{
    private readonly IVectorRows _rows;
    private readonly int[] _kept;

    /// <summary>All rows of <paramref name="rows"/> except <paramref name="leftOut"/> (indices in ascending order).</summary>
    public VectorRowSubset(IVectorRows rows, IReadOnlyList<int> leftOut)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(leftOut);
        _rows = rows;
        _kept = new int[rows.Count - leftOut.Count];
        int next = 0, k = 0;
        for (int row = 0; row < rows.Count; row++)
        {
            if (next < leftOut.Count && leftOut[next] == row)
            {
                next++;
                continue;
            }

            _kept[k++] = row;
        }

        if (next != leftOut.Count)
        {
            throw new ArgumentException("the rows to leave out must be ascending indices of existing rows", nameof(leftOut));
        }
    }

    /// <inheritdoc />
    public int Count => _kept.Length;

    /// <inheritdoc />
    public int Dimension => _rows.Dimension;

    /// <summary>The row of the underlying rows that row <paramref name="row"/> of this subset is.</summary>
    public int Original(int row) => _kept[row];

    /// <inheritdoc />
    public void Read(int first, int count, Span<float> destination)
    {
        if (first < 0 || count < 0 || (long)first + count > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(first), $"rows {first}+{count} of {Count}");
        }

        // Kept rows come in runs of consecutive underlying rows; each run is one read.
        int d = Dimension;
        for (int i = 0; i < count;)
        {
            int start = _kept[first + i], run = 1;
            while (i + run < count && _kept[first + i + run] == start + run)
            {
                run++;
            }

            _rows.Read(start, run, destination.Slice(i * d, run * d));
            i += run;
        }
    }
}
