using System.Buffers.Binary;
using System.Text.Json;
using NativeAlign.Tensors;

namespace NativeAlign.IO;

/// <summary>Where one tensor lies in a safetensors file, as its header declares it (after validation).</summary>
/// <param name="Name">The name as written in the file (model prefix not stripped).</param>
/// <param name="DType">The safetensors dtype string (<c>F32</c>, <c>BF16</c>, <c>I64</c>…).</param>
/// <param name="Shape">Dimensions, outermost first.</param>
/// <param name="Begin">Start of the data, relative to the end of the header.</param>
/// <param name="End">End of the data (exclusive), relative to the end of the header.</param>
public sealed record SafetensorsTensorInfo(string Name, string DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of bytes the tensor occupies.</summary>
    public long ByteLength => End - Begin;
}

/// <summary>
/// One <c>.safetensors</c> file, read whole into memory at load: an 8-byte little-endian header length, a JSON header naming each tensor's
/// dtype, shape and byte range, then the raw data. The header is validated whole when the file is opened (length within
/// the file and under <see cref="MaxHeaderBytes"/>, known dtypes, shape × dtype size equal to the byte range, ranges inside
/// the data, not overlapping, aligned to the element size); tensor data are exposed over those bytes without copying.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>Largest header accepted (the reference implementation's own cap).</summary>
    public const long MaxHeaderBytes = 100L << 20;

    /// <summary>Most dimensions a tensor may have.</summary>
    public const int MaxRank = 16;

    private readonly ResidentFile _file;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;

    private SafetensorsFile(ResidentFile file, long dataStart, Dictionary<string, SafetensorsTensorInfo> byName, IReadOnlyList<SafetensorsTensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        _file = file;
        _dataStart = dataStart;
        _byName = byName;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The file.</summary>
    public string Path => _file.Path;

    /// <summary>Every tensor in the file, in data order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>The free-form <c>__metadata__</c> strings (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Maps and validates <paramref name="path"/>; any defect is a <see cref="ModelFormatException"/> naming the file and tensor.</summary>
    public static SafetensorsFile Open(string path)
    {
        var file = ResidentFile.Open(path);
        try
        {
            var (dataStart, byName, ordered, metadata) = ReadHeader(file);
            return new SafetensorsFile(file, dataStart, byName, ordered, metadata);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Bytes per element of a safetensors dtype, or 0 when the dtype is unknown.</summary>
    public static int ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => 0,
    };

    /// <summary>The weight type a dtype loads as, or null when the engine does not use that dtype for weights.</summary>
    public static WeightType? WeightTypeOf(string dtype) => dtype switch
    {
        "F32" => WeightType.F32,
        "F16" => WeightType.F16,
        "BF16" => WeightType.BF16,
        _ => null,
    };

    /// <summary>Looks a tensor's header entry up by its name in the file.</summary>
    public bool TryGetInfo(string name, out SafetensorsTensorInfo info) => _byName.TryGetValue(name, out info!);

    /// <summary>The raw bytes of a tensor, over the file bytes (valid until this file is disposed).</summary>
    public ReadOnlyMemory<byte> GetBytes(SafetensorsTensorInfo info)
    {
        if (info.ByteLength > int.MaxValue)
        {
            throw new ModelFormatException(Path, info.Name, $"is {info.ByteLength} bytes; tensors over 2 GiB are not supported");
        }

        return _file.Memory(_dataStart + info.Begin, (int)info.ByteLength);
    }

    /// <summary>
    /// The tensor <paramref name="name"/> (as named in the file) as a <see cref="WeightTensor"/> called
    /// <paramref name="canonicalName"/>; only F32, F16 and BF16 load.
    /// </summary>
    public WeightTensor GetWeight(string name, string? canonicalName = null)
    {
        if (!_byName.TryGetValue(name, out var info))
        {
            throw new ModelFormatException(Path, name, "no such tensor in the file");
        }

        var type = WeightTypeOf(info.DType) ?? throw new ModelFormatException(Path, name, $"dtype {info.DType} cannot be used as a weight (expected F32, F16 or BF16)");
        var shape = new int[info.Shape.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            if (info.Shape[i] > int.MaxValue)
            {
                throw new ModelFormatException(Path, name, $"dimension {i} is {info.Shape[i]}, more than supported");
            }

            shape[i] = (int)info.Shape[i];
        }

        return new WeightTensor(canonicalName ?? name, shape, type, GetBytes(info));
    }

    /// <summary>Frees the file's bytes; tensors obtained from it become invalid.</summary>
    public void Dispose() => _file.Dispose();

    private static (long DataStart, Dictionary<string, SafetensorsTensorInfo> ByName, List<SafetensorsTensorInfo> Ordered, Dictionary<string, string> Metadata) ReadHeader(ResidentFile file)
    {
        string path = file.Path;
        if (file.Length < 8)
        {
            throw new ModelFormatException(path, null, $"is {file.Length} bytes, shorter than the 8-byte header length of a safetensors file");
        }

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file.Span(0, 8));
        if (headerLength > (ulong)MaxHeaderBytes)
        {
            throw new ModelFormatException(path, null, $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte cap (not a safetensors file, or corrupt)");
        }

        if ((long)headerLength > file.Length - 8)
        {
            throw new ModelFormatException(path, null, $"header length {headerLength} runs past the end of the file ({file.Length} bytes): truncated or corrupt");
        }

        if (headerLength < 2)
        {
            throw new ModelFormatException(path, null, $"header length {headerLength} is too small for a JSON header");
        }

        long dataStart = 8 + (long)headerLength;
        long dataLength = file.Length - dataStart;
        var byName = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var document = JsonModelFile.Parse(path, file.Memory(8, (int)headerLength)))
        {
            var root = JsonModelFile.RootObject(document, path);
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    ReadMetadata(path, property.Value, metadata);
                    continue;
                }

                if (byName.ContainsKey(property.Name))
                {
                    throw new ModelFormatException(path, property.Name, "tensor is declared twice in the header");
                }

                byName.Add(property.Name, ReadEntry(path, property.Name, property.Value, dataLength));
            }
        }

        var ordered = byName.Values.OrderBy(t => t.Begin).ThenBy(t => t.End).ToList();
        for (int i = 1; i < ordered.Count; i++)
        {
            var previous = ordered[i - 1];
            var current = ordered[i];
            if (current.Begin < previous.End)
            {
                throw new ModelFormatException(path, current.Name, $"data [{current.Begin}, {current.End}) overlaps tensor '{previous.Name}' at [{previous.Begin}, {previous.End})");
            }
        }

        return (dataStart, byName, ordered, metadata);
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException(path, "__metadata__", $"expected an object of strings, found {JsonModelFile.Describe(value)}");
        }

        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
            {
                throw new ModelFormatException(path, "__metadata__", $"entry '{entry.Name}' is {JsonModelFile.Describe(entry.Value)}, expected a string");
            }

            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static SafetensorsTensorInfo ReadEntry(string path, string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException(path, name, $"header entry is {JsonModelFile.Describe(value)}, expected an object with dtype, shape and data_offsets");
        }

        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw new ModelFormatException(path, name, "missing or non-string 'dtype'");
        }

        string dtype = dtypeElement.GetString()!;
        int elementSize = ElementSize(dtype);
        if (elementSize == 0)
        {
            throw new ModelFormatException(path, name, $"unknown dtype '{(dtype.Length > 20 ? dtype[..20] + "…" : dtype)}' (expected F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL…)");
        }

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw new ModelFormatException(path, name, "missing 'shape' array");
        }

        int rank = shapeElement.GetArrayLength();
        if (rank > MaxRank)
        {
            throw new ModelFormatException(path, name, $"shape has {rank} dimensions, more than the {MaxRank} accepted");
        }

        var shape = new long[rank];
        long elements = 1;
        int d = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long n) || n < 0)
            {
                throw new ModelFormatException(path, name, $"shape dimension {d} is {JsonModelFile.Describe(dim)}, expected a non-negative integer");
            }

            shape[d++] = n;

            // Any count past the data length cannot match; stop before the product can overflow.
            elements = n == 0 || elements == 0 ? 0 : (elements > dataLength / n ? long.MaxValue : elements * n);
        }

        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
        {
            throw new ModelFormatException(path, name, "missing 'data_offsets' (expected [begin, end])");
        }

        if (!offsets[0].TryGetInt64Checked(out long begin) || !offsets[1].TryGetInt64Checked(out long end) || begin < 0 || end < begin)
        {
            throw new ModelFormatException(path, name, $"data_offsets [{JsonModelFile.Describe(offsets[0])}, {JsonModelFile.Describe(offsets[1])}] are not integers with 0 <= begin <= end");
        }

        if (end > dataLength)
        {
            throw new ModelFormatException(path, name, $"data_offsets [{begin}, {end}) run past the end of the data ({dataLength} bytes): truncated or corrupt");
        }

        long expected = elements == long.MaxValue || elements > long.MaxValue / elementSize ? long.MaxValue : elements * elementSize;
        if (end - begin != expected)
        {
            string expectedText = expected == long.MaxValue ? "more than the file holds" : expected.ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new ModelFormatException(path, name, $"shape [{string.Join(", ", shape)}] of {dtype} needs {expectedText} bytes but data_offsets give {end - begin}");
        }

        if (begin % elementSize != 0)
        {
            throw new ModelFormatException(path, name, $"data offset {begin} is not aligned to the {elementSize}-byte {dtype} element size");
        }

        return new SafetensorsTensorInfo(name, dtype, shape, begin, end);
    }
}

/// <summary>JSON helpers local to safetensors header parsing.</summary>
internal static class SafetensorsJsonExtensions
{
    /// <summary>Reads an integer that must be a JSON number fitting in a long.</summary>
    public static bool TryGetInt64Checked(this JsonElement element, out long value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out value);
    }
}
