using System.Text;
using Microsoft.Win32.SafeHandles;
using NativeAlign.IO;

namespace NativeAlign.Cli.IO;

/// <summary>
/// A UTF-8 input read once, in chunks of lines, so a command's memory does not grow with the input: only the current
/// chunk's strings are held. The input is a file, a FIFO, a device, or standard input (<c>-</c>). Invalid UTF-8 is
/// replaced with U+FFFD and reported in one warning line at the end (<see cref="InvalidUtf8Warning"/>); a BOM and CR
/// before LF are dropped, and a final newline does not add an empty input.
/// </summary>
/// <remarks>
/// <para>
/// With <c>keepLinesBeside</c> it records where every line starts (8 bytes a line) so <see cref="Line"/> can return any
/// line again at the end of the run, instead of keeping a million strings alive for the output. A regular file is read
/// again at those offsets; a stream cannot be, so everything read from it is copied as it is read into an unlinked file
/// beside the output (as <see cref="SpillFile"/>'s are: gone with the process however it ends), costing the input's size
/// on that disk and no memory.
/// </para>
/// <para>
/// Lines are counted ahead (for the progress ETA only) just when asked and the input is a regular file: counting a pipe
/// would drain it, and an endless device would never finish.
/// </para>
/// </remarks>
internal sealed class TextInput : IDisposable
{
    /// <summary>The name that means standard input (and, for outputs, standard output).</summary>
    public const string StandardStream = "-";

    private readonly Utf8LineReader _reader;
    private readonly List<long>? _offsets;
    private readonly CopyingStream? _copy;
    private readonly string? _rereadPath;
    private SafeFileHandle? _rereadHandle;
    private bool _reported;

    private TextInput(string name, Utf8LineReader reader, long? countedLines, bool keepOffsets, CopyingStream? copy, string? rereadPath)
    {
        Path = name;
        _reader = reader;
        CountedLines = countedLines;
        _offsets = keepOffsets ? [] : null;
        _copy = copy;
        _rereadPath = rereadPath;
    }

    /// <summary>The input as errors name it: its path, or "standard input".</summary>
    public string Path { get; }

    /// <summary>
    /// The number of lines a quick first pass counted (null when not counted), used only for the progress total and ETA:
    /// the counts written to outputs come from the lines actually read, so a file that changes between the two passes can
    /// make the ETA wrong but never an output.
    /// </summary>
    public long? CountedLines { get; }

    /// <summary>Lines read so far.</summary>
    public int LinesRead { get; private set; }

    /// <summary>0-based indices of the lines read so far that are empty or only white space (kept with <c>keepLinesBeside</c>).</summary>
    public List<int> BlankLines { get; } = [];

    /// <summary>
    /// Opens <paramref name="path"/> (<c>-</c>: standard input); a missing, unreadable or directory path is an input
    /// error. <paramref name="countLines"/> asks for <see cref="CountedLines"/>; <paramref name="keepLinesBeside"/> (an
    /// output path, or <c>-</c>) keeps every line readable again through <see cref="Line"/>.
    /// </summary>
    public static TextInput Open(string path, bool countLines = false, string? keepLinesBeside = null)
    {
        bool stdin = path == StandardStream;
        var name = DisplayName(path);
        bool regular = !stdin && FileIdentity.Of(path).Kind == FileKind.Regular;
        Stream stream = stdin ? Console.OpenStandardInput() : Utf8LineReader.OpenStream(path);
        CopyingStream? copy = null;
        try
        {
            if (keepLinesBeside is not null && !regular)
            {
                copy = new CopyingStream(stream, SpillFile.OpenUnlinked(SpillDirectoryFor(keepLinesBeside), "input", out _), name);
                stream = copy;
            }

            long? counted = countLines && regular ? CountLines(path) : null;
            return new TextInput(name, new Utf8LineReader(stream, name), counted, keepLinesBeside is not null, copy, regular ? path : null);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>How errors name the input <paramref name="path"/>: itself, or "standard input" for <c>-</c>.</summary>
    public static string DisplayName(string path) => path == StandardStream ? "standard input" : path;

    /// <summary>Every line of <paramref name="path"/> (<c>-</c>: standard input), invalid UTF-8 replaced and reported.</summary>
    public static string[] ReadAllLines(string path)
    {
        using var input = Open(path);
        var all = new List<string>();
        var chunk = new List<string>(4096);
        while (input.ReadChunk(chunk, 4096))
        {
            all.AddRange(chunk);
        }

        return [.. all];
    }

    /// <summary>
    /// The path a spill file beside <paramref name="output"/> is named after: the output itself, or for standard output
    /// (<c>-</c>) a name in the temporary directory.
    /// </summary>
    public static string SpillDirectoryFor(string output) =>
        output == StandardStream ? System.IO.Path.Combine(System.IO.Path.GetTempPath(), "nativealign-stdout") : output;

    /// <summary>
    /// Prints the one warning line for invalid UTF-8 in <paramref name="name"/>, if <paramref name="reader"/> met any: the
    /// first such line is named, and the number of such lines when there are more.
    /// </summary>
    public static void InvalidUtf8Warning(string name, Utf8LineReader reader)
    {
        if (reader.FirstInvalidUtf8Line is not { } first)
        {
            return;
        }

        var count = reader.InvalidUtf8Lines > 1 ? $" ({reader.InvalidUtf8Lines} lines in all; the first is named)" : string.Empty;
        Console.Error.WriteLine($"nativealign: warning: {name}:{first}: invalid UTF-8 replaced with U+FFFD{count}");
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
        while (lines.Count < max)
        {
            if (!_reader.TryReadLine(out var line))
            {
                if (!_reported)
                {
                    _reported = true;
                    InvalidUtf8Warning(Path, _reader);
                }

                break;
            }

            if (LinesRead == int.MaxValue)
            {
                throw new InputFormatException(Path, line.Number, $"more than {int.MaxValue} lines");
            }

            if (_offsets is not null)
            {
                _offsets.Add(_reader.LineOffset);
                if (string.IsNullOrWhiteSpace(line.Text))
                {
                    BlankLines.Add(LinesRead);
                }
            }

            LinesRead++;
            lines.Add(line.Text);
        }

        return lines.Count > 0;
    }

    /// <summary>Reads the rest of the input (recording offsets) without keeping the text.</summary>
    public void Skim()
    {
        var lines = new List<string>(4096);
        while (ReadChunk(lines, 4096))
        {
        }
    }

    /// <summary>Line <paramref name="index"/> (0-based) again, from the file or from the copy of a stream; needs <c>keepLinesBeside</c>.</summary>
    public string Line(int index)
    {
        var offsets = _offsets ?? throw new InvalidOperationException("line offsets were not kept");
        try
        {
            var handle = _copy?.Copy ?? (_rereadHandle ??= File.OpenHandle(_rereadPath!, FileMode.Open, FileAccess.Read, FileShare.Read));
            long start = offsets[index];
            long end = index + 1 < offsets.Count ? offsets[index + 1] : _copy?.Length ?? RandomAccess.GetLength(handle);
            var bytes = new byte[checked((int)(end - start))];
            FileRange.ReadExactly(handle, bytes, start, Path);
            return Encoding.UTF8.GetString(Utf8LineReader.LineContent(bytes, index == 0));
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
        _rereadHandle?.Dispose();
        _copy?.Copy.Dispose();
    }

    /// <summary>A read-only stream that appends every byte it reads from its source to <see cref="Copy"/>.</summary>
    private sealed class CopyingStream(Stream source, SafeFileHandle copy, string name) : Stream
    {
        public SafeFileHandle Copy { get; } = copy;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        /// <summary>Bytes copied so far.</summary>
        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException();
        }

        private long _length;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int read = source.Read(buffer);
            try
            {
                RandomAccess.Write(Copy, buffer[..read], _length);
            }
            catch (IOException e)
            {
                throw new InputFormatException(name, null, $"cannot keep a copy of the input beside the output (disk full?): {e.Message}", e);
            }

            _length += read;
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                source.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
