namespace NativeAlign.Tensors;

/// <summary>A row-major float32 activation matrix owned by a backend (host memory for CPU backends, a device buffer elsewhere).</summary>
public abstract class BackendMatrix
{
    /// <summary>Creates the handle.</summary>
    protected BackendMatrix(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        Rows = rows;
        Columns = columns;
    }

    /// <summary>Number of rows.</summary>
    public int Rows { get; }

    /// <summary>Number of columns (the row stride).</summary>
    public int Columns { get; }
}
