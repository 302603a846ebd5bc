using System.Buffers;

namespace NativeAlign.Tensors;

/// <summary>
/// A <see cref="Memory{T}"/> over floats the caller has pinned (a <c>fixed</c> span), so an API that takes memory can
/// borrow a span for the duration of one call without copying it. Valid only while the caller keeps it pinned.
/// </summary>
internal sealed unsafe class PinnedFloats(float* pointer, int length) : MemoryManager<float>
{
    public override Span<float> GetSpan() => new(pointer, length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
