namespace NativeAlign.Tokenizers;

/// <summary>
/// Reads a SentencePiece <c>.model</c> (protobuf ModelProto) with a small wire-format reader: the pieces (text, score,
/// type), the trainer's model type, unknown id and byte fallback, and the normalizer spec (precompiled charsmap and
/// whitespace rules). Only Unigram models are supported.
/// </summary>
internal static class SentencePieceLoader
{
    private const int MaxPieces = 4_000_000;

    public static Tokenizer Load(byte[] bytes, string path)
    {
        var pieces = new List<(string Piece, double Score)>();
        var types = new List<UnigramPieceType>();
        var modelType = 1; // UNIGRAM
        var byteFallback = false;
        var unkId = 0;
        byte[] charsmap = [];
        bool addDummyPrefix = true, removeExtra = true, escape = true;
        var reader = new ProtoReader(bytes, path, "ModelProto");
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1 when wire == 2:
                {
                    if (pieces.Count >= MaxPieces)
                    {
                        throw new ModelFormatException(path, "pieces", $"more than {MaxPieces} pieces");
                    }

                    var sub = reader.Message($"pieces[{pieces.Count}]");
                    string piece = string.Empty;
                    var score = 0f;
                    var type = 1;
                    while (sub.Next(out var f, out var w))
                    {
                        switch (f)
                        {
                            case 1 when w == 2: piece = sub.String($"pieces[{pieces.Count}].piece"); break;
                            case 2 when w == 5: score = sub.Float(); break;
                            case 3 when w == 0: type = (int)sub.Varint(); break;
                            default: sub.Skip(w); break;
                        }
                    }

                    pieces.Add((piece, score));
                    types.Add(type switch
                    {
                        1 => UnigramPieceType.Normal,
                        2 => UnigramPieceType.Unknown,
                        3 => UnigramPieceType.Control,
                        4 => UnigramPieceType.UserDefined,
                        5 => UnigramPieceType.Unused,
                        6 => UnigramPieceType.Byte,
                        _ => throw new ModelFormatException(path, $"pieces[{pieces.Count - 1}].type", $"unknown piece type {type}"),
                    });
                    break;
                }

                case 2 when wire == 2:
                {
                    var sub = reader.Message("trainer_spec");
                    while (sub.Next(out var f, out var w))
                    {
                        switch (f)
                        {
                            case 3 when w == 0: modelType = (int)sub.Varint(); break;
                            case 35 when w == 0: byteFallback = sub.Varint() != 0; break;
                            case 40 when w == 0: unkId = (int)sub.Varint(); break;
                            default: sub.Skip(w); break;
                        }
                    }

                    break;
                }

                case 3 when wire == 2:
                {
                    var sub = reader.Message("normalizer_spec");
                    while (sub.Next(out var f, out var w))
                    {
                        switch (f)
                        {
                            case 2 when w == 2: charsmap = sub.Bytes("normalizer_spec.precompiled_charsmap"); break;
                            case 3 when w == 0: addDummyPrefix = sub.Varint() != 0; break;
                            case 4 when w == 0: removeExtra = sub.Varint() != 0; break;
                            case 5 when w == 0: escape = sub.Varint() != 0; break;
                            default: sub.Skip(w); break;
                        }
                    }

                    break;
                }

                default:
                    reader.Skip(wire);
                    break;
            }
        }

        if (pieces.Count == 0)
        {
            throw new ModelFormatException(path, "pieces", "the model has no pieces");
        }

        if (modelType != 1)
        {
            throw new ModelFormatException(path, "trainer_spec.model_type", $"model type {modelType} is not supported (only Unigram, 1)");
        }

        if (unkId < 0 || unkId >= pieces.Count)
        {
            throw new ModelFormatException(path, "trainer_spec.unk_id", $"{unkId} is not a piece index (0..{pieces.Count - 1})");
        }

        var normalizer = PrecompiledNormalizer.Parse(charsmap, path, "normalizer_spec.precompiled_charsmap", true, addDummyPrefix, removeExtra, escape);
        var model = new UnigramModel(pieces, [.. types], unkId, byteFallback);
        // Words start at each ▁ (spaces are already ▁ after normalization, so nothing is prepended).
        var pre = new MetaspacePreTokenizer('\u2581', "never", split: true);
        var added = new List<AddedTokenSpec>();
        return new Tokenizer(normalizer, pre, model, SingleTemplate.None, added, 0, false, 0) { Source = path };
    }

    /// <summary>Protobuf wire-format reader over a byte range; every length is checked against what remains.</summary>
    private ref struct ProtoReader(ReadOnlySpan<byte> data, string path, string where)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        public bool Next(out int field, out int wire)
        {
            if (_pos >= _data.Length)
            {
                field = wire = 0;
                return false;
            }

            var key = Varint();
            field = (int)(key >> 3);
            wire = (int)(key & 7);
            return true;
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= _data.Length)
                {
                    throw new ModelFormatException(path, where, "truncated varint");
                }

                var b = _data[_pos++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new ModelFormatException(path, where, "varint longer than 10 bytes");
        }

        public float Float()
        {
            Need(4, where);
            var v = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(_data[_pos..]);
            _pos += 4;
            return v;
        }

        public ReadOnlySpan<byte> LengthDelimited(string item)
        {
            var length = Varint();
            if (length > (ulong)(_data.Length - _pos))
            {
                throw new ModelFormatException(path, item, $"length {length} runs past the end of its message");
            }

            var s = _data.Slice(_pos, (int)length);
            _pos += (int)length;
            return s;
        }

        public ProtoReader Message(string item) => new(LengthDelimited(item), path, item);

        public string String(string item)
        {
            var bytes = LengthDelimited(item);
            return System.Text.Unicode.Utf8.IsValid(bytes) ? System.Text.Encoding.UTF8.GetString(bytes)
                : throw new ModelFormatException(path, item, "not valid UTF-8");
        }

        public byte[] Bytes(string item) => LengthDelimited(item).ToArray();

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Need(8, where); _pos += 8; break;
                case 2: LengthDelimited(where); break;
                case 5: Need(4, where); _pos += 4; break;
                default: throw new ModelFormatException(path, where, $"unsupported protobuf wire type {wire}");
            }
        }

        private void Need(int n, string item)
        {
            if (_data.Length - _pos < n)
            {
                throw new ModelFormatException(path, item, "truncated field");
            }
        }
    }
}
