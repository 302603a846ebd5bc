using System.Runtime.InteropServices;

namespace NativeAlign.IO;

/// <summary>
/// The folder a model's files must stay inside. A model folder is data from elsewhere: every file it holds or names
/// (weights, shards, ONNX external data, configuration, tokenizer, module subfolders) is resolved through all its
/// symbolic links and refused unless it still lies under <see cref="Path"/>, so a crafted folder cannot make the engine
/// read — and return inside embeddings — a file of the machine. Links inside the root stay allowed: a Hugging Face hub
/// cache is made of them (<c>models--org--name/snapshots/REV/FILE → ../../blobs/SHA</c>), so for a folder at or below
/// <c>models--org--name/snapshots/REV</c> the root is the <c>models--org--name</c> folder.
/// </summary>
/// <remarks>
/// The check and the later open are two steps: whoever can rewrite the folder between them can still swap a file for a
/// link. That needs write access to the model folder while it loads, which is outside what this guards against
/// (a folder crafted in advance and handed over).
/// </remarks>
internal sealed class ModelRoot
{
    /// <summary>Symbolic links followed in one path before it is refused, as Linux's ELOOP limit.</summary>
    public const int MaxLinks = 40;

    private ModelRoot(string path) => Path = path;

    /// <summary>The resolved folder (no links in it) that every model file must resolve inside.</summary>
    public string Path { get; }

    /// <summary>The root of the model folder <paramref name="folder"/> (itself resolved; the folder a user names may be a link).</summary>
    public static ModelRoot ForFolder(string folder)
    {
        string real = RealPath(System.IO.Path.GetFullPath(folder));
        return new ModelRoot(HubCacheRepository(real) ?? real);
    }

    /// <summary>The root for a file named on its own (its folder's root).</summary>
    public static ModelRoot ForFile(string file) =>
        ForFolder(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file)) ?? ".");

    /// <summary>Whether <paramref name="path"/>, resolved, lies inside the root.</summary>
    public bool Holds(string path) => IsInside(RealPath(System.IO.Path.GetFullPath(path)));

    /// <summary>
    /// Refuses <paramref name="path"/> — a file or folder the model folder holds or names — unless it resolves inside the
    /// root; the error names <paramref name="referrer"/> (the file that named it, or the path itself) and <paramref name="item"/>.
    /// </summary>
    public void Require(string path, string? referrer = null, string? item = null)
    {
        if (!Holds(path))
        {
            throw new ModelFormatException(referrer ?? path, item, referrer is null
                ? $"resolves through a symbolic link to a file outside the model folder {Path}; model files must stay inside it"
                : $"'{path}' resolves through a symbolic link to a file outside the model folder {Path}; model files must stay inside it");
        }
    }

    /// <summary>
    /// <paramref name="fullPath"/> with every symbolic link in every component replaced by its target, as POSIX
    /// <c>realpath</c> does (.NET's <c>ResolveLinkTarget</c> only follows the last component). Components that do not
    /// exist are kept as written, so a missing file is reported by whoever opens it.
    /// </summary>
    public static string RealPath(string fullPath)
    {
        string current = System.IO.Path.GetPathRoot(fullPath) ?? throw new ArgumentException("expected an absolute path", nameof(fullPath));
        var pending = new Stack<string>();
        PushComponents(pending, fullPath[current.Length..]);
        int links = 0;
        while (pending.Count > 0)
        {
            string part = pending.Pop();
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                // current has no links left in it, so its lexical parent is its real parent.
                current = System.IO.Path.GetDirectoryName(current) ?? current;
                continue;
            }

            string next = System.IO.Path.Join(current, part);
            string? target = LinkTarget(next);
            if (target is null)
            {
                current = next;
                continue;
            }

            if (++links > MaxLinks)
            {
                throw new ModelFormatException(fullPath, null, $"more than {MaxLinks} symbolic links to follow");
            }

            if (System.IO.Path.IsPathRooted(target))
            {
                current = System.IO.Path.GetPathRoot(target)!;
                target = target[current.Length..];
            }

            PushComponents(pending, target);
        }

        return current;
    }

    private static void PushComponents(Stack<string> pending, string relative)
    {
        var parts = relative.Split(System.IO.Path.DirectorySeparatorChar, System.IO.Path.AltDirectorySeparatorChar);
        for (int i = parts.Length - 1; i >= 0; i--)
        {
            pending.Push(parts[i]);
        }
    }

    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not a link we can read: the open that follows reports the real problem.
            return null;
        }
    }

    private static string? HubCacheRepository(string real)
    {
        for (var dir = new DirectoryInfo(real); dir.Parent?.Parent is { } repository; dir = dir.Parent)
        {
            if (dir.Parent.Name == "snapshots" && repository.Name.StartsWith("models--", StringComparison.Ordinal))
            {
                return repository.FullName;
            }
        }

        return null;
    }

    private bool IsInside(string real)
    {
        if (real == Path)
        {
            return true;
        }

        string prefix = Path.EndsWith(System.IO.Path.DirectorySeparatorChar) ? Path : Path + System.IO.Path.DirectorySeparatorChar;
        return real.StartsWith(prefix, StringComparison.Ordinal);
    }
}

/// <summary>Checks that a model file is a regular file before it is opened: a FIFO would block the open forever, a device would read without end.</summary>
internal static unsafe partial class ModelFileType
{
    private const int AtFdCwd = -100;
    private const uint StatxType = 1;
    private const int ModeOffset = 28;

    /// <summary>
    /// Throws a <see cref="ModelFormatException"/> when <paramref name="path"/> exists and is neither a regular file nor a
    /// directory (callers report directories themselves); a missing file is left for the open to report. Stat and open
    /// are two steps, so a file swapped for a FIFO between them still blocks; that needs write access to the folder while
    /// it loads.
    /// </summary>
    public static void RequireRegularFile(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            // FIFOs and devices in a model folder are a POSIX matter; statx below is Linux's fixed-layout stat.
            return;
        }

        // struct statx is 256 bytes with the same layout on every Linux architecture; stx_mode is the u16 at offset 28.
        byte* buffer = stackalloc byte[256];
        int result;
        try
        {
            result = StatX(AtFdCwd, path, 0, StatxType, buffer);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // A C library without statx (glibc < 2.28): the open still works, only this early refusal is lost.
            return;
        }

        if (result != 0)
        {
            return;
        }

        int type = *(ushort*)(buffer + ModeOffset) & 0xF000;
        string? kind = type switch
        {
            0x8000 or 0x4000 => null,
            0x1000 => "a named pipe (FIFO)",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0xC000 => "a socket",
            _ => "not a regular file",
        };
        if (kind is not null)
        {
            throw new ModelFormatException(path, null, $"is {kind}; model files must be regular files");
        }
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatX(int dirFd, string path, int flags, uint mask, byte* buffer);
}
