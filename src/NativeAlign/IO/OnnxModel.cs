using System.Buffers.Binary;
using System.Globalization;

namespace NativeAlign.IO;

/// <summary>ONNX tensor element types (TensorProto.DataType) the reader knows the size of.</summary>
internal enum OnnxDataType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    Complex64 = 14,
    Complex128 = 15,
    BFloat16 = 16,
}

/// <summary>A tensor from an ONNX file (an initializer or a Constant's value): little-endian element bytes.</summary>
internal sealed class OnnxTensor(string name, OnnxDataType type, long[] dims, ReadOnlyMemory<byte> data)
{
    public string Name { get; } = name;

    public OnnxDataType Type { get; } = type;

    public long[] Dims { get; } = dims;

    /// <summary>Element bytes, over the file bytes read at load for raw and external data.</summary>
    public ReadOnlyMemory<byte> Data { get; } = data;

    public long ElementCount => Dims.Aggregate(1L, (a, d) => a * d);

    public string ShapeText => "[" + string.Join(", ", Dims) + "]";

    /// <summary>Bytes per element, or 0 for types without a fixed size.</summary>
    public static int ElementSize(OnnxDataType type) => type switch
    {
        OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.UInt32 => 4,
        OnnxDataType.UInt8 or OnnxDataType.Int8 or OnnxDataType.Bool => 1,
        OnnxDataType.UInt16 or OnnxDataType.Int16 or OnnxDataType.Float16 or OnnxDataType.BFloat16 => 2,
        OnnxDataType.Int64 or OnnxDataType.UInt64 or OnnxDataType.Double or OnnxDataType.Complex64 => 8,
        OnnxDataType.Complex128 => 16,
        _ => 0,
    };

    /// <summary>The values as float32 (from float, float16 or bfloat16 storage).</summary>
    public float[] ToFloat32(string? path)
    {
        var bytes = Data.Span;
        var result = new float[ElementCount];
        switch (Type)
        {
            case OnnxDataType.Float:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
                }

                break;
            case OnnxDataType.Float16:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]);
                }

                break;
            case OnnxDataType.BFloat16:
                for (int i = 0; i < result.Length; i++)
                {
                    result[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]) << 16);
                }

                break;
            default:
                throw new ModelFormatException(path, Name, $"element type {Type}, expected a floating-point tensor");
        }

        return result;
    }

    /// <summary>The values as int64 (from int64 or int32 storage).</summary>
    public long[] ToInt64(string? path)
    {
        var bytes = Data.Span;
        var result = new long[ElementCount];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = Type switch
            {
                OnnxDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(bytes[(i * 8)..]),
                OnnxDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * 4)..]),
                _ => throw new ModelFormatException(path, Name, $"element type {Type}, expected an integer tensor"),
            };
        }

        return result;
    }
}

/// <summary>AttributeProto.AttributeType values used here.</summary>
internal enum OnnxAttributeType
{
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
}

/// <summary>One node attribute; subgraphs are not read.</summary>
internal sealed class OnnxAttribute
{
    public required string Name { get; init; }

    public OnnxAttributeType Type { get; set; }

    public float Float { get; set; }

    public long Int { get; set; }

    public string? String { get; set; }

    public OnnxTensor? Tensor { get; set; }

    public List<float> Floats { get; } = [];

    public List<long> Ints { get; } = [];
}

/// <summary>One graph node.</summary>
internal sealed class OnnxNode
{
    public string Name { get; set; } = "";

    public string OpType { get; set; } = "";

    public string Domain { get; set; } = "";

    public List<string> Inputs { get; } = [];

    public List<string> Outputs { get; } = [];

    public Dictionary<string, OnnxAttribute> Attributes { get; } = new(StringComparer.Ordinal);

    /// <summary>A name for error messages: the node name, else its op and first output.</summary>
    public string Label => Name.Length > 0 ? Name : $"{OpType} -> {Outputs.FirstOrDefault() ?? "?"}";

    /// <summary>An optional input (ONNX marks an omitted optional input by an empty name).</summary>
    public string? Input(int index) => index < Inputs.Count && Inputs[index].Length > 0 ? Inputs[index] : null;

    public long? IntAttribute(string name) => Attributes.TryGetValue(name, out var a) && a.Type == OnnxAttributeType.Int ? a.Int : null;
}

/// <summary>
/// The parts of an ONNX ModelProto that weight loading needs: opsets, graph inputs/outputs, nodes with attributes,
/// and initializers (inline <c>raw_data</c>, typed fields, or external data files beside the model, read whole at load).
/// The protobuf is read by <see cref="ProtobufReader"/>; every tensor's byte size is checked against its dims and type.
/// </summary>
internal sealed class OnnxModel : IDisposable
{
    /// <summary>Most dimensions a tensor may have.</summary>
    public const int MaxRank = 16;

    /// <summary>Most values a tensor may keep in typed fields (float_data, int32_data, int64_data) rather than raw_data.</summary>
    public const int MaxTypedValues = 64 << 20;

    /// <summary>Most values in one attribute's list.</summary>
    public const int MaxAttributeValues = 1 << 20;

    private readonly ResidentFile _file;
    private readonly ModelRoot _root;
    private readonly Dictionary<string, ResidentFile> _external = new(StringComparer.Ordinal);
    private readonly List<(string File, string Location, long Offset, long Length, string Tensor)> _externalRanges = [];

    private OnnxModel(ResidentFile file, ModelRoot root)
    {
        _file = file;
        _root = root;
    }

    public string Path => _file.Path;

    public long IrVersion { get; private set; }

    public Dictionary<string, long> Opsets { get; } = new(StringComparer.Ordinal);

    public List<string> GraphInputs { get; } = [];

    public List<string> GraphOutputs { get; } = [];

    public List<OnnxNode> Nodes { get; } = [];

    public Dictionary<string, OnnxTensor> Initializers { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Reads <paramref name="path"/> (and any external data files it names, which must resolve inside
    /// <paramref name="root"/>, the model file's own folder when null).
    /// </summary>
    public static OnnxModel Open(string path, ModelRoot? root = null)
    {
        root ??= ModelRoot.ForFile(path);
        var file = ResidentFile.Open(path);
        var model = new OnnxModel(file, root);
        try
        {
            if (file.Length > int.MaxValue)
            {
                throw new ModelFormatException(path, null, $"is {file.Length} bytes; a protobuf message is limited to 2 GiB (large weights belong in external data)");
            }

            if (file.Length == 0)
            {
                throw new ModelFormatException(path, null, "is empty, expected an ONNX model");
            }

            model.ReadModel(new ProtobufReader(file.Span(0, (int)file.Length), 0, path, "ModelProto"));
            model.CheckExternalRangesDisjoint();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var f in _external.Values)
        {
            f.Dispose();
        }

        _file.Dispose();
    }

    private void ReadModel(ProtobufReader r)
    {
        bool sawGraph = false;
        while (r.HasMore)
        {
            var (field, wire) = r.ReadKey();
            switch (field)
            {
                case 1:
                    r.Expect(wire, WireType.Varint, "ir_version");
                    IrVersion = r.ReadInt64();
                    break;
                case 7:
                    r.Expect(wire, WireType.LengthDelimited, "graph");
                    if (sawGraph)
                    {
                        throw r.Error("more than one graph");
                    }

                    sawGraph = true;
                    ReadGraph(r.ReadMessage("GraphProto"));
                    break;
                case 8:
                    r.Expect(wire, WireType.LengthDelimited, "opset_import");
                    ReadOpset(r.ReadMessage("OperatorSetIdProto"));
                    break;
                default:
                    r.Skip(wire);
                    break;
            }
        }

        if (!sawGraph)
        {
            throw new ModelFormatException(Path, null, "no graph in the model (not an ONNX model, or truncated)");
        }
    }

    private void ReadOpset(ProtobufReader r)
    {
        string domain = "";
        long version = 0;
        while (r.HasMore)
        {
            var (field, wire) = r.ReadKey();
            if (field == 1 && wire == WireType.LengthDelimited)
            {
                domain = r.ReadString();
            }
            else if (field == 2 && wire == WireType.Varint)
            {
                version = r.ReadInt64();
            }
            else
            {
                r.Skip(wire);
            }
        }

        Opsets[domain] = version;
    }

    private void ReadGraph(ProtobufReader r)
    {
        while (r.HasMore)
        {
            var (field, wire) = r.ReadKey();
            switch (field)
            {
                case 1:
                    r.Expect(wire, WireType.LengthDelimited, "node");
                    Nodes.Add(ReadNode(r.ReadMessage("NodeProto")));
                    break;
                case 5:
                    r.Expect(wire, WireType.LengthDelimited, "initializer");
                    var tensor = ReadTensor(r.ReadMessage("TensorProto"));
                    if (!Initializers.TryAdd(tensor.Name, tensor))
                    {
                        throw new ModelFormatException(Path, tensor.Name, "initializer is defined twice");
                    }

                    break;
                case 11:
                case 12:
                    r.Expect(wire, WireType.LengthDelimited, field == 11 ? "input" : "output");
                    string name = ReadValueInfoName(r.ReadMessage("ValueInfoProto"));
                    (field == 11 ? GraphInputs : GraphOutputs).Add(name);
                    break;
                default:
                    r.Skip(wire);
                    break;
            }
        }
    }

    private static string ReadValueInfoName(ProtobufReader r)
    {
        string name = "";
        while (r.HasMore)
        {
            var (field, wire) = r.ReadKey();
            if (field == 1 && wire == WireType.LengthDelimited)
            {
                name = r.ReadString();
            }
            else
            {
                r.Skip(wire);
            }
        }

        return name;
    }

    private OnnxNode ReadNode(ProtobufReader r)
    {
        var node = new OnnxNode();
        while (r.HasMore)
        {
            var (field, wire) = r.ReadKey();
            switch (field)
            {
                case 1:
                    r.Expect(wire, WireType.LengthDelimited, "input");
                    node.Inputs.Add(r.ReadString());
                    break;
                case 2:
                    r.Expect(wire, WireType.LengthDelimited, "output");
                    node.Outputs.Add(r.ReadString());
                    break;
                case 3:
                    r.Expect(wire, WireType.LengthDelimited, "name");
                    node.Name = r.ReadString();
                    break;
                case 4:
                    r.Expect(wire, WireType.LengthDelimited, "op_type");
                    node.OpType = r.ReadString();
                    break;
                case 5:
                    r.Expect(wire, WireType.LengthDelimited, "attribute");
                    var attribute = ReadAttribute(r.ReadMessage("AttributeProto"));
                    node.Attributes[attribute.Name] = attribute;
                    break;
                case 7:
                    r.Expect(wire, WireType.LengthDelimited, "domain");
                    node.Domain = r.ReadString();
                    break;
                default:
                    r.Skip(wire);
                    break;
            }
        }

        return node;
    }

    private OnnxAttribute ReadAttribute(ProtobufReader r)
    {
        string name = "";
        var a = new OnnxAttribute { Name = "" };
        OnnxAttributeType declared = OnnxAttributeType.Undefined;
        OnnxTensor? tensor = null;
        while (r.HasMore)
        {
            var (field, wire) = r.ReadKey();
            switch (field)
            {
                case 1:
                    r.Expect(wire, WireType.LengthDelimited, "name");
                    name = r.ReadString();
                    break;
                case 2:
                    r.Expect(wire, WireType.Fixed32, "f");
                    a.Float = BitConverter.UInt32BitsToSingle(r.ReadFixed32());
                    break;
                case 3:
                    r.Expect(wire, WireType.Varint, "i");
                    a.Int = r.ReadInt64();
                    break;
                case 4:
                    r.Expect(wire, WireType.LengthDelimited, "s");
                    a.String = r.ReadString();
                    break;
                case 5:
                    r.Expect(wire, WireType.LengthDelimited, "t");
                    tensor = ReadTensor(r.ReadMessage("TensorProto"));
                    break;
                case 7:
                    r.ReadRepeatedFloat(wire, a.Floats, MaxAttributeValues, "floats");
                    break;
                case 8:
                    r.ReadRepeatedVarint(wire, a.Ints, MaxAttributeValues, "ints");
                    break;
                case 20:
                    r.Expect(wire, WireType.Varint, "type");
                    declared = (OnnxAttributeType)r.ReadInt32();
                    break;
                default:
                    // Subgraphs (g, graphs) and lists of strings/tensors are not needed to find weights.
                    r.Skip(wire);
                    break;
            }
        }

        var result = new OnnxAttribute { Name = name, Type = declared, Float = a.Float, Int = a.Int, String = a.String, Tensor = tensor };
        result.Floats.AddRange(a.Floats);
        result.Ints.AddRange(a.Ints);
        return result;
    }

    private OnnxTensor ReadTensor(ProtobufReader r)
    {
        string name = "";
        var dims = new List<long>();
        int dataType = 0;
        long rawOffset = -1;
        int rawLength = 0;
        List<float>? floats = null;
        List<long>? int32s = null;
        List<long>? int64s = null;
        var external = new Dictionary<string, string>(StringComparer.Ordinal);
        long dataLocation = 0;
        while (r.HasMore)
        {
            var (field, wire) = r.ReadKey();
            switch (field)
            {
                case 1:
                    r.ReadRepeatedVarint(wire, dims, MaxRank, "dims");
                    break;
                case 2:
                    r.Expect(wire, WireType.Varint, "data_type");
                    dataType = r.ReadInt32();
                    break;
                case 4:
                    r.ReadRepeatedFloat(wire, floats ??= [], MaxTypedValues, "float_data");
                    break;
                case 5:
                    r.ReadRepeatedVarint(wire, int32s ??= [], MaxTypedValues, "int32_data");
                    break;
                case 7:
                    r.ReadRepeatedVarint(wire, int64s ??= [], MaxTypedValues, "int64_data");
                    break;
                case 8:
                    r.Expect(wire, WireType.LengthDelimited, "name");
                    name = r.ReadString();
                    break;
                case 9:
                    r.Expect(wire, WireType.LengthDelimited, "raw_data");
                    rawLength = r.ReadBytes(out rawOffset).Length;
                    break;
                case 13:
                    r.Expect(wire, WireType.LengthDelimited, "external_data");
                    var (key, value) = ReadStringPair(r.ReadMessage("StringStringEntryProto"));
                    external[key] = value;
                    break;
                case 14:
                    r.Expect(wire, WireType.Varint, "data_location");
                    dataLocation = r.ReadInt64();
                    break;
                default:
                    r.Skip(wire);
                    break;
            }
        }

        var type = (OnnxDataType)dataType;
        int elementSize = OnnxTensor.ElementSize(type);
        if (elementSize == 0)
        {
            throw new ModelFormatException(Path, name, $"unsupported tensor element type {dataType}");
        }

        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0)
            {
                throw new ModelFormatException(Path, name, $"negative dimension {d}");
            }

            // Past 2^40 elements nothing in a model file can hold the data; stop before the product overflows.
            count = d == 0 || count == 0 ? 0 : (count > (1L << 40) / d ? 1L << 41 : count * d);
        }

        long byteLength = count * elementSize;
        var dimArray = dims.ToArray();
        ReadOnlyMemory<byte> data;
        if (dataLocation == 1 || external.Count > 0)
        {
            data = ResolveExternal(name, external, byteLength);
        }
        else if (rawOffset >= 0)
        {
            if (rawLength != byteLength)
            {
                throw new ModelFormatException(Path, name, $"raw_data has {rawLength} bytes, expected {byteLength} for {type} [{string.Join(", ", dims)}]");
            }

            data = _file.Memory(rawOffset, rawLength);
        }
        else
        {
            data = FromTypedFields(name, type, count, floats, int32s, int64s);
        }

        return new OnnxTensor(name, type, dimArray, data);
    }

    private static (string Key, string Value) ReadStringPair(ProtobufReader r)
    {
        string key = "", value = "";
        while (r.HasMore)
        {
            var (field, wire) = r.ReadKey();
            if (field == 1 && wire == WireType.LengthDelimited)
            {
                key = r.ReadString();
            }
            else if (field == 2 && wire == WireType.LengthDelimited)
            {
                value = r.ReadString();
            }
            else
            {
                r.Skip(wire);
            }
        }

        return (key, value);
    }

    private ReadOnlyMemory<byte> FromTypedFields(string name, OnnxDataType type, long count, List<float>? floats, List<long>? int32s, List<long>? int64s)
    {
        int available = type switch
        {
            OnnxDataType.Float => floats?.Count ?? 0,
            OnnxDataType.Int64 => int64s?.Count ?? 0,
            OnnxDataType.Int32 or OnnxDataType.UInt8 or OnnxDataType.Int8 or OnnxDataType.Bool or OnnxDataType.UInt16 or OnnxDataType.Int16 or OnnxDataType.Float16 or OnnxDataType.BFloat16 => int32s?.Count ?? 0,
            _ => throw new ModelFormatException(Path, name, $"{type} data outside raw_data is not supported"),
        };
        if (available != count)
        {
            throw new ModelFormatException(Path, name, $"has {available} values, expected {count} for its dims");
        }

        // count equals a list length here, so this allocation is bounded by what the file itself holds.
        int size = OnnxTensor.ElementSize(type);
        var bytes = new byte[count * size];
        for (int i = 0; i < count; i++)
        {
            var dest = bytes.AsSpan(i * size);
            switch (type)
            {
                case OnnxDataType.Float:
                    BinaryPrimitives.WriteSingleLittleEndian(dest, floats![i]);
                    break;
                case OnnxDataType.Int64:
                    BinaryPrimitives.WriteInt64LittleEndian(dest, int64s![i]);
                    break;
                case OnnxDataType.Int32:
                    BinaryPrimitives.WriteInt32LittleEndian(dest, (int)int32s![i]);
                    break;
                case OnnxDataType.UInt16 or OnnxDataType.Int16 or OnnxDataType.Float16 or OnnxDataType.BFloat16:
                    BinaryPrimitives.WriteUInt16LittleEndian(dest, (ushort)int32s![i]);
                    break;
                default:
                    dest[0] = (byte)int32s![i];
                    break;
            }
        }

        return bytes;
    }

    private ReadOnlyMemory<byte> ResolveExternal(string name, Dictionary<string, string> external, long byteLength)
    {
        if (!external.TryGetValue("location", out var location) || location.Length == 0)
        {
            throw new ModelFormatException(Path, name, "external data without a location");
        }

        // The model is data: its external files must lie inside its own folder.
        var segments = location.Split('/', '\\');
        if (System.IO.Path.IsPathRooted(location) || segments.Any(s => s is ".." or "") || location.Contains('\0', StringComparison.Ordinal))
        {
            throw new ModelFormatException(Path, name, $"external data location '{location}' is not a relative path inside the model folder");
        }

        long offset = ParseLong(name, external, "offset") ?? 0;
        long? length = ParseLong(name, external, "length");
        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path)) ?? ".";
        string full = System.IO.Path.Combine(directory, System.IO.Path.Combine(segments));
        if (!_external.TryGetValue(full, out var file))
        {
            // The text of the location is clean; a link inside the folder may still point anywhere.
            _root.Require(full, Path, name);
            file = ResidentFile.Open(full);
            _external.Add(full, file);
        }

        long actual = length ?? (file.Length - offset);
        if (actual != byteLength)
        {
            throw new ModelFormatException(Path, name, $"external data length {actual} differs from the {byteLength} bytes its dims and type need");
        }

        if (offset < 0 || offset > file.Length || actual > file.Length - offset)
        {
            throw new ModelFormatException(Path, name, $"external data [{offset}, {offset + actual}) lies outside {location} ({file.Length} bytes): truncated or corrupt");
        }

        if (actual > int.MaxValue)
        {
            throw new ModelFormatException(Path, name, $"is {actual} bytes; tensors over 2 GiB are not supported");
        }

        _externalRanges.Add((full, location, offset, actual, name));
        return file.Memory(offset, (int)actual);
    }

    /// <summary>
    /// Refuses external tensors whose byte ranges overlap: exporters write each tensor to its own range, so an overlap
    /// (every tensor at offset 0, say) means the offsets are wrong and the weights would be read as each other's bytes.
    /// </summary>
    private void CheckExternalRangesDisjoint()
    {
        foreach (var group in _externalRanges.Where(r => r.Length > 0).GroupBy(r => r.File, StringComparer.Ordinal))
        {
            var sorted = group.OrderBy(r => r.Offset).ToArray();
            for (int i = 1; i < sorted.Length; i++)
            {
                var (previous, current) = (sorted[i - 1], sorted[i]);
                if (current.Offset < previous.Offset + previous.Length)
                {
                    throw new ModelFormatException(Path, current.Tensor, $"external data [{current.Offset}, {current.Offset + current.Length}) in {current.Location} overlaps that of '{previous.Tensor}' [{previous.Offset}, {previous.Offset + previous.Length}): the offsets are wrong");
                }
            }
        }
    }

    private long? ParseLong(string name, Dictionary<string, string> external, string key)
    {
        if (!external.TryGetValue(key, out var text))
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
        {
            throw new ModelFormatException(Path, name, $"external data {key} '{(text.Length > 30 ? text[..30] : text)}' is not a non-negative integer");
        }

        return value;
    }
}
