using System.Runtime.CompilerServices;

namespace NativeAlign.Kernels;

/// <summary>
/// A writable buffer in global memory (<c>__global T*</c> in OpenCL C). On the CPU it views an array, so the kernel
/// method itself is the scalar reference; on a device the generated descriptor binds an <see cref="IDeviceBuffer{T}"/>.
/// </summary>
/// <typeparam name="T">An unmanaged element type the translator maps (float, int, uint, long, ...).</typeparam>
public readonly struct GlobalBuffer<T>
    where T : unmanaged
{
    private readonly T[] _items;

    /// <summary>Views <paramref name="items"/> (CPU reference path).</summary>
    public GlobalBuffer(T[] items) => _items = items;

    /// <summary>The element at <paramref name="index"/>.</summary>
    public ref T this[int index] => ref _items[index];
}

/// <summary>A read-only buffer in global memory (<c>__global const T*</c>).</summary>
/// <typeparam name="T">An unmanaged element type the translator maps.</typeparam>
public readonly struct ReadOnlyGlobalBuffer<T>
    where T : unmanaged
{
    private readonly T[] _items;

    /// <summary>Views <paramref name="items"/> (CPU reference path).</summary>
    public ReadOnlyGlobalBuffer(T[] items) => _items = items;

    /// <summary>The element at <paramref name="index"/>.</summary>
    public T this[int index] => _items[index];
}

/// <summary>
/// A buffer in work-group local memory (<c>__local T*</c>), shared by the work-items of one work-group. The host
/// passes only its length; on the CPU each emulated work-group gets its own zeroed storage.
/// </summary>
/// <typeparam name="T">An unmanaged element type the translator maps.</typeparam>
public readonly struct LocalBuffer<T>
    where T : unmanaged
{
    private readonly int _slot;

    /// <summary>
    /// Declares local memory of <paramref name="length"/> elements (CPU reference path). Create it once per launch,
    /// outside the per-work-item delegate: its identity selects the storage each emulated work-group shares.
    /// </summary>
    public LocalBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        _slot = Interlocked.Increment(ref LocalSlots.Next);
    }

    /// <summary>A buffer bound to an explicit storage slot (kernel-scope allocations use negative slots).</summary>
    internal LocalBuffer(int length, int slot)
    {
        Length = length;
        _slot = slot;
    }

    /// <summary>The number of elements.</summary>
    public int Length { get; }

    /// <summary>The element at <paramref name="index"/> in the current work-group's storage.</summary>
    public ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref CpuWorkItemState.Current.Group.LocalStorage<T>(_slot, Length)[index];
    }
}

/// <summary>Local memory declared inside a kernel.</summary>
public static class LocalMemory
{
    /// <summary>
    /// Declares <paramref name="length"/> elements of work-group local memory at the kernel's outermost scope, as
    /// <c>LocalBuffer&lt;float&gt; tile = LocalMemory.Allocate&lt;float&gt;(256);</c>; translated to
    /// <c>__local float tile[256];</c>, so the length must be a compile-time constant. On the CPU the n-th
    /// allocation of every work-item of a group returns the same storage, as on a device.
    /// </summary>
    public static LocalBuffer<T> Allocate<T>(int length)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new LocalBuffer<T>(length, -1 - CpuWorkItemState.Current.NextAllocation());
    }
}

/// <summary>Hands out distinct identities to local buffers so that each work-group can key its storage by them.</summary>
internal static class LocalSlots
{
    internal static int Next;
}

/// <summary>
/// A buffer living on a device, as the generated descriptors bind it. Implemented by the engine's backends
/// (e.g. the OpenCL runtime's buffer type); the element type makes a binding type-checked at compile time.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public interface IDeviceBuffer<T>
    where T : unmanaged
{
    /// <summary>The number of elements.</summary>
    int Length { get; }

    /// <summary>The backend's native handle (an OpenCL <c>cl_mem</c>).</summary>
    nint NativeHandle { get; }
}
