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
