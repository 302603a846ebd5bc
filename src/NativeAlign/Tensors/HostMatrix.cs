namespace NativeAlign.Tensors;

/// <summary>
/// A row-major float32 matrix in ordinary host memory: <see cref="BackendMatrix.Rows"/> × <see cref="BackendMatrix.Columns"/> elements over a
/// slice of an array. The CPU and reference backends keep activations in it; it owns nothing but the array reference.
/// </summary>
public sealed class HostMatrix : BackendMatrix
{
    /// <summary>Creates a zeroed matrix.</summary>
    public HostMatrix(int rows, int columns)
        : this(rows, columns, new float[checked(rows * columns)])
    {
    }

    /// <summary>Wraps <paramref name="data"/>, which must hold at least rows × columns elements.</summary>
    public HostMatrix(int rows, int columns, Memory<float> data)
        : base(rows, columns)
    {
        if (data.Length < (long)rows * columns)
        {
            throw new ArgumentException($"buffer of {data.Length} floats is smaller than {rows}x{columns}", nameof(data));
        }

        Data = data[..(rows * columns)];
    }

    /// <summary>The elements, exactly Rows × Columns of them.</summary>
    public Memory<float> Data { get; }

    /// <summary>The elements as a span.</summary>
    public Span<float> Span => Data.Span;

    /// <summary>Row <paramref name="row"/>.</summary>
    public Span<float> Row(int row) => Data.Span.Slice(row * Columns, Columns);
}
