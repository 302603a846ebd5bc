using System.Text;

namespace NativeAlign.Backends.OpenCl;

/// <summary>One OpenCL device as the driver describes it.</summary>
/// <param name="Index">Position in the flattened list over all platforms; what <c>--device N</c> selects.</param>
/// <param name="Platform">The platform's name (e.g. "Portable Computing Language").</param>
/// <param name="Name">The device name.</param>
/// <param name="Vendor">The device vendor.</param>
/// <param name="Version">The OpenCL version string of the device.</param>
/// <param name="DriverVersion">The driver version string.</param>
/// <param name="Type">"GPU", "CPU", "accelerator" or "other".</param>
/// <param name="ComputeUnits">Number of compute units.</param>
/// <param name="GlobalMemoryBytes">Global memory size in bytes.</param>
/// <param name="LocalMemoryBytes">Local memory size in bytes.</param>
/// <param name="MaxWorkGroupSize">Largest work-group size.</param>
/// <param name="Extensions">The device's extension names, space-separated as the driver reports them.</param>
/// <param name="Handle">The native <c>cl_device_id</c>.</param>
/// <param name="PlatformHandle">The native <c>cl_platform_id</c>.</param>
public sealed record OpenClDeviceInfo(
    int Index,
    string Platform,
    string Name,
    string Vendor,
    string Version,
    string DriverVersion,
    string Type,
    int ComputeUnits,
    long GlobalMemoryBytes,
    long LocalMemoryBytes,
    long MaxWorkGroupSize,
    string Extensions,
    nint Handle,
    nint PlatformHandle)
{
    /// <summary>Whether the device reports the extension <paramref name="name"/> (e.g. cl_khr_fp16).</summary>
    public bool HasExtension(string name) =>
        Extensions.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(name, StringComparer.Ordinal);
}

/// <summary>The result of looking for OpenCL devices: the devices, or why there are none.</summary>
/// <param name="Devices">Every device on every platform, in platform order.</param>
/// <param name="Problem">Why no device could be listed (no ICD loader, no platform), or null.</param>
public sealed record OpenClDiscovery(IReadOnlyList<OpenClDeviceInfo> Devices, string? Problem);

/// <summary>Lists OpenCL platforms and devices without ever throwing: a machine with no OpenCL gets a reason.</summary>
public static class OpenClDevices
{
    private static readonly Lazy<OpenClDiscovery> Cached = new(DiscoverCore);

    /// <summary>Discovers devices once per process.</summary>
    public static OpenClDiscovery Discover() => Cached.Value;

    private static unsafe OpenClDiscovery DiscoverCore()
    {
        try
        {
            uint platformCount;
            int status = OpenClNative.GetPlatformIDs(0, null, &platformCount);
            if (status == OpenClNative.PlatformNotFoundKhr || (status == OpenClNative.Success && platformCount == 0))
            {
                return new([], "no OpenCL platform is installed (install an ICD such as pocl-opencl-icd)");
            }

            if (status != OpenClNative.Success)
            {
                return new([], $"clGetPlatformIDs failed with error {status}");
            }

            var platforms = new nint[platformCount];
            fixed (nint* p = platforms)
            {
                Check(OpenClNative.GetPlatformIDs(platformCount, p, null), "clGetPlatformIDs");
            }

            var devices = new List<OpenClDeviceInfo>();
            foreach (var platform in platforms)
            {
                string platformName = PlatformString(platform, OpenClNative.PlatformName);
                uint deviceCount;
                if (OpenClNative.GetDeviceIDs(platform, OpenClNative.DeviceTypeAll, 0, null, &deviceCount) != OpenClNative.Success)
                {
                    continue; // CL_DEVICE_NOT_FOUND: a platform with no device is not an error.
                }

                var ids = new nint[deviceCount];
                fixed (nint* d = ids)
                {
                    Check(OpenClNative.GetDeviceIDs(platform, OpenClNative.DeviceTypeAll, deviceCount, d, null), "clGetDeviceIDs");
                }

                foreach (var id in ids)
                {
                    ulong type = DeviceScalar<ulong>(id, OpenClNative.DeviceType);
                    devices.Add(new OpenClDeviceInfo(
                        devices.Count,
                        platformName,
                        DeviceString(id, OpenClNative.DeviceName),
                        DeviceString(id, OpenClNative.DeviceVendor),
                        DeviceString(id, OpenClNative.DeviceVersion),
                        DeviceString(id, OpenClNative.DriverVersion),
                        (type & 4) != 0 ? "GPU" : (type & 2) != 0 ? "CPU" : (type & 8) != 0 ? "accelerator" : "other",
                        (int)DeviceScalar<uint>(id, OpenClNative.DeviceMaxComputeUnits),
                        (long)DeviceScalar<ulong>(id, OpenClNative.DeviceGlobalMemSize),
                        (long)DeviceScalar<ulong>(id, OpenClNative.DeviceLocalMemSize),
                        (long)DeviceScalar<nuint>(id, OpenClNative.DeviceMaxWorkGroupSize),
                        DeviceString(id, OpenClNative.DeviceExtensions),
                        id,
                        platform));
                }
            }

            return new(devices, devices.Count == 0 ? "OpenCL platforms were found but they expose no device" : null);
        }
        catch (DllNotFoundException)
        {
            return new([], $"the OpenCL ICD loader ({OpenClNative.Library}) is not installed (install ocl-icd-libopencl1 and an ICD such as pocl-opencl-icd)");
        }
        catch (EntryPointNotFoundException e)
        {
            return new([], $"the OpenCL library lacks an entry point: {e.Message}");
        }
        catch (BackendException e)
        {
            return new([], e.Message);
        }
    }

    private static void Check(int status, string call)
    {
        if (status != OpenClNative.Success)
        {
            throw new BackendException($"{call} failed with OpenCL error {status}");
        }
    }

    private static unsafe string PlatformString(nint platform, uint param)
    {
        nuint size;
        Check(OpenClNative.GetPlatformInfo(platform, param, 0, null, &size), "clGetPlatformInfo");
        var buffer = new byte[(int)size];
        fixed (byte* b = buffer)
        {
            Check(OpenClNative.GetPlatformInfo(platform, param, size, b, null), "clGetPlatformInfo");
        }

        return Decode(buffer);
    }

    internal static unsafe string DeviceString(nint device, uint param)
    {
        nuint size;
        Check(OpenClNative.GetDeviceInfo(device, param, 0, null, &size), "clGetDeviceInfo");
        var buffer = new byte[(int)size];
        fixed (byte* b = buffer)
        {
            Check(OpenClNative.GetDeviceInfo(device, param, size, b, null), "clGetDeviceInfo");
        }

        return Decode(buffer);
    }

    private static unsafe T DeviceScalar<T>(nint device, uint param)
        where T : unmanaged
    {
        T value = default;
        Check(OpenClNative.GetDeviceInfo(device, param, (nuint)sizeof(T), &value, null), "clGetDeviceInfo");
        return value;
    }

    private static string Decode(byte[] buffer) => Encoding.UTF8.GetString(buffer).TrimEnd('\0').Trim();
}
