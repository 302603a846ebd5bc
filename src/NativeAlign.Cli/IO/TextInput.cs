using System.Text;
using Microsoft.Win32.SafeHandles;
using NativeAlign.IO;

namespace NativeAlign.Cli.IO;

/// <summary>
/// A UTF-8 input file read in chunks of lines, so a command's memory does not grow with the file: only the current
/// chunk's strings are held. Invalid UTF-8 is an input error naming the line; a BOM and CR before LF are dropped, and a
/// final newline does not add an empty input (as <see cref="Commands.EmbedCommand.ReadLines"/>). With
/// <c>keepOffsets</c> it records where every line starts (8 bytes a line) so <see cref="Line"/> can read any line again
/// at the end of the run, instead of keeping a million strings alive for the output.
/// </summary>
internal sealed class TextInput : IDisposable
{
    private readonly Utf8LineReader _reader;
    private readonly List<long>? _offsets;
    private SafeFileHandle? _handle;

    private TextInput(string path, Utf8LineReader reader, long countedLines, bool keepOffsets)
    {
        Path = path;
        _reader = reader;
        CountedLines = countedLines;
        _offsets = keepOffsets ? [] : null;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>
    /// The number of lines a quick first pass counted (newlines, plus an unterminated last line), used only for the
    /// progress total and ETA: the counts written to outputs come from the lines actually read, so a file that changes
    /// between the two passes can make the ETA wrong but never an output.
    /// </summary>
    public long CountedLines { get; }

    /// <summary>Lines read so far.</summary>
    public int LinesRead { get; private set; }

    /// <summary>Opens <paramref name="path"/>; a missing, unreadable or directory path is an input error.</summary>
    public static TextInput Open(string path, bool keepOffsets = false)
    {
        var reader = Utf8LineReader.Open(path);
        try
        {
            return new TextInput(path, reader, CountLines(path), keepOffsets);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>Counts lines the way the reader splits them, reading 1 MiB at a time (about 0.1 s per 100 MB).</summary>
    private static long CountLines(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            var buffer = new byte[1 << 20];
            long lines = 0;
            int read;
            byte last = (byte)'\n';
            while ((read = stream.Read(buffer)) > 0)
            {
                lines += buffer.AsSpan(0, read).Count((byte)'\n');
                last = buffer[read - 1];
            }

            return last == (byte)'\n' ? lines : lines + 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputFormatException(path, null, $"cannot read: {e.Message}", e);
        }
    }

    /// <summary>Clears <paramref name="lines"/> and fills it with up to <paramref name="max"/> next lines; false at the end.</summary>
    public bool ReadChunk(List<string> lines, int max)
    {
        lines.Clear();
        while (lines.Count < max && _reader.TryReadLine(out var line))
        {
            if (line.HadInvalidUtf8)
            {
                throw new InputFormatException(Path, line.Number, "not valid UTF-8");
            }

            _offsets?.Add(_reader.LineOffset);
            if (LinesRead == int.MaxValue)
            {
                throw new InputFormatException(Path, line.Number, $"more than {int.MaxValue} lines");
            }

            LinesRead++;
            lines.Add(line.Text);
        }

        return lines.Count > 0;
    }

    /// <summary>Reads the rest of the file (validating it and recording offsets) without keeping the text.</summary>
    public void Skim()
    {
        var lines = new List<string>(4096);
        while (ReadChunk(lines, 4096))
        {
        }
    }

    /// <summary>Line <paramref name="index"/> (0-based) read again from the file; needs <c>keepOffsets</c>.</summary>
    public string Line(int index)
    {
        var offsets = _offsets ?? throw new InvalidOperationException("line offsets were not kept");
        try
        {
            _handle ??= File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long start = offsets[index];
            long end = index + 1 < offsets.Count ? offsets[index + 1] : RandomAccess.GetLength(_handle);
            var bytes = new byte[checked((int)(end - start))];
            FileRange.ReadExactly(_handle, bytes, start, Path);

            // The same trimming as the reader: line break, CR before it, and the BOM on the first line.
            var span = bytes.AsSpan();
            if (span.Length > 0 && span[^1] == (byte)'\n')
            {
                span = span[..^1];
            }

            if (span.Length > 0 && span[^1] == (byte)'\r')
            {
                span = span[..^1];
            }

            if (index == 0 && span.StartsWith("\uFEFF"u8))
            {
                span = span[3..];
            }

            return Encoding.UTF8.GetString(span);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputFormatException(Path, index + 1, $"cannot read again: {e.Message}", e);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _reader.Dispose();
        _handle?.Dispose();
    }
}
