using NativeAlign.Kernels;

namespace NativeAlign.Backends.OpenCl;

/// <summary>
/// A buffer of <typeparamref name="T"/> in an OpenCL context's global memory. Reads and writes go through the
/// context's in-order queue, so they see every kernel enqueued before them.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public sealed unsafe class OpenClBuffer<T> : IDeviceBuffer<T>, IDisposable
    where T : unmanaged
{
    private readonly OpenClMemoryHandle _memory;

    internal OpenClBuffer(OpenClContext context, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Context = context;
        Length = length;

        // OpenCL refuses zero-sized buffers; an empty one still gets one element so it can be bound.
        long bytes = Math.Max(1L, length) * sizeof(T);
        int status;
        nint memory = OpenClNative.CreateBuffer(context.ContextHandle, OpenClNative.MemReadWrite, (nuint)bytes, null, &status);
        OpenClNative.Check(status, $"clCreateBuffer({bytes} bytes)");
        _memory = new OpenClMemoryHandle(memory);
    }

    /// <summary>The context the buffer belongs to.</summary>
    public OpenClContext Context { get; }

    /// <inheritdoc />
    public int Length { get; }

    /// <inheritdoc />
    public nint NativeHandle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_memory.IsClosed, this);
            return _memory.Value;
        }
    }

    /// <summary>Copies <paramref name="source"/> to the start of the buffer, waiting until the copy is done.</summary>
    public void Write(ReadOnlySpan<T> source)
    {
        if (source.Length > Length)
        {
            throw new ArgumentException($"{source.Length} elements do not fit a buffer of {Length}", nameof(source));
        }

        if (source.IsEmpty)
        {
            return;
        }

        fixed (T* s = source)
        {
            OpenClNative.Check(
                OpenClNative.EnqueueWriteBuffer(Context.QueueHandle, NativeHandle, 1, 0, (nuint)((long)source.Length * sizeof(T)), s, 0, null, null),
                "clEnqueueWriteBuffer");
        }

        GC.KeepAlive(this);
    }

    /// <summary>Copies the start of the buffer into <paramref name="destination"/>, waiting for earlier kernels and the copy.</summary>
    public void Read(Span<T> destination)
    {
        if (destination.Length > Length)
        {
            throw new ArgumentException($"{destination.Length} elements exceed a buffer of {Length}", nameof(destination));
        }

        if (destination.IsEmpty)
        {
            return;
        }

        fixed (T* d = destination)
        {
            OpenClNative.Check(
                OpenClNative.EnqueueReadBuffer(Context.QueueHandle, NativeHandle, 1, 0, (nuint)((long)destination.Length * sizeof(T)), d, 0, null, null),
                "clEnqueueReadBuffer");
        }

        GC.KeepAlive(this);
    }

    /// <summary>Reads the whole buffer into a new array.</summary>
    public T[] ToArray()
    {
        var result = new T[Length];
        Read(result);
        return result;
    }

    /// <inheritdoc />
    public void Dispose() => _memory.Dispose();

    internal bool BelongsTo(OpenClContext context) => ReferenceEquals(Context, context);
}
