using NativeAlign.Backends.OpenCl;

namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>Opens the test device (PoCL here and in CI) with a private, throw-away program cache.</summary>
internal sealed class OpenClTestDevice : IDisposable
{
    private OpenClTestDevice(OpenClContext context, string cacheDirectory)
    {
        Context = context;
        CacheDirectory = cacheDirectory;
    }

    public OpenClContext Context { get; }

    public string CacheDirectory { get; }

    /// <summary>
    /// The first OpenCL device. Ignores the test only when the machine has no OpenCL at all (no ICD loader or no
    /// platform), naming the reason; every other failure fails the test.
    /// </summary>
    public static OpenClTestDevice Open(string? cacheDirectory = null)
    {
        RequireDevice();

        string cache = cacheDirectory ?? Path.Combine(Path.GetTempPath(), "nativealign-test-cl-" + Guid.NewGuid().ToString("N"));
        return new OpenClTestDevice(OpenClContext.Create(0, new OpenClProgramCache(cache)), cache);
    }

    /// <summary>Ignores the test, with the reason, when the machine has no OpenCL device at all.</summary>
    public static void RequireDevice()
    {
        var discovery = OpenClDevices.Discover();
        if (discovery.Devices.Count == 0)
        {
            Assert.Ignore($"no OpenCL device on this machine: {discovery.Problem}");
        }
    }

    public void Dispose()
    {
        Context.Dispose();
        if (Directory.Exists(CacheDirectory))
        {
            Directory.Delete(CacheDirectory, recursive: true);
        }
    }
}
