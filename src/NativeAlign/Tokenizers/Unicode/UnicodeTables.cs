using System.Globalization;
using System.Text;

namespace NativeAlign.Tokenizers.Unicode;

/// <summary>Unicode normalization forms and character classes, usable with InvariantGlobalization (where string.Normalize does nothing).</summary>
internal static partial class UnicodeTables
{
    private const int HangulSBase = 0xAC00, HangulLBase = 0x1100, HangulVBase = 0x1161, HangulTBase = 0x11A7;
    private const int HangulLCount = 19, HangulVCount = 21, HangulTCount = 28, HangulNCount = HangulVCount * HangulTCount, HangulSCount = HangulLCount * HangulNCount;

    // The generated data arrays live in another part of this partial class, and static initializers of different
    // files run in no defined order; the parsed maps therefore sit in a nested class, built on first use.
    private static Dictionary<int, string> Canonical => Maps.Canonical;

    private static Dictionary<int, string> Compatibility => Maps.Compatibility;

    private static Dictionary<int, byte> CombiningClasses => Maps.CombiningClasses;

    private static Dictionary<long, int> Composites => Maps.Composites;

    /// <summary>The full decomposition of <paramref name="cp"/>, or null when it decomposes to itself (Hangul excluded).</summary>
    public static string? Decomposition(int cp, bool compatibility)
    {
        if (cp < 0xA0)
        {
            return null;
        }

        return (compatibility ? Compatibility : Canonical).GetValueOrDefault(cp);
    }

    public static int CombiningClass(int cp) => cp < 0x300 ? 0 : CombiningClasses.GetValueOrDefault(cp);

    /// <summary>True when the code point is a whitespace character as JavaScript's <c>\s</c> defines it (Unicode White_Space plus U+FEFF).</summary>
    public static bool IsJsWhitespace(int cp) => cp switch
    {
        '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or '\u00A0' or '\u1680' or '\u2028' or '\u2029' or '\u202F' or '\u205F' or '\u3000' or '\uFEFF' => true,
        >= 0x2000 and <= 0x200A => true,
        _ => false,
    };

    /// <summary>True for Unicode White_Space (what Rust's <c>char::is_whitespace</c> tests).</summary>
    public static bool IsUnicodeWhitespace(int cp) => cp switch
    {
        >= 0x09 and <= 0x0D => true,
        ' ' or '\u0085' or '\u00A0' or '\u1680' or '\u2028' or '\u2029' or '\u202F' or '\u205F' or '\u3000' => true,
        >= 0x2000 and <= 0x200A => true,
        _ => false,
    };

    /// <summary>BERT's punctuation: every ASCII non-alphanumeric printable character, and Unicode category P*.</summary>
    public static bool IsBertPunctuation(int cp)
    {
        if (cp < 0x80)
        {
            return cp is (>= 0x21 and <= 0x2F) or (>= 0x3A and <= 0x40) or (>= 0x5B and <= 0x60) or (>= 0x7B and <= 0x7E);
        }

        return IsPunctuationCategory(Category(cp));
    }

    public static bool IsPunctuationCategory(UnicodeCategory c) => c is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
        or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
        or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    public static UnicodeCategory Category(int cp) => CharUnicodeInfo.GetUnicodeCategory(cp);

    /// <summary>
    /// Rewrites <paramref name="source"/> into <paramref name="target"/> in normalization form <paramref name="form"/>,
    /// carrying each code unit's original span (a composite covers the spans of everything composed into it).
    /// </summary>
    public static void Normalize(AlignedText source, AlignedText target, NormalizationForm form)
    {
        var compatibility = form is NormalizationForm.FormKC or NormalizationForm.FormKD;
        var compose = form is NormalizationForm.FormC or NormalizationForm.FormKC;
        target.Clear();
        var text = source.Chars;
        for (var i = 0; i < text.Length;)
        {
            var cp = ReadCodePoint(text, i, out var units);
            var start = source.StartOf(i);
            var end = source.EndOf(i + units - 1);
            if (cp >= HangulSBase && cp < HangulSBase + HangulSCount)
            {
                var s = cp - HangulSBase;
                target.Append((char)(HangulLBase + s / HangulNCount), start, end);
                target.Append((char)(HangulVBase + s % HangulNCount / HangulTCount), start, end);
                if (s % HangulTCount != 0)
                {
                    target.Append((char)(HangulTBase + s % HangulTCount), start, end);
                }
            }
            else if (Decomposition(cp, compatibility) is { } d)
            {
                target.Append(d, start, end);
            }
            else
            {
                target.AppendFrom(source, i, i + units);
                for (var k = 0; k < units; k++)
                {
                    target.SetSpan(target.Length - units + k, start, end);
                }
            }

            i += units;
        }

        ReorderCanonically(target);
        if (compose)
        {
            Compose(target);
        }
    }

    /// <summary>Decodes the code point at <paramref name="i"/>; a lone surrogate is returned as itself.</summary>
    public static int ReadCodePoint(ReadOnlySpan<char> text, int i, out int units)
    {
        var c = text[i];
        if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
        {
            units = 2;
            return char.ConvertToUtf32(c, text[i + 1]);
        }

        units = 1;
        return c;
    }

    private static void ReorderCanonically(AlignedText text)
    {
        // Bubble sort of each run of non-starters by combining class (stable, runs are short).
        var chars = text.Chars;
        var n = chars.Length;
        var swapped = true;
        while (swapped)
        {
            swapped = false;
            var prevClass = 0;
            var prevIndex = -1;
            var prevUnits = 0;
            for (var i = 0; i < n;)
            {
                var cp = ReadCodePoint(text.Chars, i, out var units);
                var cc = CombiningClass(cp);
                if (cc != 0 && prevClass > cc)
                {
                    SwapCodePoints(text, prevIndex, prevUnits, units);
                    swapped = true;
                    // After the swap the lower class sits at prevIndex; continue after the higher one.
                    i = prevIndex + units + prevUnits;
                    prevIndex = prevIndex + units;
                    continue;
                }

                prevClass = cc;
                prevIndex = i;
                prevUnits = units;
                i += units;
            }
        }
    }

    private static void SwapCodePoints(AlignedText text, int first, int firstUnits, int secondUnits)
    {
        if (firstUnits == 1 && secondUnits == 1)
        {
            text.Swap(first, first + 1);
            return;
        }

        // Rotate [first, first + firstUnits + secondUnits) left by firstUnits, one unit at a time.
        var total = firstUnits + secondUnits;
        for (var r = 0; r < firstUnits; r++)
        {
            for (var k = first; k < first + total - 1; k++)
            {
                text.Swap(k, k + 1);
            }
        }
    }

    private static void Compose(AlignedText text)
    {
        var n = text.Length;
        var cps = System.Buffers.ArrayPool<int>.Shared.Rent(n);
        var starts = System.Buffers.ArrayPool<int>.Shared.Rent(n);
        var ends = System.Buffers.ArrayPool<int>.Shared.Rent(n);
        try
        {
            // Canonical composition over code points: a character combines with the last starter unless a
            // character between them has a combining class of zero or at least its own.
            var count = 0;
            var starter = -1;
            var lastClass = -1;
            for (var i = 0; i < n;)
            {
                var cp = ReadCodePoint(text.Chars, i, out var units);
                var cc = CombiningClass(cp);
                var start = text.StartOf(i);
                var end = text.EndOf(i + units - 1);
                i += units;
                if (starter >= 0 && (lastClass == -1 || lastClass < cc))
                {
                    var composite = ComposePair(cps[starter], cp);
                    if (composite >= 0)
                    {
                        cps[starter] = composite;
                        starts[starter] = Math.Min(starts[starter], start);
                        ends[starter] = Math.Max(ends[starter], end);
                        continue;
                    }
                }

                if (cc == 0)
                {
                    starter = count;
                    lastClass = -1;
                }
                else
                {
                    lastClass = cc;
                }

                cps[count] = cp;
                starts[count] = start;
                ends[count] = end;
                count++;
            }

            text.Clear();
            Span<char> buffer = stackalloc char[2];
            for (var k = 0; k < count; k++)
            {
                var written = new Rune(cps[k] is >= 0xD800 and <= 0xDFFF ? 0xFFFD : cps[k]).EncodeToUtf16(buffer);
                if (cps[k] is >= 0xD800 and <= 0xDFFF)
                {
                    // A lone surrogate stays itself.
                    text.Append((char)cps[k], starts[k], ends[k]);
                }
                else
                {
                    text.Append(buffer[..written], starts[k], ends[k]);
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(cps);
            System.Buffers.ArrayPool<int>.Shared.Return(starts);
            System.Buffers.ArrayPool<int>.Shared.Return(ends);
        }
    }

    private static int ComposePair(int a, int b)
    {
        if (a >= HangulLBase && a < HangulLBase + HangulLCount && b >= HangulVBase && b < HangulVBase + HangulVCount)
        {
            return HangulSBase + ((a - HangulLBase) * HangulVCount + (b - HangulVBase)) * HangulTCount;
        }

        if (a >= HangulSBase && a < HangulSBase + HangulSCount && (a - HangulSBase) % HangulTCount == 0 && b > HangulTBase && b < HangulTBase + HangulTCount)
        {
            return a + (b - HangulTBase);
        }

        return Composites.TryGetValue(((long)a << 21) | (uint)b, out var c) ? c : -1;
    }

    private static Dictionary<int, string> Parse(string data)
    {
        var map = new Dictionary<int, string>();
        for (var i = 0; i < data.Length;)
        {
            var cp = (data[i] << 16) | data[i + 1];
            var n = data[i + 2];
            map[cp] = data.Substring(i + 3, n);
            i += 3 + n;
        }

        return map;
    }

    private static Dictionary<int, byte> ParseClasses()
    {
        var map = new Dictionary<int, byte>(CombiningClassData.Length / 2);
        for (var i = 0; i < CombiningClassData.Length; i += 2)
        {
            map[CombiningClassData[i]] = (byte)CombiningClassData[i + 1];
        }

        return map;
    }

    private static Dictionary<long, int> ParseComposites()
    {
        var map = new Dictionary<long, int>(CompositionData.Length / 3);
        for (var i = 0; i < CompositionData.Length; i += 3)
        {
            map[((long)CompositionData[i] << 21) | (uint)CompositionData[i + 1]] = CompositionData[i + 2];
        }

        return map;
    }

    private static class Maps
    {
        public static readonly Dictionary<int, string> Canonical = Parse(CanonicalData);
        public static readonly Dictionary<int, string> Compatibility = Parse(CompatibilityData);
        public static readonly Dictionary<int, byte> CombiningClasses = ParseClasses();
        public static readonly Dictionary<long, int> Composites = ParseComposites();
    }
}
