using System.Text;
using System.Text.Unicode;

namespace NativeAlign.IO;

/// <summary>One line of a text file: its 1-based number, its text, and whether invalid UTF-8 in it was replaced.</summary>
/// <param name="Number">1-based line number.</param>
/// <param name="Text">The line without its line break; invalid UTF-8 sequences replaced with U+FFFD.</param>
/// <param name="HadInvalidUtf8">True when the raw line was not valid UTF-8.</param>
public readonly record struct TextLine(long Number, string Text, bool HadInvalidUtf8);

/// <summary>
/// Reads a UTF-8 text file line by line: lines end at '\n' (a '\r' before it is dropped), a byte-order mark at the start
/// is skipped, invalid UTF-8 is replaced with U+FFFD and flagged, and a final line without a line break is still a line.
/// Every line of the input comes out exactly once, in order, so output line i can always belong to input line i.
/// Lines longer than <see cref="MaxLineBytes"/> raise <see cref="InputFormatException"/> instead of exhausting memory.
/// </summary>
/// <remarks>
/// The default cap, <see cref="DefaultMaxLineBytes"/> (16 MiB), is far above any sentence an encoder reads (512 tokens
/// are a few KB; <c>tokenize --max-length 0</c> still takes a 16 MiB line whole) and low enough that an endless line —
/// <c>/dev/zero</c>, a binary file — fails within a fraction of a second having buffered at most 16 MiB, where the former
/// 256 MiB cap let one line cost over 1 GB (the byte buffer plus its UTF-16 string) before the error.
/// </remarks>
public sealed class Utf8LineReader : IDisposable
{
    private readonly Stream _stream;
    private readonly string? _path;
    private byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _end;
    private bool _eof;
    private long _number;
    private long _bufferOffset;

    /// <summary>The default longest line, 16 MiB.</summary>
    public const int DefaultMaxLineBytes = 16 << 20;

    /// <summary>Reads lines from <paramref name="stream"/>; <paramref name="path"/> names it in errors.</summary>
    public Utf8LineReader(Stream stream, string? path = null, int maxLineBytes = DefaultMaxLineBytes)
    {
        _stream = stream ?? throw new ArgumentNullException(nameof(stream));
        _path = path;
        MaxLineBytes = maxLineBytes;
    }

    /// <summary>The longest line accepted, in bytes.</summary>
    public int MaxLineBytes { get; }

    /// <summary>
    /// Byte offset in the stream of the line <see cref="TryReadLine"/> returned last (its byte-order mark included), so
    /// a caller can keep 8 bytes per line and read a line again later instead of holding its text.
    /// </summary>
    public long LineOffset { get; private set; }

    /// <summary>How many lines read so far held invalid UTF-8 (replaced with U+FFFD).</summary>
    public long InvalidUtf8Lines { get; private set; }

    /// <summary>The 1-based number of the first line that held invalid UTF-8, if any.</summary>
    public long? FirstInvalidUtf8Line { get; private set; }

    /// <summary>Opens <paramref name="path"/>; a missing or unreadable file raises <see cref="InputFormatException"/>.</summary>
    public static Utf8LineReader Open(string path, int maxLineBytes = DefaultMaxLineBytes) => new(OpenStream(path), path, maxLineBytes);

    /// <summary>
    /// Opens <paramref name="path"/> — a file, FIFO or device — for reading, with the reader's checks: a directory, a
    /// missing or an unreadable path raises <see cref="InputFormatException"/>.
    /// </summary>
    public static FileStream OpenStream(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            // Opening a directory fails with "access denied", which would send the user looking at permissions.
            throw new InputFormatException(path, null, "is a directory; expected a text file");
        }

        if (!File.Exists(path))
        {
            throw new InputFormatException(path, null, "no such file");
        }

        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputFormatException(path, null, $"cannot read: {e.Message}", e);
        }
    }

    /// <summary>Reads the next line; false at the end of the input.</summary>
    public bool TryReadLine(out TextLine line)
    {
        var scanFrom = _start;
        while (true)
        {
            var newline = _buffer.AsSpan(scanFrom, _end - scanFrom).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var stop = scanFrom + newline;
                if (stop - _start > MaxLineBytes)
                {
                    throw new InputFormatException(_path, _number + 1, $"line longer than {MaxLineBytes} bytes");
                }

                LineOffset = _bufferOffset + _start;
                line = Decode(_buffer.AsSpan(_start, stop - _start));
                _start = stop + 1;
                return true;
            }

            scanFrom = _end;
            if (_eof)
            {
                if (_end > _start)
                {
                    if (_end - _start > MaxLineBytes)
                    {
                        throw new InputFormatException(_path, _number + 1, $"line longer than {MaxLineBytes} bytes");
                    }

                    LineOffset = _bufferOffset + _start;
                    line = Decode(_buffer.AsSpan(_start, _end - _start));
                    _start = _end;
                    return true;
                }

                line = default;
                return false;
            }

            if (_end - _start > MaxLineBytes)
            {
                throw new InputFormatException(_path, _number + 1, $"line longer than {MaxLineBytes} bytes");
            }

            scanFrom -= _start;
            Fill();
        }
    }

    /// <summary>All remaining lines.</summary>
    public IEnumerable<TextLine> ReadAll()
    {
        while (TryReadLine(out var line))
        {
            yield return line;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    private void Fill()
    {
        // Move the partial line to the front, grow if it fills the buffer, then read more.
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _bufferOffset += _start;
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            // Never past one byte over the cap: a full buffer that large is already a line over it.
            Array.Resize(ref _buffer, (int)Math.Min(_buffer.Length * 2L, MaxLineBytes + 1L));
        }

        int read;
        try
        {
            read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        }
        catch (IOException e)
        {
            throw new InputFormatException(_path, _number + 1, $"cannot read: {e.Message}", e);
        }

        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
    }

    /// <summary>
    /// The text bytes of a raw line as the reader returns it: without its '\n', the '\r' before it and, on the first line
    /// (<paramref name="firstLine"/>), a UTF-8 byte-order mark. For callers that keep <see cref="LineOffset"/>s and read a
    /// line's bytes again.
    /// </summary>
    public static ReadOnlySpan<byte> LineContent(ReadOnlySpan<byte> raw, bool firstLine)
    {
        if (raw.Length > 0 && raw[^1] == (byte)'\n')
        {
            raw = raw[..^1];
        }

        if (firstLine && raw.StartsWith("\uFEFF"u8))
        {
            raw = raw[3..];
        }

        if (raw.Length > 0 && raw[^1] == (byte)'\r')
        {
            raw = raw[..^1];
        }

        return raw;
    }

    private TextLine Decode(ReadOnlySpan<byte> bytes)
    {
        _number++;
        bytes = LineContent(bytes, _number == 1);
        var valid = Utf8.IsValid(bytes);
        if (!valid)
        {
            InvalidUtf8Lines++;
            FirstInvalidUtf8Line ??= _number;
        }

        // Encoding.UTF8 replaces each invalid sequence with U+FFFD, as the WHATWG decoder (and so node) does.
        return new TextLine(_number, Encoding.UTF8.GetString(bytes), !valid);
    }
}
