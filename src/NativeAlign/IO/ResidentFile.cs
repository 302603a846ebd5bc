using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NativeAlign.IO;

/// <summary>
/// A whole model file read into native memory. Slices are handed out as <see cref="ReadOnlyMemory{T}"/> over that
/// memory (no copy); they stay valid until the file object is disposed.
/// </summary>
/// <remarks>
/// Not a memory map, on purpose: the backends read weights in place for the whole run, and a mapped file that is
/// truncated or replaced while it runs makes those reads fault (SIGBUS, which .NET reports as an access violation and
/// cannot recover from). Read once at load, the weights no longer depend on the file; the cost is the file's size in
/// private memory, which the weights' pages would occupy anyway once the encoder has touched them.
/// </remarks>
internal sealed unsafe class ResidentFile : IDisposable
{
    private const int ReadChunk = 1 << 30;

    private readonly byte* _pointer;
    private int _disposed;

    private ResidentFile(string path, long length, byte* pointer)
    {
        Path = path;
        Length = length;
        _pointer = pointer;
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>Bytes in the file.</summary>
    public long Length { get; }

    /// <summary>Reads <paramref name="path"/> whole; a missing, unreadable, non-regular or shrinking file is a <see cref="ModelFormatException"/>.</summary>
    public static ResidentFile Open(string path)
    {
        SafeFileHandle handle;
        try
        {
            if (Directory.Exists(path))
            {
                throw new ModelFormatException(path, null, "is a directory, expected a file");
            }

            ModelFileType.RequireRegularFile(path);
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ModelFormatException(path, null, $"cannot open: {e.Message}", e);
        }

        using (handle)
        {
            byte* pointer = null;
            try
            {
                long length = RandomAccess.GetLength(handle);
                if (length == 0)
                {
                    return new ResidentFile(path, 0, null);
                }

                pointer = (byte*)NativeMemory.Alloc((nuint)length);
                for (long done = 0; done < length;)
                {
                    int read = RandomAccess.Read(handle, new Span<byte>(pointer + done, (int)Math.Min(length - done, ReadChunk)), done);
                    if (read == 0)
                    {
                        throw new ModelFormatException(path, null, $"shrank to {done} bytes while being read (it had {length})");
                    }

                    done += read;
                }

                return new ResidentFile(path, length, pointer);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or OutOfMemoryException)
            {
                NativeMemory.Free(pointer);
                throw new ModelFormatException(path, null, $"cannot read: {e.Message}", e);
            }
            catch
            {
                NativeMemory.Free(pointer);
                throw;
            }
        }
    }

    /// <summary>The bytes [offset, offset + length) as a span; the range must have been validated by the caller.</summary>
    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"range {offset}+{length} outside a file of {Length} bytes");
        }

        return length == 0 ? [] : new ReadOnlySpan<byte>(_pointer + offset, length);
    }

    /// <summary>The bytes [offset, offset + length) as memory over the file's bytes (no copy).</summary>
    public ReadOnlyMemory<byte> Memory(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"range {offset}+{length} outside a file of {Length} bytes");
        }

        return length == 0 ? ReadOnlyMemory<byte>.Empty : new Slice(this, _pointer + offset, length).Memory;
    }

    /// <summary>Frees the bytes; memory handed out before becomes invalid.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        NativeMemory.Free(_pointer);
    }

    // A MemoryManager is how ReadOnlyMemory<byte> can point at native memory without copying it.
    private sealed class Slice(ResidentFile owner, byte* pointer, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan()
        {
            ObjectDisposedException.ThrowIf(owner._disposed != 0, owner);
            return new Span<byte>(pointer, length);
        }

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            ObjectDisposedException.ThrowIf(owner._disposed != 0, owner);
            if ((uint)elementIndex > (uint)length)
            {
                throw new ArgumentOutOfRangeException(nameof(elementIndex));
            }

            return new MemoryHandle(pointer + elementIndex);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
