using NativeAlign.Backends;
using NativeAlign.Tensors;

namespace NativeAlign.Models;

/// <summary>
/// The activations of one forward pass (encoder and sentence head), leased from allocations that outlive it: a pass
/// takes a workspace, leases every matrix it needs as a view of a block large enough, and <see cref="Reset"/> hands all
/// of them back at once when its result has been read. After the first few passes the blocks fit every shape the model
/// meets, so a steady stream of requests allocates no activation memory at all, on the host or on a device; the blocks
/// are released deterministically by <see cref="Dispose"/>, never by a finalizer.
/// </summary>
/// <remarks>Not thread-safe: one pass uses a workspace at a time (<see cref="SentenceEncoder"/> keeps a pool of them).</remarks>
internal sealed class ActivationWorkspace : IDisposable
{
    private readonly IComputeBackend _backend;
    private readonly List<BackendMatrix> _blocks = [];
    private readonly List<bool> _leased = [];
    private float[] _host = [];
    private bool _disposed;

    public ActivationWorkspace(IComputeBackend backend) => _backend = backend;

    /// <summary>Floats held in blocks, for tests and diagnostics.</summary>
    public long CapacityFloats => _blocks.Sum(b => (long)b.Rows * b.Columns);

    /// <summary>A rows × columns matrix, valid until <see cref="Reset"/>; its contents are undefined (ops overwrite their outputs).</summary>
    public BackendMatrix Lease(int rows, int columns)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long need = Math.Max(1L, (long)rows * columns);

        // The smallest free block that fits, so that the large ones stay for the large activations.
        int best = -1;
        for (int i = 0; i < _blocks.Count; i++)
        {
            long size = (long)_blocks[i].Rows * _blocks[i].Columns;
            if (!_leased[i] && size >= need && (best < 0 || size < (long)_blocks[best].Rows * _blocks[best].Columns))
            {
                best = i;
            }
        }

        if (best < 0)
        {
            // A quarter more than asked, so that a slightly longer batch next time still fits.
            long size = need + (need / 4);
            if (size > int.MaxValue)
            {
                throw new NativeAlignException(ErrorKind.Usage, $"an activation of {rows}x{columns} floats is too large; lower the batch token budget");
            }

            _blocks.Add(_backend.Allocate(1, (int)size));
            _leased.Add(false);
            best = _blocks.Count - 1;
        }

        _leased[best] = true;
        return _backend.View(_blocks[best], rows, columns);
    }

    /// <summary>A host array of at least <paramref name="length"/> floats for downloads, reused across passes.</summary>
    public float[] HostBuffer(int length)
    {
        if (_host.Length < length)
        {
            _host = new float[length + (length / 4)];
        }

        return _host;
    }

    /// <summary>Hands every leased matrix back; views leased before must not be used after.</summary>
    public void Reset()
    {
        for (int i = 0; i < _leased.Count; i++)
        {
            _leased[i] = false;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var block in _blocks)
        {
            block.Dispose();
        }

        _blocks.Clear();
        _leased.Clear();
    }
}
