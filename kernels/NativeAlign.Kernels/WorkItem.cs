using System.Runtime.CompilerServices;

namespace NativeAlign.Kernels;

/// <summary>
/// Work-item and work-group ids and sizes. Inside a kernel each call becomes the OpenCL C built-in named by its
/// <see cref="OpenClBuiltinAttribute"/>; on the CPU the values come from <see cref="CpuReferenceRunner"/>, which sets
/// them per emulated work-item. Ids are <see cref="int"/> (OpenCL's are <c>size_t</c>): kernels here index at most
/// 2^31 elements, and int keeps the C# side free of casts.
/// </summary>
public static class WorkItem
{
    /// <summary>The work-item's global id along <paramref name="dimension"/> (<c>get_global_id</c>).</summary>
    [OpenClBuiltin("get_global_id")]
    public static int GlobalId(int dimension) => CpuWorkItemState.Current.GlobalId(dimension);

    /// <summary>The work-item's id inside its work-group (<c>get_local_id</c>).</summary>
    [OpenClBuiltin("get_local_id")]
    public static int LocalId(int dimension) => CpuWorkItemState.Current.LocalId(dimension);

    /// <summary>The work-group's id (<c>get_group_id</c>).</summary>
    [OpenClBuiltin("get_group_id")]
    public static int GroupId(int dimension) => CpuWorkItemState.Current.GroupId(dimension);

    /// <summary>The global size, as launched (possibly rounded up to the work-group size) (<c>get_global_size</c>).</summary>
    [OpenClBuiltin("get_global_size")]
    public static int GlobalSize(int dimension) => CpuWorkItemState.Current.Group.Global[dimension];

    /// <summary>The work-group size (<c>get_local_size</c>).</summary>
    [OpenClBuiltin("get_local_size")]
    public static int LocalSize(int dimension) => CpuWorkItemState.Current.Group.Local[dimension];

    /// <summary>The number of work-groups (<c>get_num_groups</c>).</summary>
    [OpenClBuiltin("get_num_groups")]
    public static int GroupCount(int dimension) => CpuWorkItemState.Current.Group.Global[dimension] / CpuWorkItemState.Current.Group.Local[dimension];

    /// <summary>
    /// Waits until every work-item of the work-group reaches this point, with local memory made consistent
    /// (<c>barrier(CLK_LOCAL_MEM_FENCE)</c>). On the CPU it needs <see cref="CpuReferenceRunner.RunCooperative"/>.
    /// </summary>
    [OpenClBuiltin("barrier", FixedArgument = "CLK_LOCAL_MEM_FENCE")]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Barrier() => CpuWorkItemState.Current.Group.WaitAtBarrier();
}
