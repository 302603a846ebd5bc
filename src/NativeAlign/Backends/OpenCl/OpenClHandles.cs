using Microsoft.Win32.SafeHandles;

namespace NativeAlign.Backends.OpenCl;

/// <summary>
/// Owns one OpenCL object and releases it exactly once, also when its owner is finalised instead of disposed.
/// The P/Invoke signatures take raw handles (blittable, no marshalling); callers keep the owner alive across a call.
/// </summary>
internal abstract class OpenClHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    protected OpenClHandle(nint handle)
        : base(ownsHandle: true) => SetHandle(handle);

    /// <summary>The raw handle for a native call.</summary>
    public nint Value => handle;
}

internal sealed class OpenClContextHandle(nint handle) : OpenClHandle(handle)
{
    protected override bool ReleaseHandle() => OpenClNative.ReleaseContext(handle) == OpenClNative.Success;
}

internal sealed class OpenClQueueHandle(nint handle) : OpenClHandle(handle)
{
    protected override bool ReleaseHandle() => OpenClNative.ReleaseCommandQueue(handle) == OpenClNative.Success;
}

internal sealed class OpenClMemoryHandle(nint handle) : OpenClHandle(handle)
{
    protected override bool ReleaseHandle() => OpenClNative.ReleaseMemObject(handle) == OpenClNative.Success;
}

internal sealed class OpenClProgramHandle(nint handle) : OpenClHandle(handle)
{
    protected override bool ReleaseHandle() => OpenClNative.ReleaseProgram(handle) == OpenClNative.Success;
}

internal sealed class OpenClKernelHandle(nint handle) : OpenClHandle(handle)
{
    protected override bool ReleaseHandle() => OpenClNative.ReleaseKernel(handle) == OpenClNative.Success;
}
