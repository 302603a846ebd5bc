using System.Buffers.Binary;
using System.Text;

namespace NativeAlign.IO;

/// <summary>Protobuf wire types.</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>
/// A forward-only reader of the protobuf wire format over bytes already in memory (a model file read whole). Every length
/// is checked against what remains before use, so a corrupt or hostile message can neither read outside its bytes nor
/// make the reader allocate more than the message holds. Errors are <see cref="ModelFormatException"/>s naming the file,
/// the message being read and the byte offset.
/// </summary>
internal ref struct ProtobufReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly long _baseOffset;
    private readonly string? _path;
    private readonly string _context;
    private int _position;

    /// <summary>Reads <paramref name="data"/>, which starts at <paramref name="baseOffset"/> in <paramref name="path"/>.</summary>
    public ProtobufReader(ReadOnlySpan<byte> data, long baseOffset, string? path, string context)
    {
        _data = data;
        _baseOffset = baseOffset;
        _path = path;
        _context = context;
        _position = 0;
    }

    /// <summary>True while bytes remain.</summary>
    public readonly bool HasMore => _position < _data.Length;

    /// <summary>Absolute file offset of the next byte.</summary>
    public readonly long FileOffset => _baseOffset + _position;

    /// <summary>Reads the next field key; field numbers must be positive.</summary>
    public (int Field, WireType Wire) ReadKey()
    {
        ulong key = ReadVarint();
        ulong field = key >> 3;
        if (field == 0 || field > int.MaxValue)
        {
            throw Error($"invalid field number {field}");
        }

        var wire = (WireType)(key & 7);
        if (wire is not (WireType.Varint or WireType.Fixed64 or WireType.LengthDelimited or WireType.Fixed32 or WireType.StartGroup or WireType.EndGroup))
        {
            throw Error($"invalid wire type {(int)wire} for field {field}");
        }

        return ((int)field, wire);
    }

    /// <summary>Reads a base-128 varint of at most 10 bytes.</summary>
    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _data.Length)
            {
                throw Error("truncated varint");
            }

            byte b = _data[_position++];
            if (shift == 63 && b > 1)
            {
                throw Error("varint overflows 64 bits");
            }

            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        throw Error("varint longer than 10 bytes");
    }

    /// <summary>Reads a varint field as a signed 64-bit integer (two's complement, as int64 fields are encoded).</summary>
    public long ReadInt64() => (long)ReadVarint();

    /// <summary>Reads a varint field as int32 (protobuf sign-extends negative int32 values to 64 bits).</summary>
    public int ReadInt32() => unchecked((int)ReadVarint());

    /// <summary>Reads a little-endian 32-bit value.</summary>
    public uint ReadFixed32()
    {
        if (_data.Length - _position < 4)
        {
            throw Error("truncated fixed32");
        }

        uint v = BinaryPrimitives.ReadUInt32LittleEndian(_data[_position..]);
        _position += 4;
        return v;
    }

    /// <summary>Reads a little-endian 64-bit value.</summary>
    public ulong ReadFixed64()
    {
        if (_data.Length - _position < 8)
        {
            throw Error("truncated fixed64");
        }

        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(_data[_position..]);
        _position += 8;
        return v;
    }

    /// <summary>Reads a length-delimited payload; returns its bytes and its absolute file offset.</summary>
    public ReadOnlySpan<byte> ReadBytes(out long fileOffset)
    {
        ulong length = ReadVarint();
        if (length > (ulong)(_data.Length - _position))
        {
            throw Error($"length {length} runs past the end of its message ({_data.Length - _position} bytes left)");
        }

        fileOffset = _baseOffset + _position;
        var slice = _data.Slice(_position, (int)length);
        _position += (int)length;
        return slice;
    }

    /// <summary>Reads a length-delimited payload.</summary>
    public ReadOnlySpan<byte> ReadBytes() => ReadBytes(out _);

    /// <summary>Reads a length-delimited UTF-8 string; invalid UTF-8 is an error.</summary>
    public string ReadString()
    {
        var bytes = ReadBytes();
        try
        {
            return Strict.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Error("string field is not valid UTF-8");
        }
    }

    /// <summary>A reader over an embedded message.</summary>
    public ProtobufReader ReadMessage(string context)
    {
        var bytes = ReadBytes(out long offset);
        return new ProtobufReader(bytes, offset, _path, context);
    }

    /// <summary>Skips a field's value of the given wire type.</summary>
    public void Skip(WireType wire)
    {
        switch (wire)
        {
            case WireType.Varint:
                ReadVarint();
                break;
            case WireType.Fixed64:
                ReadFixed64();
                break;
            case WireType.Fixed32:
                ReadFixed32();
                break;
            case WireType.LengthDelimited:
                ReadBytes();
                break;
            default:
                // Groups are obsolete and ONNX never uses them; refusing them avoids unbounded nesting.
                throw Error($"unsupported wire type {wire}");
        }
    }

    /// <summary>
    /// Appends a repeated varint field to <paramref name="values"/>, packed or not, capping the total count.
    /// </summary>
    public void ReadRepeatedVarint(WireType wire, List<long> values, int maxCount, string field)
    {
        if (wire == WireType.Varint)
        {
            Add(values, ReadInt64(), maxCount, field);
            return;
        }

        if (wire != WireType.LengthDelimited)
        {
            throw Error($"{field}: wire type {wire}, expected varint or packed");
        }

        var inner = ReadMessage(_context);
        while (inner.HasMore)
        {
            Add(values, inner.ReadInt64(), maxCount, field);
        }
    }

    /// <summary>Appends a repeated float (fixed32) field to <paramref name="values"/>, packed or not, capping the count.</summary>
    public void ReadRepeatedFloat(WireType wire, List<float> values, int maxCount, string field)
    {
        if (wire == WireType.Fixed32)
        {
            Add(values, BitConverter.UInt32BitsToSingle(ReadFixed32()), maxCount, field);
            return;
        }

        if (wire != WireType.LengthDelimited)
        {
            throw Error($"{field}: wire type {wire}, expected fixed32 or packed");
        }

        var bytes = ReadBytes();
        if (bytes.Length % 4 != 0)
        {
            throw Error($"{field}: packed floats of {bytes.Length} bytes, not a multiple of 4");
        }

        for (int i = 0; i < bytes.Length; i += 4)
        {
            Add(values, BinaryPrimitives.ReadSingleLittleEndian(bytes[i..]), maxCount, field);
        }
    }

    /// <summary>An error about the current message at the current offset.</summary>
    public readonly ModelFormatException Error(string message)
        => new(_path, _context, $"malformed protobuf at byte {_baseOffset + _position}: {message}");

    /// <summary>Checks that a field carries the wire type its schema gives.</summary>
    public readonly void Expect(WireType actual, WireType expected, string field)
    {
        if (actual != expected)
        {
            throw Error($"field {field} has wire type {actual}, expected {expected}");
        }
    }

    private readonly void Add<T>(List<T> values, T value, int maxCount, string field)
    {
        if (values.Count >= maxCount)
        {
            throw Error($"{field} has more than {maxCount} values");
        }

        values.Add(value);
    }

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
