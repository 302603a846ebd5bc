using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace NativeAlign.IO;

/// <summary>
/// A read-only memory map of a whole file. Slices are handed out as <see cref="ReadOnlyMemory{T}"/> over the map itself
/// (no copy); they stay valid until the map is disposed.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _pointer;
    private int _disposed;

    private MappedFile(string path, long length, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* pointer)
    {
        Path = path;
        Length = length;
        _map = map;
        _view = view;
        _pointer = pointer;
    }

    /// <summary>The file mapped.</summary>
    public string Path { get; }

    /// <summary>Bytes in the file.</summary>
    public long Length { get; }

    /// <summary>Maps <paramref name="path"/> read-only; a missing or unreadable file is a <see cref="ModelFormatException"/>.</summary>
    public static MappedFile Open(string path)
    {
        FileStream stream;
        try
        {
            if (Directory.Exists(path))
            {
                throw new ModelFormatException(path, null, "is a directory, expected a file");
            }

            ModelFileType.RequireRegularFile(path);

            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ModelFormatException(path, null, $"cannot open: {e.Message}", e);
        }

        try
        {
            long length = stream.Length;
            if (length == 0)
            {
                // A zero-length file cannot be mapped; an empty view is all it has.
                stream.Dispose();
                return new MappedFile(path, 0, null, null, null);
            }

            var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            MemoryMappedViewAccessor view;
            try
            {
                view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            }
            catch
            {
                map.Dispose();
                throw;
            }

            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            return new MappedFile(path, length, map, view, pointer + view.PointerOffset);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stream.Dispose();
            throw new ModelFormatException(path, null, $"cannot map: {e.Message}", e);
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

    /// <summary>The bytes [offset, offset + length) as memory over the map (no copy).</summary>
    public ReadOnlyMemory<byte> Memory(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (offset < 0 || length < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"range {offset}+{length} outside a file of {Length} bytes");
        }

        return length == 0 ? ReadOnlyMemory<byte>.Empty : new Slice(this, _pointer + offset, length).Memory;
    }

    /// <summary>Unmaps the file; memory handed out before becomes invalid.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }

        _map?.Dispose();
    }

    // A MemoryManager is how ReadOnlyMemory<byte> can point at native memory without copying it.
    private sealed class Slice(MappedFile owner, byte* pointer, int length) : MemoryManager<byte>
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
