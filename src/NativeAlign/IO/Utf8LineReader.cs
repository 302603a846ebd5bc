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

    /// <summary>Reads lines from <paramref name="stream"/>; <paramref name="path"/> names it in errors.</summary>
    public Utf8LineReader(Stream stream, string? path = null, int maxLineBytes = 256 << 20)
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

    /// <summary>Opens <paramref name="path"/>; a missing or unreadable file raises <see cref="InputFormatException"/>.</summary>
    public static Utf8LineReader Open(string path, int maxLineBytes = 256 << 20)
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
            return new Utf8LineReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), path, maxLineBytes);
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
            Array.Resize(ref _buffer, _buffer.Length * 2);
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

    private TextLine Decode(ReadOnlySpan<byte> bytes)
    {
        _number++;
        if (_number == 1 && bytes.StartsWith("\uFEFF"u8))
        {
            bytes = bytes[3..];
        }

        if (bytes.Length > 0 && bytes[^1] == (byte)'\r')
        {
            bytes = bytes[..^1];
        }

        var valid = Utf8.IsValid(bytes);
        // Encoding.UTF8 replaces each invalid sequence with U+FFFD, as the WHATWG decoder (and so node) does.
        return new TextLine(_number, Encoding.UTF8.GetString(bytes), !valid);
    }
}
