using Microsoft.Win32.SafeHandles;
using NativeAlign.Tensors;

namespace NativeAlign.IO;

/// <summary>
/// Float32 rows appended to a file instead of memory, then read back a block at a time (<see cref="IVectorRows"/>), so
/// holding N × D values costs disk, not memory. The file lives beside the output (the same disk the user chose for it;
/// the temporary directory may be a RAM file system) and is unlinked as soon as it is open on POSIX systems: the data
/// stays reachable through the handle and disappears with the process however it ends — Ctrl-C, an error, SIGKILL.
/// </summary>
/// <remarks>
/// Blocks are read with <see cref="RandomAccess"/> into the caller's buffer rather than memory-mapped: mapped pages that
/// a scan touches count towards the process's resident memory until the kernel reclaims them, so a mapped 1.5 GB spill
/// would look (and, under pressure, behave) like 1.5 GB of process memory. Read through the page cache, the bound on
/// what the process holds is exactly its buffers.
/// </remarks>
public sealed class SpillFile : IVectorRows, IDisposable
{
    private readonly SafeFileHandle _handle;
    private long _length;

    private SpillFile(SafeFileHandle handle, string path, int dimension)
    {
        _handle = handle;
        Path = path;
        Dimension = dimension;
    }

    /// <summary>Where the file was created (already unlinked on POSIX systems).</summary>
    public string Path { get; }

    /// <inheritdoc />
    public int Count { get; private set; }

    /// <inheritdoc />
    public int Dimension { get; }

    /// <summary>
    /// Creates <c>.NAME.PID.GUID.TAG.tmp</c> beside <paramref name="besidePath"/> for rows of <paramref name="dimension"/>
    /// values (see <see cref="OpenUnlinked"/>).
    /// </summary>
    public static SpillFile Create(string besidePath, string tag, int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        var handle = OpenUnlinked(besidePath, tag, out var path);
        return new SpillFile(handle, path, dimension);
    }

    /// <summary>
    /// Creates the read-write file <c>.NAME.PID.GUID.TAG.tmp</c> beside <paramref name="besidePath"/> and, on POSIX
    /// systems, unlinks it at once (on Windows it is deleted on close). The name is <see cref="AtomicFile"/>'s scheme, so
    /// if it ever outlives its process the next run writing the same output deletes it.
    /// </summary>
    public static SafeFileHandle OpenUnlinked(string besidePath, string tag, out string path)
    {
        ArgumentNullException.ThrowIfNull(besidePath);
        path = AtomicFile.TemporaryPath(System.IO.Path.GetFullPath(besidePath), tag);
        try
        {
            var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, OperatingSystem.IsWindows() ? FileOptions.DeleteOnClose : FileOptions.None);
            if (!OperatingSystem.IsWindows())
            {
                File.Delete(path);
            }

            return handle;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputFormatException(besidePath, null, $"cannot create a spill file beside the output: {e.Message}", e);
        }
    }

    /// <summary>Appends <paramref name="count"/> rows.</summary>
    public void Append(ReadOnlySpan<float> rows, int count)
    {
        if ((long)count * Dimension != rows.Length || (long)Count + count > int.MaxValue)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"spill: {count} rows × {Dimension} do not match {rows.Length} values (or too many rows)");
        }

        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(rows);
        try
        {
            RandomAccess.Write(_handle, bytes, _length);
        }
        catch (Exception e) when (AtomicFile.IsWriteFailure(e))
        {
            throw new InputFormatException(Path, null, $"cannot write the spill file (disk full?): {e.Message}", e);
        }

        _length += bytes.Length;
        Count += count;
    }

    /// <inheritdoc />
    public void Read(int first, int count, Span<float> destination)
    {
        if (first < 0 || count < 0 || (long)first + count > Count || destination.Length < (long)count * Dimension)
        {
            throw new ArgumentOutOfRangeException(nameof(first), $"rows {first}+{count} of {Count}");
        }

        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination[..(count * Dimension)]);
        FileRange.ReadExactly(_handle, bytes, (long)first * Dimension * sizeof(float), Path);
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();
}
