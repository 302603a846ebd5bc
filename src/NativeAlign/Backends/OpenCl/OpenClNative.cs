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

    // Error codes named in messages.
    internal const int BuildProgramFailure = -11;
    internal const int InvalidBinary = -42;

    // cl_mem_flags
    internal const ulong MemReadWrite = 1 << 0;

    // cl_program_build_info / cl_program_info
    internal const uint ProgramBuildStatus = 0x1181;
    internal const uint ProgramBuildLog = 0x1183;
    internal const uint ProgramNumDevices = 0x1162;
    internal const uint ProgramBinarySizes = 0x1165;
    internal const uint ProgramBinaries = 0x1166;

    // cl_context_properties
    internal const nint ContextPlatform = 0x1084;

    [LibraryImport(Library, EntryPoint = "clGetPlatformIDs")]
    internal static unsafe partial int GetPlatformIDs(uint numEntries, nint* platforms, uint* numPlatforms);

    [LibraryImport(Library, EntryPoint = "clGetPlatformInfo")]
    internal static unsafe partial int GetPlatformInfo(nint platform, uint paramName, nuint valueSize, void* value, nuint* valueSizeRet);

    [LibraryImport(Library, EntryPoint = "clGetDeviceIDs")]
    internal static unsafe partial int GetDeviceIDs(nint platform, ulong deviceType, uint numEntries, nint* devices, uint* numDevices);

    [LibraryImport(Library, EntryPoint = "clGetDeviceInfo")]
    internal static unsafe partial int GetDeviceInfo(nint device, uint paramName, nuint valueSize, void* value, nuint* valueSizeRet);

    [LibraryImport(Library, EntryPoint = "clCreateContext")]
    internal static unsafe partial nint CreateContext(nint* properties, uint numDevices, nint* devices, nint notify, nint userData, int* errorCode);

    // OpenCL 1.2 entry point (deprecated from 2.0 but kept by every ICD); properties 0 = an in-order queue.
    [LibraryImport(Library, EntryPoint = "clCreateCommandQueue")]
    internal static unsafe partial nint CreateCommandQueue(nint context, nint device, ulong properties, int* errorCode);

    [LibraryImport(Library, EntryPoint = "clCreateBuffer")]
    internal static unsafe partial nint CreateBuffer(nint context, ulong flags, nuint size, void* hostPtr, int* errorCode);

    [LibraryImport(Library, EntryPoint = "clEnqueueWriteBuffer")]
    internal static unsafe partial int EnqueueWriteBuffer(nint queue, nint buffer, uint blocking, nuint offset, nuint size, void* source, uint numEvents, nint* waitList, nint* evt);

    [LibraryImport(Library, EntryPoint = "clEnqueueReadBuffer")]
    internal static unsafe partial int EnqueueReadBuffer(nint queue, nint buffer, uint blocking, nuint offset, nuint size, void* destination, uint numEvents, nint* waitList, nint* evt);

    [LibraryImport(Library, EntryPoint = "clCreateProgramWithSource")]
    internal static unsafe partial nint CreateProgramWithSource(nint context, uint count, byte** strings, nuint* lengths, int* errorCode);

    [LibraryImport(Library, EntryPoint = "clCreateProgramWithBinary")]
    internal static unsafe partial nint CreateProgramWithBinary(nint context, uint numDevices, nint* devices, nuint* lengths, byte** binaries, int* binaryStatus, int* errorCode);

    [LibraryImport(Library, EntryPoint = "clBuildProgram")]
    internal static unsafe partial int BuildProgram(nint program, uint numDevices, nint* devices, byte* options, nint notify, nint userData);

    [LibraryImport(Library, EntryPoint = "clGetProgramBuildInfo")]
    internal static unsafe partial int GetProgramBuildInfo(nint program, nint device, uint paramName, nuint valueSize, void* value, nuint* valueSizeRet);

    [LibraryImport(Library, EntryPoint = "clGetProgramInfo")]
    internal static unsafe partial int GetProgramInfo(nint program, uint paramName, nuint valueSize, void* value, nuint* valueSizeRet);

    [LibraryImport(Library, EntryPoint = "clCreateKernel")]
    internal static unsafe partial nint CreateKernel(nint program, byte* name, int* errorCode);

    [LibraryImport(Library, EntryPoint = "clSetKernelArg")]
    internal static unsafe partial int SetKernelArg(nint kernel, uint index, nuint size, void* value);

    [LibraryImport(Library, EntryPoint = "clEnqueueNDRangeKernel")]
    internal static unsafe partial int EnqueueNDRangeKernel(nint queue, nint kernel, uint workDim, nuint* globalOffset, nuint* globalSize, nuint* localSize, uint numEvents, nint* waitList, nint* evt);

    [LibraryImport(Library, EntryPoint = "clFinish")]
    internal static partial int Finish(nint queue);

    [LibraryImport(Library, EntryPoint = "clReleaseContext")]
    internal static partial int ReleaseContext(nint context);

    [LibraryImport(Library, EntryPoint = "clReleaseCommandQueue")]
    internal static partial int ReleaseCommandQueue(nint queue);

    [LibraryImport(Library, EntryPoint = "clReleaseMemObject")]
    internal static partial int ReleaseMemObject(nint buffer);

    [LibraryImport(Library, EntryPoint = "clReleaseProgram")]
    internal static partial int ReleaseProgram(nint program);

    [LibraryImport(Library, EntryPoint = "clReleaseKernel")]
    internal static partial int ReleaseKernel(nint kernel);

    /// <summary>Throws a <see cref="BackendException"/> naming the call and the error when <paramref name="status"/> is not success.</summary>
    internal static void Check(int status, string call)
    {
        if (status != Success)
        {
            throw new BackendException($"{call} failed with OpenCL error {status} ({ErrorName(status)})");
        }
    }

    /// <summary>The symbolic name of the common OpenCL error codes, for messages.</summary>
    internal static string ErrorName(int status) => status switch
    {
        -1 => "CL_DEVICE_NOT_FOUND",
        -2 => "CL_DEVICE_NOT_AVAILABLE",
        -4 => "CL_MEM_OBJECT_ALLOCATION_FAILURE",
        -5 => "CL_OUT_OF_RESOURCES",
        -6 => "CL_OUT_OF_HOST_MEMORY",
        -11 => "CL_BUILD_PROGRAM_FAILURE",
        -30 => "CL_INVALID_VALUE",
        -33 => "CL_INVALID_DEVICE",
        -34 => "CL_INVALID_CONTEXT",
        -36 => "CL_INVALID_COMMAND_QUEUE",
        -38 => "CL_INVALID_MEM_OBJECT",
        -42 => "CL_INVALID_BINARY",
        -43 => "CL_INVALID_BUILD_OPTIONS",
        -44 => "CL_INVALID_PROGRAM",
        -45 => "CL_INVALID_PROGRAM_EXECUTABLE",
        -46 => "CL_INVALID_KERNEL_NAME",
        -48 => "CL_INVALID_KERNEL",
        -49 => "CL_INVALID_ARG_INDEX",
        -50 => "CL_INVALID_ARG_VALUE",
        -51 => "CL_INVALID_ARG_SIZE",
        -52 => "CL_INVALID_KERNEL_ARGS",
        -53 => "CL_INVALID_WORK_DIMENSION",
        -54 => "CL_INVALID_WORK_GROUP_SIZE",
        -55 => "CL_INVALID_WORK_ITEM_SIZE",
        -61 => "CL_INVALID_BUFFER_SIZE",
        -63 => "CL_INVALID_GLOBAL_WORK_SIZE",
        _ => "see the OpenCL error code list",
    };
}
