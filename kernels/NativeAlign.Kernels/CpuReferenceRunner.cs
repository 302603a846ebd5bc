namespace NativeAlign.Kernels;

/// <summary>
/// Runs a kernel method on the CPU over an NDRange, one emulated work-item at a time, setting the ids that
/// <see cref="WorkItem"/> returns. This is the scalar reference the device results are compared with.
/// </summary>
public static class CpuReferenceRunner
{
    /// <summary>
    /// Runs <paramref name="kernel"/> once per work-item, sequentially. The global size is rounded up to a multiple
    /// of <paramref name="local"/> as the OpenCL runtime does, so kernels see the same padded range on both sides.
    /// Kernels that call <see cref="WorkItem.Barrier"/> need <see cref="RunCooperative"/>.
    /// </summary>
    public static void Run(NDRange global, NDRange local, Action kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        foreach (var group in Groups(global, local))
        {
            for (int lz = 0; lz < group.Local[2]; lz++)
            {
                for (int ly = 0; ly < group.Local[1]; ly++)
                {
                    for (int lx = 0; lx < group.Local[0]; lx++)
                    {
                        CpuWorkItemState.Current = new CpuWorkItemState(group, lx, ly, lz);
                        kernel();
                    }
                }
            }
        }

        CpuWorkItemState.Current = null!;
    }

    /// <summary>
    /// Runs <paramref name="kernel"/> with one thread per work-item of a work-group, one group after the other, so
    /// that <see cref="WorkItem.Barrier"/> and <see cref="LocalBuffer{T}"/> behave as on a device. Slow; meant for
    /// tests with small ranges.
    /// </summary>
    public static void RunCooperative(NDRange global, NDRange local, Action kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        foreach (var group in Groups(global, local))
        {
            int size = group.Local[0] * group.Local[1] * group.Local[2];
            group.Barrier = new Barrier(size);
            var threads = new Thread[size];
            Exception? failure = null;
            for (int t = 0; t < size; t++)
            {
                var state = new CpuWorkItemState(group, t % group.Local[0], t / group.Local[0] % group.Local[1], t / (group.Local[0] * group.Local[1]));
                threads[t] = new Thread(() =>
                {
                    CpuWorkItemState.Current = state;
                    try
                    {
                        kernel();
                    }
                    catch (Exception e)
                    {
                        Interlocked.CompareExchange(ref failure, e, null);
                        group.Barrier.RemoveParticipant(); // so the other work-items do not wait forever
                    }
                }, maxStackSize: 256 << 10);
                threads[t].Start();
            }

            foreach (var thread in threads)
            {
                thread.Join();
            }

            group.Barrier.Dispose();
            if (failure is not null)
            {
                throw new InvalidOperationException($"kernel failed in work-group ({group.Id[0]},{group.Id[1]},{group.Id[2]}): {failure.Message}", failure);
            }
        }
    }

    private static IEnumerable<CpuWorkGroup> Groups(NDRange global, NDRange local)
    {
        var l = new int[3];
        var g = new int[3];
        for (int d = 0; d < 3; d++)
        {
            l[d] = Math.Max(1, local[d]);
            g[d] = global[d] == 0 ? 0 : (global[d] + l[d] - 1) / l[d] * l[d];
        }

        for (int gz = 0; gz < g[2] / l[2]; gz++)
        {
            for (int gy = 0; gy < g[1] / l[1]; gy++)
            {
                for (int gx = 0; gx < g[0] / l[0]; gx++)
                {
                    yield return new CpuWorkGroup(g, l, [gx, gy, gz]);
                }
            }
        }
    }
}

/// <summary>One emulated work-group: its sizes, id, local memory and barrier.</summary>
internal sealed class CpuWorkGroup(int[] global, int[] local, int[] id)
{
    private readonly Dictionary<int, Array> _localMemory = [];

    internal int[] Global { get; } = global;

    internal int[] Local { get; } = local;

    internal int[] Id { get; } = id;

    internal Barrier? Barrier { get; set; }

    internal void WaitAtBarrier()
    {
        if (Barrier is null)
        {
            if (Local[0] * Local[1] * Local[2] > 1)
            {
                throw new InvalidOperationException("WorkItem.Barrier() needs CpuReferenceRunner.RunCooperative when a work-group has more than one work-item");
            }

            return;
        }

        Barrier.SignalAndWait();
    }

    internal T[] LocalStorage<T>(int slot, int length)
    {
        lock (_localMemory)
        {
            if (!_localMemory.TryGetValue(slot, out var storage))
            {
                storage = new T[length];
                _localMemory.Add(slot, storage);
            }

            return (T[])storage;
        }
    }
}

/// <summary>The emulated work-item the current thread is running.</summary>
internal sealed class CpuWorkItemState(CpuWorkGroup group, int x, int y, int z)
{
    private int _allocations;

    [ThreadStatic]
    private static CpuWorkItemState? t_current;

    internal static CpuWorkItemState Current
    {
        get => t_current ?? throw new InvalidOperationException("work-item intrinsics are only meaningful inside a kernel run by CpuReferenceRunner or on a device");
        set => t_current = value;
    }

    internal CpuWorkGroup Group { get; } = group;

    /// <summary>The ordinal of this work-item's next kernel-scope local allocation.</summary>
    internal int NextAllocation() => _allocations++;

    internal int LocalId(int dimension) => dimension switch { 0 => x, 1 => y, 2 => z, _ => 0 };

    internal int GroupId(int dimension) => dimension is >= 0 and < 3 ? Group.Id[dimension] : 0;

    internal int GlobalId(int dimension) => dimension is >= 0 and < 3 ? (Group.Id[dimension] * Group.Local[dimension]) + LocalId(dimension) : 0;
}
