using System.Security.Cryptography;
using System.Text;
using NativeAlign.IO;

namespace NativeAlign.Backends.OpenCl;

/// <summary>
/// Keeps built OpenCL program binaries on disk, keyed by a SHA-256 of the source, the build options and the
/// device and driver identity, so a second process skips the (slow) compile. Entries are written to a temporary
/// file and renamed, so concurrent processes never read half a binary; a binary the driver rejects is rebuilt
/// from source and replaced. Set <c>NATIVEALIGN_OPENCL_CACHE=0</c> to turn the cache off.
/// </summary>
public sealed class OpenClProgramCache
{
    /// <summary>The environment variable that turns the cache off when set to <c>0</c>.</summary>
    public const string EnvironmentVariable = "NATIVEALIGN_OPENCL_CACHE";

    private int _hits;
    private int _misses;
    private int _stores;

    /// <summary>A cache in <paramref name="directory"/>, or a disabled one when it is null.</summary>
    public OpenClProgramCache(string? directory) => Directory = directory;

    /// <summary>The cache directory, or null when caching is off.</summary>
    public string? Directory { get; }

    /// <summary>Binaries loaded from the cache and accepted by the driver.</summary>
    public int Hits => _hits;

    /// <summary>Programs built from source (no entry, or a rejected one).</summary>
    public int Misses => _misses;

    /// <summary>Binaries written to the cache.</summary>
    public int Stores => _stores;

    /// <summary>
    /// The cache the environment asks for: off when <c>NATIVEALIGN_OPENCL_CACHE=0</c>, otherwise
    /// <c>$XDG_CACHE_HOME/nativealign/opencl</c> or <c>~/.cache/nativealign/opencl</c>.
    /// </summary>
    public static OpenClProgramCache FromEnvironment()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) == "0")
        {
            return new OpenClProgramCache(null);
        }

        string? root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(root) || !Path.IsPathRooted(root))
        {
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home))
            {
                return new OpenClProgramCache(null);
            }

            root = Path.Combine(home, ".cache");
        }

        return new OpenClProgramCache(Path.Combine(root, "nativealign", "opencl"));
    }

    /// <summary>The cache key: what makes a binary valid for reuse.</summary>
    internal static string Key(string source, string options, OpenClDeviceInfo device)
    {
        var text = new StringBuilder()
            .Append("nativealign-opencl-program-v1\0")
            .Append(source).Append('\0')
            .Append(options).Append('\0')
            .Append(device.Platform).Append('\0')
            .Append(device.Vendor).Append('\0')
            .Append(device.Name).Append('\0')
            .Append(device.Version).Append('\0')
            .Append(device.DriverVersion);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    internal string? PathFor(string key) => Directory is null ? null : Path.Combine(Directory, key + ".bin");

    internal byte[]? TryLoad(string key)
    {
        string? path = PathFor(key);
        if (path is null)
        {
            return null;
        }

        try
        {
            return File.Exists(path) ? File.ReadAllBytes(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // an unreadable cache only costs a rebuild
        }
    }

    internal void Store(string key, byte[] binary)
    {
        string? path = PathFor(key);
        if (path is null || binary.Length == 0)
        {
            return;
        }

        try
        {
            System.IO.Directory.CreateDirectory(Directory!);
            using var file = AtomicFile.Create(path);
            file.Stream.Write(binary);
            file.Commit();
            Interlocked.Increment(ref _stores);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NativeAlignException)
        {
            // Best effort: a read-only or full cache directory must not fail a run that has its program.
        }
    }

    internal void Forget(string key)
    {
        try
        {
            if (PathFor(key) is { } path)
            {
                File.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort; the entry is replaced on the next store anyway.
        }
    }

    internal void CountHit() => Interlocked.Increment(ref _hits);

    internal void CountMiss() => Interlocked.Increment(ref _misses);
}
