namespace NativeAlign.Tensors;

/// <summary>
/// A row-major float32 activation matrix owned by a backend (host memory for CPU backends, a device buffer elsewhere).
/// Its lifetime is explicit: <see cref="Dispose"/> releases device memory at once, never left to a finalizer. A view
/// (see the backend's <c>View</c>) shares another matrix's storage and releases nothing.
/// </summary>
public abstract class BackendMatrix : IDisposable
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

    /// <summary>Releases the storage this matrix owns (nothing for host memory, which the collector takes, or a view).</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);
}
