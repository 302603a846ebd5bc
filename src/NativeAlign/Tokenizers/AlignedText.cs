using System.Runtime.CompilerServices;

namespace NativeAlign.Tokenizers;

/// <summary>
/// Text being normalized, where every UTF-16 code unit remembers the span of the original input it came from.
/// Normalizers read one <see cref="AlignedText"/> and write another; the spans let every final token point back
/// at the characters of the input it covers, whatever was inserted, removed or rewritten on the way.
/// </summary>
internal sealed class AlignedText
{
    private char[] _chars = new char[256];
    private int[] _starts = new int[256];
    private int[] _ends = new int[256];

    /// <summary>
    /// Most code units this text may grow to; growing past it throws <see cref="TextLimitException"/>. Set by the
    /// tokenizer before normalizing, so that a normalizer that multiplies the text stops before it exhausts memory.
    /// </summary>
    public int Limit { get; set; } = int.MaxValue;

    /// <summary>Number of code units held.</summary>
    public int Length { get; private set; }

    public ReadOnlySpan<char> Chars => _chars.AsSpan(0, Length);

    public Span<char> WritableChars => _chars.AsSpan(0, Length);

    /// <summary>Start of the original span of each code unit.</summary>
    public ReadOnlySpan<int> Starts => _starts.AsSpan(0, Length);

    /// <summary>End of the original span of each code unit.</summary>
    public ReadOnlySpan<int> Ends => _ends.AsSpan(0, Length);

    public char this[int index] => _chars[index];

    public int StartOf(int index) => _starts[index];

    public int EndOf(int index) => _ends[index];

    public void Clear() => Length = 0;

    /// <summary>Loads <paramref name="text"/> unchanged; its code unit i maps to original position <paramref name="origin"/> + i.</summary>
    public void Load(ReadOnlySpan<char> text, int origin)
    {
        Length = 0;
        Ensure(text.Length);
        text.CopyTo(_chars);
        for (var i = 0; i < text.Length; i++)
        {
            _starts[i] = origin + i;
            _ends[i] = origin + i + 1;
        }

        Length = text.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Append(char c, int start, int end)
    {
        if (Length == _chars.Length)
        {
            Grow(Length + 1);
        }

        _chars[Length] = c;
        _starts[Length] = start;
        _ends[Length] = end;
        Length++;
    }

    public void Append(ReadOnlySpan<char> s, int start, int end)
    {
        Ensure(Length + s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            _chars[Length] = s[i];
            _starts[Length] = start;
            _ends[Length] = end;
            Length++;
        }
    }

    /// <summary>Appends code units [from, to) of <paramref name="source"/> with their alignment.</summary>
    public void AppendFrom(AlignedText source, int from, int to)
    {
        var n = to - from;
        Ensure(Length + n);
        Array.Copy(source._chars, from, _chars, Length, n);
        Array.Copy(source._starts, from, _starts, Length, n);
        Array.Copy(source._ends, from, _ends, Length, n);
        Length += n;
    }

    /// <summary>Keeps only the first <paramref name="length"/> code units.</summary>
    public void Truncate(int length) => Length = length;

    /// <summary>Swaps two code units together with their alignment (canonical reordering).</summary>
    public void Swap(int i, int j)
    {
        (_chars[i], _chars[j]) = (_chars[j], _chars[i]);
        (_starts[i], _starts[j]) = (_starts[j], _starts[i]);
        (_ends[i], _ends[j]) = (_ends[j], _ends[i]);
    }

    public void SetSpan(int index, int start, int end)
    {
        _starts[index] = start;
        _ends[index] = end;
    }

    public void SetChar(int index, char c) => _chars[index] = c;

    public void CopyFrom(AlignedText other)
    {
        Length = 0;
        AppendFrom(other, 0, other.Length);
    }

    /// <summary>The original span covered by code units [from, to), which must not be empty.</summary>
    public TextSpan OriginalSpan(int from, int to)
    {
        var start = int.MaxValue;
        var end = int.MinValue;
        // Spans are not monotone inside reordered combining sequences or expanded characters: take min and max.
        for (var i = from; i < to; i++)
        {
            start = Math.Min(start, _starts[i]);
            end = Math.Max(end, _ends[i]);
        }

        return new TextSpan(start, end);
    }

    public override string ToString() => new(Chars);

    private void Ensure(int capacity)
    {
        if (capacity > _chars.Length)
        {
            Grow(capacity);
        }
    }

    private void Grow(int capacity)
    {
        if (capacity > Limit)
        {
            throw new TextLimitException(capacity);
        }

        var size = Math.Max(capacity, _chars.Length * 2);
        Array.Resize(ref _chars, size);
        Array.Resize(ref _starts, size);
        Array.Resize(ref _ends, size);
    }
}

/// <summary>An <see cref="AlignedText"/> asked to grow past its <see cref="AlignedText.Limit"/>; the tokenizer turns it into a model error.</summary>
internal sealed class TextLimitException(int requested) : Exception($"text would grow to {requested} code units")
{
    /// <summary>The length the text would have reached.</summary>
    public int Requested { get; } = requested;
}
