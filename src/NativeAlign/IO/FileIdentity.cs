using System.Runtime.InteropServices;
using System.Text;

namespace NativeAlign.IO;

/// <summary>What a path names, as stat(2) sees it after following symbolic links.</summary>
public enum FileKind
{
    /// <summary>Nothing exists at the path (or a link points nowhere).</summary>
    Missing,

    /// <summary>A regular file.</summary>
    Regular,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A FIFO (named pipe) or an anonymous pipe reached through <c>/dev/stdin</c> or <c>/proc/self/fd</c>.</summary>
    Fifo,

    /// <summary>A character device (a terminal, <c>/dev/null</c>, <c>/dev/zero</c>, <c>/dev/full</c>).</summary>
    CharacterDevice,

    /// <summary>A block device (a disk).</summary>
    BlockDevice,

    /// <summary>A socket or another kind of file.</summary>
    Other,
}

/// <summary>
/// A file's identity — the device and inode numbers stat(2) reports after following symbolic links — and its kind. Two
/// paths name the same file exactly when their identities are equal, whatever links, hard links, <c>..</c> or relative
/// parts lie between them; comparing path strings cannot tell that.
/// </summary>
/// <param name="Device">The device the file lives on (0 when unknown or missing).</param>
/// <param name="Inode">The inode on that device (0 when unknown or missing).</param>
/// <param name="Kind">What the path names.</param>
public readonly record struct FileIdentity(ulong Device, ulong Inode, FileKind Kind)
{
    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1, StatxIno = 0x100;

    /// <summary>Looks <paramref name="path"/> up, following links; a path that cannot be examined counts as missing.</summary>
    public static FileIdentity Of(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!OperatingSystem.IsLinux())
        {
            // No inode numbers without statx; the kind still decides how outputs are written.
            return new FileIdentity(0, 0, Directory.Exists(path) ? FileKind.Directory : File.Exists(path) ? FileKind.Regular : FileKind.Missing);
        }

        return Statx(path);
    }

    /// <summary>True when both paths exist and name the same file.</summary>
    public static bool Same(string a, string b)
    {
        var x = Of(a);
        var y = Of(b);
        if (x.Kind == FileKind.Missing || y.Kind == FileKind.Missing)
        {
            return false;
        }

        return x.Inode != 0 ? x.Device == y.Device && x.Inode == y.Inode
            : string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal);
    }

    private static unsafe FileIdentity Statx(string path)
    {
        // struct statx has one layout on every Linux architecture: mode (u16) at 28, inode (u64) at 32, the device's
        // major and minor numbers (u32) at 136 and 140; 256 bytes in all.
        var name = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, name);
        byte* buffer = stackalloc byte[256];
        fixed (byte* p = name)
        {
            if (StatxCall(AtFdCwd, p, 0, StatxType | StatxIno, buffer) != 0)
            {
                return new FileIdentity(0, 0, FileKind.Missing);
            }
        }

        int mode = *(ushort*)(buffer + 28) & 0xF000;
        var kind = mode switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            _ => FileKind.Other,
        };
        ulong device = ((ulong)*(uint*)(buffer + 136) << 32) | *(uint*)(buffer + 140);
        return new FileIdentity(device, *(ulong*)(buffer + 32), kind);
    }

    [DllImport("libc", EntryPoint = "statx")]
    private static extern unsafe int StatxCall(int directory, byte* path, int flags, uint mask, byte* buffer);
}
