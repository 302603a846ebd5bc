namespace NativeAlign.IO;

/// <summary>
/// Writes an output file so that readers only ever see the old file or the complete new one: the data goes to a
/// temporary file beside the target and is renamed over it on <see cref="Commit"/>. Disposing without committing deletes
/// the temporary file, so a failed or cancelled run leaves nothing half-written.
/// </summary>
/// <remarks>
/// Only a regular file (or a missing path) is replaced by a rename. A symbolic link is followed: the temporary goes beside
/// the link's final target and is renamed over that target, so the link stays. Anything else — a character or block
/// device (<c>/dev/null</c>, a terminal), a FIFO, standard output (<see cref="Direct"/>) — is written directly, because
/// renaming over it would replace the device or pipe with a regular file; such a target can receive part of the data
/// before a failure. Every write, flush and the rename report an I/O failure (a full disk, a file size limit) as an
/// <see cref="InputFormatException"/> naming the target, and the temporary is removed.
/// </remarks>
public sealed class AtomicFile : IDisposable
{
    private readonly Stream _file;
    private bool _committed;

    private AtomicFile(string path, string? tempPath, Stream file)
    {
        Path = path;
        TempPath = tempPath;
        _file = file;
        Stream = new GuardedStream(file, path);
    }

    /// <summary>The final path (a symbolic link's resolved target), or the name given to <see cref="Direct"/>.</summary>
    public string Path { get; }

    /// <summary>The temporary path written until <see cref="Commit"/>; null when the target is written directly.</summary>
    public string? TempPath { get; }

    /// <summary>The stream to write to; its I/O failures are <see cref="InputFormatException"/>s naming <see cref="Path"/>.</summary>
    public Stream Stream { get; }

    /// <summary>
    /// Opens the output <paramref name="path"/>: a temporary file beside it (or beside the target of a link) when it is a
    /// regular file or does not exist yet — its directory must exist — or the file itself when it is a device or FIFO.
    /// </summary>
    public static AtomicFile Create(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = ResolveLinks(path);
        var kind = FileIdentity.Of(full).Kind;
        if (kind == FileKind.Directory)
        {
            throw new InputFormatException(path, null, "cannot write output: the path is a directory");
        }

        try
        {
            if (kind is not (FileKind.Missing or FileKind.Regular))
            {
                // FileMode.Open: a device or FIFO is neither created nor truncated, only written (a FIFO's open waits for a reader).
                return new AtomicFile(full, null, new FileStream(full, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1 << 16));
            }

            var dir = System.IO.Path.GetDirectoryName(full) ?? ".";
            if (!Directory.Exists(dir))
            {
                throw new InputFormatException(path, null, $"cannot write output: directory '{dir}' does not exist");
            }

            DeleteStaleTemporaries(dir, System.IO.Path.GetFileName(full));

            // Same directory as the target, so the final rename never crosses file systems.
            var temp = TemporaryPath(full, null);
            return new AtomicFile(full, temp, new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputFormatException(path, null, $"cannot write output: {e.Message}", e);
        }
    }

    /// <summary>
    /// Writes straight into an open <paramref name="stream"/> (standard output, say) named <paramref name="name"/> in
    /// errors: no temporary; <see cref="Commit"/> flushes, and the stream is disposed with this object.
    /// </summary>
    public static AtomicFile Direct(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        return new AtomicFile(name, null, stream);
    }

    /// <summary>
    /// <c>.NAME.PID.GUID[.TAG].tmp</c> beside <paramref name="fullPath"/>: the one naming scheme of every temporary this
    /// project leaves beside an output, so the next run writing the same output can recognise (and delete) one whose
    /// process died.
    /// </summary>
    internal static string TemporaryPath(string fullPath, string? tag)
    {
        var dir = System.IO.Path.GetDirectoryName(fullPath) ?? ".";
        var suffix = tag is null ? string.Empty : "." + tag;
        return System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(fullPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}{suffix}.tmp");
    }

    /// <summary>The absolute path with a symbolic link at its end followed to its final target (a missing one included).</summary>
    private static string ResolveLinks(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        try
        {
            return new FileInfo(full).LinkTarget is null ? full : File.ResolveLinkTarget(full, returnFinalTarget: true)?.FullName ?? full;
        }
        catch (IOException e)
        {
            throw new InputFormatException(path, null, $"cannot write output: the link cannot be followed: {e.Message}", e);
        }
    }

    /// <summary>
    /// Deletes temporary files a killed run (SIGKILL, power loss) left for the same target: <c>.NAME.PID.GUID.tmp</c> whose
    /// process no longer runs. A live writer's file is never touched, so two runs writing the same target cannot delete
    /// each other's data; whichever commits last wins, as with any rename.
    /// </summary>
    private static void DeleteStaleTemporaries(string dir, string name)
    {
        string prefix = $".{name}.";
        try
        {
            foreach (var file in Directory.EnumerateFiles(dir, $".{name}.*.tmp"))
            {
                var middle = System.IO.Path.GetFileName(file).AsSpan(prefix.Length);
                int dot = middle.IndexOf('.');
                if (dot <= 0 || !int.TryParse(middle[..dot], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid) || IsRunning(pid))
                {
                    continue;
                }

                File.Delete(file);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stale temporary never shadows a real output, it only takes space.
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Flushes the data to disk and renames the temporary file over the target (a direct target is only flushed).
    /// <paramref name="cancellationToken"/> is checked first: a run cancelled before its commit commits nothing.
    /// </summary>
    public void Commit(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            if (TempPath is null)
            {
                // Devices and pipes have no disk to flush to (fsync fails on them with EINVAL).
                _file.Flush();
            }
            else
            {
                ((FileStream)_file).Flush(flushToDisk: true);
                _file.Dispose();
                File.Move(TempPath, Path, overwrite: true);
            }
        }
        catch (Exception e) when (IsWriteFailure(e) || e is UnauthorizedAccessException)
        {
            throw new InputFormatException(Path, null, $"cannot write output: {e.Message}", e);
        }

        _committed = true;
        _file.Dispose();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_committed)
        {
            return;
        }

        _committed = true;
        try
        {
            _file.Dispose();
        }
        catch (Exception e) when (IsWriteFailure(e))
        {
            // The data is being thrown away: a final flush failing on a full disk must not keep the temporary.
        }

        if (TempPath is null)
        {
            return;
        }

        try
        {
            File.Delete(TempPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the temporary name starts with '.' and never shadows a real output.
        }
    }

    /// <summary>
    /// An error of the file system refusing data: an <see cref="IOException"/> (ENOSPC, EIO, EDQUOT…) or the
    /// <see cref="ArgumentOutOfRangeException"/> for parameter "value" that .NET raises for EFBIG (a file size limit,
    /// RLIMIT_FSIZE, or the file system's largest file). Argument errors of the stream methods name other parameters.
    /// </summary>
    internal static bool IsWriteFailure(Exception e) => e is IOException or ArgumentOutOfRangeException { ParamName: "value" };

    /// <summary>The output stream as callers see it: an I/O failure becomes a typed error naming the target.</summary>
    private sealed class GuardedStream(Stream inner, string path) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => inner.CanSeek;

        public override bool CanWrite => true;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => Guard(() => inner.Position = value);
        }

        public override void Flush() => Guard(inner.Flush);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("an output is write-only");

        public override long Seek(long offset, SeekOrigin origin) => Guard(() => inner.Seek(offset, origin));

        public override void SetLength(long value) => Guard(() => inner.SetLength(value));

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            try
            {
                inner.Write(buffer);
            }
            catch (Exception e) when (IsWriteFailure(e))
            {
                throw Failure(e);
            }
        }

        public override void WriteByte(byte value)
        {
            try
            {
                inner.WriteByte(value);
            }
            catch (Exception e) when (IsWriteFailure(e))
            {
                throw Failure(e);
            }
        }

        private void Guard(Action action) => Guard(() =>
        {
            action();
            return 0L;
        });

        private T Guard<T>(Func<T> action)
        {
            try
            {
                return action();
            }
            catch (Exception e) when (IsWriteFailure(e))
            {
                throw Failure(e);
            }
        }

        private InputFormatException Failure(Exception e) => new(path, null, $"cannot write output: {e.Message}", e);
    }
}
