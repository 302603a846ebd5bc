using Microsoft.Win32.SafeHandles;
using NativeAlign.Alignment.Sentences;
using NativeAlign.IO;
using NativeAlign.Tensors;

namespace NativeAlign.Cli.IO;

/// <summary>
/// The rows of a 2-D float32 .npy (as <c>nativealign embed</c> writes) read a block at a time, L2-normalised as they are
/// read: mining compares unit vectors, and an embedding file may hold unnormalised ones. Nothing but the header is
/// read up front, so a million-row file costs no memory until a block is asked for.
/// </summary>
internal sealed class NpyRows : IVectorRows, IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly long _dataOffset;

    private NpyRows(string path, SafeFileHandle handle, int rows, int columns, long dataOffset)
    {
        Path = path;
        _handle = handle;
        Count = rows;
        Dimension = columns;
        _dataOffset = dataOffset;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public int Count { get; }

    /// <inheritdoc />
    public int Dimension { get; }

    /// <summary>Opens <paramref name="path"/>: a .npy of float32 [rows, columns] whose data fills the file exactly.</summary>
    public static NpyRows Open(string path)
    {
        if (Directory.Exists(path))
        {
            throw new InputFormatException(path, null, "is a directory; expected a .npy file");
        }

        if (!File.Exists(path))
        {
            throw new InputFormatException(path, null, "no such file");
        }

        SafeFileHandle handle;
        (string Descr, int[] Shape, int DataOffset) header;
        try
        {
            using (var stream = File.OpenRead(path))
            {
                header = NpyFile.ReadHeader(stream, path);
            }

            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputFormatException(path, null, $"cannot read: {e.Message}", e);
        }

        try
        {
            var (descr, shape, dataOffset) = header;
            if (descr != "'<f4'" || shape.Length != 2 || shape[1] == 0)
            {
                throw new InputFormatException(path, null, $"expected float32 embeddings [rows, dimensions] (<f4, 2-D), got {descr} with shape ({string.Join(", ", shape)})");
            }

            long expected = dataOffset + (4L * shape[0] * shape[1]);
            long length = RandomAccess.GetLength(handle);
            if (length != expected)
            {
                throw new InputFormatException(path, null, $"holds {length} bytes, but its header ({shape[0]} × {shape[1]} float32) needs {expected}");
            }

            return new NpyRows(path, handle, shape[0], shape[1], dataOffset);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Read(int first, int count, Span<float> destination)
    {
        var rows = destination[..(count * Dimension)];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(rows);
        FileRange.ReadExactly(_handle, bytes, _dataOffset + ((long)first * Dimension * sizeof(float)), Path);

        for (int i = 0; i < rows.Length; i++)
        {
            if (!float.IsFinite(rows[i]))
            {
                throw new InputFormatException(Path, null, $"row {first + (i / Dimension)} holds NaN or infinity");
            }
        }

        TopKSearch.Normalize(rows, count, Dimension);
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();
}
