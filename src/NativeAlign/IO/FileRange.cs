using Microsoft.Win32.SafeHandles;

namespace NativeAlign.IO;

/// <summary>Positioned reads that must fill their buffer (a file that got shorter is an input error, not a short read).</summary>
public static class FileRange
{
    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/> of the open file <paramref name="path"/>.</summary>
    public static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long offset, string path)
    {
        ArgumentNullException.ThrowIfNull(handle);
        while (!destination.IsEmpty)
        {
            int n = RandomAccess.Read(handle, destination, offset);
            if (n == 0)
            {
                throw new InputFormatException(path, null, $"the file ends at byte {offset}, before the data expected there (did it change while being read?)");
            }

            destination = destination[n..];
            offset += n;
        }
    }
}
