using System.Buffers.Binary;
using System.Text;

namespace NativeAlign.Tokenizers;

/// <summary>
/// SentencePiece's precompiled character map: a darts-clone double-array trie over UTF-8 whose values point into a
/// block of NUL-terminated replacement strings. At each position the longest matching prefix is replaced; bytes no
/// entry matches are copied one UTF-8 character at a time. Optionally also SentencePiece's whitespace handling
/// (drop leading/trailing/repeated spaces, prepend one, write spaces as ▁), which the <c>.model</c> path uses.
/// </summary>
internal sealed class PrecompiledNormalizer : TextNormalizer
{
    private const string SpaceSymbol = "\u2581";
    private readonly uint[] _trie;
    private readonly byte[] _strings;
    private readonly bool _spmWhitespace;
    private readonly bool _addDummyPrefix;
    private readonly bool _removeExtraWhitespaces;
    private readonly bool _escapeWhitespaces;

    private PrecompiledNormalizer(uint[] trie, byte[] strings, bool spmWhitespace, bool addDummyPrefix, bool removeExtra, bool escape)
    {
        _trie = trie;
        _strings = strings;
        _spmWhitespace = spmWhitespace;
        _addDummyPrefix = addDummyPrefix;
        _removeExtraWhitespaces = removeExtra;
        _escapeWhitespaces = escape;
    }

    /// <summary>The charsmap alone (tokenizer.json's Precompiled normalizer).</summary>
    public static TextNormalizer Create(byte[] blob, string? path, string item) => Parse(blob, path, item, false, false, false, false);

    /// <summary>The charsmap plus SentencePiece's whitespace rules (a .model's NormalizerSpec).</summary>
    public static PrecompiledNormalizer Parse(byte[] blob, string? path, string item, bool spmWhitespace, bool addDummyPrefix, bool removeExtra, bool escape)
    {
        if (blob.Length == 0)
        {
            return new PrecompiledNormalizer([], [], spmWhitespace, addDummyPrefix, removeExtra, escape);
        }

        if (blob.Length < 4)
        {
            throw new ModelFormatException(path, item, $"{blob.Length} bytes; expected a 4-byte trie size first");
        }

        var trieBytes = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        if (trieBytes % 4 != 0 || trieBytes > blob.Length - 4)
        {
            throw new ModelFormatException(path, item, $"trie size {trieBytes} does not fit the {blob.Length}-byte map");
        }

        var trie = new uint[trieBytes / 4];
        for (var i = 0; i < trie.Length; i++)
        {
            trie[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(4 + i * 4));
        }

        return new PrecompiledNormalizer(trie, blob[(4 + (int)trieBytes)..], spmWhitespace, addDummyPrefix, removeExtra, escape);
    }

    public override void Normalize(AlignedText source, AlignedText target)
    {
        target.Clear();
        var chars = source.Chars;
        // UTF-8 of the input, with the code unit each byte came from.
        var byteCount = Encoding.UTF8.GetByteCount(chars);
        var bytes = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(1, byteCount));
        var owner = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Max(1, byteCount));
        try
        {
            var n = 0;
            Span<byte> one = stackalloc byte[4];
            for (var i = 0; i < chars.Length;)
            {
                var units = char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]) ? 2 : 1;
                var written = Encoding.UTF8.GetBytes(chars.Slice(i, units), one);
                for (var k = 0; k < written; k++)
                {
                    bytes[n] = one[k];
                    owner[n++] = i;
                }

                i += units;
            }

            Run(source, bytes.AsSpan(0, n), owner, target);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
            System.Buffers.ArrayPool<int>.Shared.Return(owner);
        }
    }

    private void Run(AlignedText source, ReadOnlySpan<byte> input, int[] owner, AlignedText target)
    {
        var pos = 0;
        Span<char> decoded = stackalloc char[64];
        if (_spmWhitespace && _removeExtraWhitespaces)
        {
            while (pos < input.Length)
            {
                var consumed = NormalizePrefix(input[pos..], out var replacement);
                if (!replacement.SequenceEqual(" "u8))
                {
                    break;
                }

                pos += consumed;
            }

            if (pos == input.Length)
            {
                return;
            }
        }

        if (_spmWhitespace && _addDummyPrefix && pos < input.Length)
        {
            var at = source.StartOf(owner[pos]);
            target.Append(_escapeWhitespaces ? SpaceSymbol : " ", at, at);
        }

        var previousSpace = _spmWhitespace && _removeExtraWhitespaces;
        while (pos < input.Length)
        {
            var consumed = NormalizePrefix(input[pos..], out var replacement);
            var start = source.StartOf(owner[pos]);
            var end = source.EndOf(owner[pos + consumed - 1]);
            if (_spmWhitespace)
            {
                while (previousSpace && replacement.Length > 0 && replacement[0] == (byte)' ')
                {
                    replacement = replacement[1..];
                }
            }

            if (replacement.Length > 0)
            {
                var text = replacement.Length <= 64 && Encoding.UTF8.GetChars(replacement, decoded) is var count
                    ? decoded[..count] : Encoding.UTF8.GetString(replacement).AsSpan();
                foreach (var c in text)
                {
                    target.Append(_spmWhitespace && _escapeWhitespaces && c == ' ' ? '\u2581' : c, start, end);
                }

                previousSpace = replacement[^1] == (byte)' ';
            }

            pos += consumed;
            if (!(_spmWhitespace && _removeExtraWhitespaces))
            {
                previousSpace = false;
            }
        }

        if (_spmWhitespace && _removeExtraWhitespaces)
        {
            var space = _escapeWhitespaces ? '\u2581' : ' ';
            var length = target.Length;
            while (length > 0 && target[length - 1] == space)
            {
                length--;
            }

            target.Truncate(length);
        }
    }

    private static ReadOnlySpan<byte> Replacement => "\uFFFD"u8;

    /// <summary>Finds the replacement for the longest charsmap entry at the start of <paramref name="input"/>; returns the bytes it consumes.</summary>
    private int NormalizePrefix(ReadOnlySpan<byte> input, out ReadOnlySpan<byte> replacement)
    {
        var longest = 0;
        var value = 0u;
        if (_trie.Length > 0)
        {
            // darts-clone commonPrefixSearch: unit fields are has_leaf (bit 8), value (31 bits), label, offset.
            var node = Offset(_trie[0]);
            for (var i = 0; i < input.Length; i++)
            {
                node ^= input[i];
                if (node >= (uint)_trie.Length)
                {
                    break;
                }

                var unit = _trie[node];
                if ((unit & 0x800000FFu) != input[i])
                {
                    break;
                }

                node ^= Offset(unit);
                if (((unit >> 8) & 1) != 0 && node < (uint)_trie.Length)
                {
                    longest = i + 1;
                    value = _trie[node] & 0x7FFFFFFFu;
                }
            }
        }

        if (longest > 0 && value < (uint)_strings.Length)
        {
            var rest = _strings.AsSpan((int)value);
            var nul = rest.IndexOf((byte)0);
            replacement = nul < 0 ? rest : rest[..nul];
            return longest;
        }

        // No entry: one UTF-8 character as it is, or U+FFFD for one byte of a malformed sequence.
        var length = Utf8Length(input);
        replacement = length == 0 ? Replacement : input[..length];
        return length == 0 ? 1 : length;
    }

    private static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);

    private static int Utf8Length(ReadOnlySpan<byte> s)
    {
        var b = s[0];
        var n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0 || n > s.Length)
        {
            return 0;
        }

        return System.Text.Unicode.Utf8.IsValid(s[..n]) ? n : 0;
    }
}
