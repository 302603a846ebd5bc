namespace NativeAlign.IO;

/// <summary>
/// Writes an output file so that readers only ever see the old file or the complete new one:
/// the data goes to a temporary file beside the target and is renamed over it on <see cref="Commit"/>.
/// Disposing without committing deletes the temporary file, so a failed or cancelled run leaves nothing half-written.
/// </summary>
public sealed class AtomicFile : IDisposable
{
    private readonly FileStream _stream;
    private bool _committed;

    private AtomicFile(string path, string tempPath, FileStream stream)
    {
        Path = path;
        TempPath = tempPath;
        _stream = stream;
    }

    /// <summary>The final path.</summary>
    public string Path { get; }

    /// <summary>The temporary path written until <see cref="Commit"/>.</summary>
    public string TempPath { get; }

    /// <summary>The stream to write to.</summary>
    public Stream Stream => _stream;

    /// <summary>Opens a temporary file beside <paramref name="path"/>; its directory must exist.</summary>
    public static AtomicFile Create(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        var dir = System.IO.Path.GetDirectoryName(full) ?? ".";
        if (!Directory.Exists(dir))
        {
            throw new InputFormatException(path, null, $"cannot write output: directory '{dir}' does not exist");
        }

        if (Directory.Exists(full))
        {
            throw new InputFormatException(path, null, "cannot write output: the path is a directory");
        }

        DeleteStaleTemporaries(dir, System.IO.Path.GetFileName(full));

        // Same directory as the target, so the final rename never crosses file systems.
        var temp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            return new AtomicFile(full, temp, stream);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputFormatException(path, null, $"cannot write output: {e.Message}", e);
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

    /// <summary>Flushes the data to disk and renames the temporary file over the target.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
        File.Move(TempPath, Path, overwrite: true);
        _committed = true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_committed)
        {
            return;
        }

        _stream.Dispose();
        try
        {
            File.Delete(TempPath);
        }
        catch (IOException)
        {
            // Best effort: the temporary name starts with '.' and never shadows a real output.
        }
    }
}
