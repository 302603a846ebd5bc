using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace NativeAlign.Cli.IO;

/// <summary>A NumPy array read from or written to .npy: row-major values with their shape (1-D or 2-D).</summary>
/// <param name="Shape">Dimensions; a 1-D array has one.</param>
/// <param name="Data">Values in C order, widened to double.</param>
internal sealed record NpyArray(int[] Shape, double[] Data)
{
    /// <summary>Rows (the first dimension).</summary>
    public int Rows => Shape[0];

    /// <summary>Columns (1 for a 1-D array).</summary>
    public int Columns => Shape.Length > 1 ? Shape[1] : 1;

    /// <summary>The values as float32.</summary>
    public float[] ToSingle() => [.. Data.Select(v => (float)v)];
}

/// <summary>
/// Minimal .npy (format 1.0/2.0/3.0) and .npz (zip of .npy) support: little-endian float32, float64 and int64, C
/// order, 1-D or 2-D — what embeddings and linear maps need. Header fields are checked; sizes are capped.
/// </summary>
internal static class NpyFile
{
    /// <summary>Largest array accepted (2^31 values), so a corrupt header cannot request unbounded memory.</summary>
    private const long MaxValues = int.MaxValue;

    /// <summary>Reads a .npy file.</summary>
    public static NpyArray Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new InputFormatException(path, null, "file not found");
        }

        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads one array from <paramref name="stream"/>; <paramref name="name"/> is used in error messages.</summary>
    public static NpyArray Read(Stream stream, string name)
    {
        var (descr, shape, _) = ReadHeader(stream, name);
        int width = descr == "'<f4'" ? 4 : 8;
        long total = 1;
        foreach (int d in shape)
        {
            total *= d;
        }

        var bytes = new byte[total * width];
        ReadExactly(stream, bytes, name, $"data ({total} values of {width} bytes)");
        var data = new double[total];
        for (long i = 0; i < total; i++)
        {
            var span = bytes.AsSpan((int)(i * width), width);
            data[i] = descr switch
            {
                "'<f4'" => BinaryPrimitives.ReadSingleLittleEndian(span),
                "'<f8'" => BinaryPrimitives.ReadDoubleLittleEndian(span),
                _ => BinaryPrimitives.ReadInt64LittleEndian(span),
            };
        }

        return new NpyArray(shape, data);
    }

    /// <summary>Size of a format-1.0 header of any 2-D array: 10 fixed bytes plus the dictionary padded to a multiple of
    /// 64, and the dictionary of two int32 dimensions always fits in 128 bytes; so a header can be rewritten in place.</summary>
    internal const int HeaderBytes = 128;

    /// <summary>
    /// Reads and checks the header: dtype (&lt;f4, &lt;f8 or &lt;i8), C order, a 1-D or 2-D shape of at most
    /// 2^31 values. Returns the quoted dtype, the shape and the header's length in bytes (where the data starts).
    /// </summary>
    internal static (string Descr, int[] Shape, int DataOffset) ReadHeader(Stream stream, string name)
    {
        var magic = new byte[8];
        ReadExactly(stream, magic, name, "magic");
        if (magic[0] != 0x93 || Encoding.ASCII.GetString(magic, 1, 5) != "NUMPY" || magic[6] is < 1 or > 3)
        {
            throw new InputFormatException(name, null, "not a .npy file (expected \\x93NUMPY and version 1, 2 or 3)");
        }

        int headerLength;
        int prefix;
        if (magic[6] == 1)
        {
            var len = new byte[2];
            ReadExactly(stream, len, name, "header length");
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(len);
            prefix = 10;
        }
        else
        {
            var len = new byte[4];
            ReadExactly(stream, len, name, "header length");
            uint l = BinaryPrimitives.ReadUInt32LittleEndian(len);
            if (l > 1 << 20)
            {
                throw new InputFormatException(name, null, $"header length {l} is implausible (over 1 MiB)");
            }

            headerLength = (int)l;
            prefix = 12;
        }

        var headerBytes = new byte[headerLength];
        ReadExactly(stream, headerBytes, name, "header");
        string header = Encoding.UTF8.GetString(headerBytes);
        string descr = Field(header, "descr", name);
        string fortran = Field(header, "fortran_order", name);
        string shapeText = Field(header, "shape", name);
        if (fortran != "False")
        {
            throw new InputFormatException(name, null, "Fortran-order arrays are not supported; save with np.ascontiguousarray");
        }

        if (descr is not ("'<f4'" or "'<f8'" or "'<i8'"))
        {
            throw new InputFormatException(name, null, $"dtype {descr} is not supported (expected <f4, <f8 or <i8)");
        }

        var dims = shapeText.Trim('(', ')', ' ').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (dims.Length is < 1 or > 2)
        {
            throw new InputFormatException(name, null, $"shape {shapeText} is not 1-D or 2-D");
        }

        var shape = new int[dims.Length];
        long total = 1;
        for (int d = 0; d < dims.Length; d++)
        {
            if (!int.TryParse(dims[d], NumberStyles.None, CultureInfo.InvariantCulture, out shape[d]))
            {
                throw new InputFormatException(name, null, $"shape {shapeText} has a bad dimension '{dims[d]}'");
            }

            total *= shape[d];
            if (total > MaxValues)
            {
                throw new InputFormatException(name, null, $"shape {shapeText} exceeds {MaxValues} values");
            }
        }

        return (descr, shape, prefix + headerLength);
    }

    /// <summary>Writes float32 [rows, columns].</summary>
    public static void WriteSingle(Stream stream, ReadOnlySpan<float> data, int rows, int columns)
    {
        WriteHeader(stream, "<f4", $"({rows}, {columns})");
        var buffer = new byte[data.Length * 4];
        for (int i = 0; i < data.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(i * 4), data[i]);
        }

        stream.Write(buffer);
    }

    /// <summary>Writes float64 with the given shape (1-D when <paramref name="columns"/> is null).</summary>
    public static void WriteDouble(Stream stream, ReadOnlySpan<double> data, int rows, int? columns)
    {
        WriteHeader(stream, "<f8", columns is { } c ? $"({rows}, {c})" : $"({rows},)");
        var buffer = new byte[data.Length * 8];
        for (int i = 0; i < data.Length; i++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(buffer.AsSpan(i * 8), data[i]);
        }

        stream.Write(buffer);
    }

    /// <summary>Writes a 1-D int64 array.</summary>
    public static void WriteInt64(Stream stream, ReadOnlySpan<int> data)
    {
        WriteHeader(stream, "<i8", $"({data.Length},)");
        var buffer = new byte[data.Length * 8];
        for (int i = 0; i < data.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(i * 8), data[i]);
        }

        stream.Write(buffer);
    }

    /// <summary>Reads the named arrays of a .npz archive (np.savez layout: one <c>name.npy</c> entry per array).</summary>
    public static Dictionary<string, NpyArray> ReadNpz(string path)
    {
        if (!File.Exists(path))
        {
            throw new InputFormatException(path, null, "file not found");
        }

        try
        {
            using var zip = ZipFile.OpenRead(path);
            var result = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
            foreach (var entry in zip.Entries)
            {
                if (entry.FullName.EndsWith(".npy", StringComparison.Ordinal))
                {
                    using var s = entry.Open();
                    result[entry.FullName[..^4]] = Read(s, $"{path}:{entry.FullName}");
                }
            }

            return result;
        }
        catch (InvalidDataException e)
        {
            throw new InputFormatException(path, null, $"not a .npz (zip) archive: {e.Message}", e);
        }
    }

    /// <summary>Writes a .npz archive; each writer fills one named .npy entry.</summary>
    public static void WriteNpz(Stream stream, IEnumerable<(string Name, Action<Stream> Write)> arrays)
    {
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (name, write) in arrays)
        {
            var entry = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression);
            using var s = entry.Open();
            write(s);
        }
    }

    /// <summary>Writes a format-1.0 header for <paramref name="descr"/> (e.g. &lt;f4) and a Python shape tuple.</summary>
    internal static void WriteHeader(Stream stream, string descr, string shape)
    {
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";

        // Magic (6) + version (2) + length (2) + header + newline, padded with spaces to a multiple of 64.
        int total = 10 + header.Length + 1;
        header += new string(' ', (64 - (total % 64)) % 64) + "\n";
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)(header.Length & 0xFF), (byte)(header.Length >> 8)]);
        stream.Write(Encoding.ASCII.GetBytes(header));
    }

    private static string Field(string header, string key, string name)
    {
        int at = header.IndexOf($"'{key}'", StringComparison.Ordinal);
        if (at < 0)
        {
            throw new InputFormatException(name, null, $".npy header lacks '{key}': {header.Trim()}");
        }

        int colon = header.IndexOf(':', at);
        int start = colon + 1;
        while (start < header.Length && header[start] == ' ')
        {
            start++;
        }

        if (colon < 0 || start >= header.Length)
        {
            throw new InputFormatException(name, null, $".npy header field '{key}' is malformed: {header.Trim()}");
        }

        int end = header[start] == '(' ? header.IndexOf(')', start) + 1 : header.IndexOfAny([',', '}'], start);
        if (end <= start)
        {
            throw new InputFormatException(name, null, $".npy header field '{key}' is malformed: {header.Trim()}");
        }

        return header[start..end].Trim();
    }

    private static void ReadExactly(Stream stream, byte[] buffer, string name, string what)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw new InputFormatException(name, null, $"file ends inside the {what}");
        }
    }
}
