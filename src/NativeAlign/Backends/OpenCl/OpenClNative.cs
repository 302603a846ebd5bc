using System.Runtime.InteropServices;

namespace NativeAlign.Backends.OpenCl;

/// <summary>
/// Bindings to the OpenCL ICD loader, generated at compile time by <see cref="LibraryImportAttribute"/>
/// (no run-time marshalling stubs, so they work under NativeAOT).
/// </summary>
internal static partial class OpenClNative
{
    internal const string Library = "libOpenCL.so.1";

    internal const int Success = 0;
    internal const int PlatformNotFoundKhr = -1001;

    internal const uint PlatformName = 0x0902;
    internal const uint PlatformVendor = 0x0903;
    internal const uint PlatformVersion = 0x0901;

    internal const ulong DeviceTypeAll = 0xFFFFFFFF;
    internal const uint DeviceType = 0x1000;
    internal const uint DeviceMaxComputeUnits = 0x1002;
    internal const uint DeviceMaxWorkGroupSize = 0x1004;
    internal const uint DeviceGlobalMemSize = 0x101F;
    internal const uint DeviceLocalMemSize = 0x1023;
    internal const uint DeviceName = 0x102B;
    internal const uint DeviceVendor = 0x102C;
    internal const uint DriverVersion = 0x102D;
    internal const uint DeviceVersion = 0x102F;
    internal const uint DeviceExtensions = 0x1030;

    [LibraryImport(Library, EntryPoint = "clGetPlatformIDs")]
    internal static unsafe partial int GetPlatformIDs(uint numEntries, nint* platforms, uint* numPlatforms);

    [LibraryImport(Library, EntryPoint = "clGetPlatformInfo")]
    internal static unsafe partial int GetPlatformInfo(nint platform, uint paramName, nuint valueSize, void* value, nuint* valueSizeRet);

    [LibraryImport(Library, EntryPoint = "clGetDeviceIDs")]
    internal static unsafe partial int GetDeviceIDs(nint platform, ulong deviceType, uint numEntries, nint* devices, uint* numDevices);

    [LibraryImport(Library, EntryPoint = "clGetDeviceInfo")]
    internal static unsafe partial int GetDeviceInfo(nint device, uint paramName, nuint valueSize, void* value, nuint* valueSizeRet);
}
