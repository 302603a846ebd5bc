using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using NativeAlign.Tokenizers.Unicode;

namespace NativeAlign.Tokenizers;

/// <summary>
/// One normalization step. <see cref="Normalize"/> reads <c>source</c> and leaves the result in <c>target</c>;
/// it may use <c>source</c> as scratch (callers never need it afterwards).
/// </summary>
internal abstract class TextNormalizer
{
    public abstract void Normalize(AlignedText source, AlignedText target);

    /// <summary>Normalizes a plain string (added-token contents, offset checks); alignment is discarded.</summary>
    public string NormalizeString(string text)
    {
        var a = new AlignedText();
        var b = new AlignedText();
        a.Load(text, 0);
        Normalize(a, b);
        return b.ToString();
    }

    /// <summary>Drops every nonspacing mark (category Mn) in place.</summary>
    protected static void RemoveNonspacingMarks(AlignedText text) => RemoveMarks(text, allMarks: false);

    /// <summary>Drops nonspacing marks, or with <paramref name="allMarks"/> every mark (Mn, Mc, Me), in place.</summary>
    protected static void RemoveMarks(AlignedText text, bool allMarks)
    {
        var write = 0;
        var chars = text.Chars;
        for (var i = 0; i < chars.Length;)
        {
            var cp = UnicodeTables.ReadCodePoint(text.Chars, i, out var units);
            if (cp >= 0x300 && UnicodeTables.Category(cp) is var category
                && (category == UnicodeCategory.NonSpacingMark || (allMarks && category is UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark)))
            {
                i += units;
                continue;
            }

            for (var k = 0; k < units; k++, write++, i++)
            {
                text.SetChar(write, text[i]);
                text.SetSpan(write, text.StartOf(i), text.EndOf(i));
            }
        }

        text.Truncate(write);
    }

    /// <summary>Lowercases as JavaScript's <c>toLowerCase</c> does: simple mappings, İ → i̇, and the final-sigma rule.</summary>
    protected static void Lowercase(AlignedText source, AlignedText target)
    {
        target.Clear();
        var chars = source.Chars;
        Span<char> buffer = stackalloc char[2];
        for (var i = 0; i < chars.Length;)
        {
            var c = chars[i];
            if (c < 0x80)
            {
                target.Append(c is >= 'A' and <= 'Z' ? (char)(c + 32) : c, source.StartOf(i), source.EndOf(i));
                i++;
                continue;
            }

            var cp = UnicodeTables.ReadCodePoint(chars, i, out var units);
            var start = source.StartOf(i);
            var end = source.EndOf(i + units - 1);
            if (cp == 0x130)
            {
                target.Append("i\u0307", start, end);
            }
            else if (cp == 0x3A3)
            {
                target.Append(IsFinalSigma(chars, i) ? 'ς' : 'σ', start, end);
            }
            else if (units == 1 && char.IsSurrogate(c))
            {
                target.Append(c, start, end);
            }
            else
            {
                var lower = Rune.ToLowerInvariant(new Rune(cp));
                var written = lower.EncodeToUtf16(buffer);
                target.Append(buffer[..written], start, end);
            }

            i += units;
        }
    }

    private static bool IsFinalSigma(ReadOnlySpan<char> text, int index)
    {
        // Preceded by a cased letter (skipping case-ignorables) and not followed by one.
        var i = index - 1;
        var before = false;
        while (i >= 0)
        {
            var start = i;
            if (char.IsLowSurrogate(text[i]) && i > 0 && char.IsHighSurrogate(text[i - 1]))
            {
                start = i - 1;
            }

            var cp = UnicodeTables.ReadCodePoint(text, start, out _);
            if (IsCaseIgnorable(cp))
            {
                i = start - 1;
                continue;
            }

            before = IsCased(cp);
            break;
        }

        if (!before)
        {
            return false;
        }

        for (var j = index + 1; j < text.Length;)
        {
            var cp = UnicodeTables.ReadCodePoint(text, j, out var units);
            if (IsCaseIgnorable(cp))
            {
                j += units;
                continue;
            }

            return !IsCased(cp);
        }

        return true;
    }

    private static bool IsCased(int cp) => UnicodeTables.Category(cp) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    private static bool IsCaseIgnorable(int cp) => cp is '\'' or '.' or ':' or '^' or '`' or 0xB7 or 0x387 or 0x55F or 0x5F4 or 0x2018 or 0x2019 or 0x2024 or 0x2027 or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A
        || UnicodeTables.Category(cp) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;

    protected static bool IsAscii(ReadOnlySpan<char> text) => !text.ContainsAnyExceptInRange((char)0, (char)0x7F);
}

/// <summary>BERT's normalizer: drop control characters and map whitespace to spaces, space out CJK ideographs, lowercase, strip accents.</summary>
internal sealed class BertTextNormalizer(bool cleanText, bool handleChineseChars, bool? stripAccents, bool lowercase) : TextNormalizer
{
    // Marks a character whose folding depends on context or on canonical reordering (see Fold).
    private static readonly string NeedsGeneralPath = new('\uFFFF', 1);

    // Lowercase + NFD + mark removal of each BMP character, computed on first use. Benign races: every thread
    // computes the same string.
    private readonly string?[] _folded = new string?[0x10000];

    public override void Normalize(AlignedText source, AlignedText target)
    {
        if (IsAscii(source.Chars))
        {
            // The common case in one pass: ASCII has no CJK, no accents and only the A-Z case mapping.
            NormalizeAscii(source, target);
            return;
        }

        if (TryNormalizeBmp(source, target))
        {
            return;
        }

        GeneralNormalize(source, target);
    }

    /// <summary>
    /// One pass over text without surrogates, folding each character through a per-character cache. Equivalent to the
    /// general passes because lowercasing is context-free except for Σ, and NFD then mark removal of a whole string is
    /// the concatenation of the per-character results whenever no character that survives has a combining class.
    /// </summary>
    private bool TryNormalizeBmp(AlignedText source, AlignedText target)
    {
        target.Clear();
        var chars = source.Chars;
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            var start = source.StartOf(i);
            var end = source.EndOf(i);
            if (c < 0x80)
            {
                if (cleanText)
                {
                    if (c is '\t' or '\n' or '\r')
                    {
                        target.Append(' ', start, end);
                        continue;
                    }

                    if (c < 0x20 || c == 0x7F)
                    {
                        continue;
                    }
                }

                target.Append(lowercase && c is >= 'A' and <= 'Z' ? (char)(c + 32) : c, start, end);
                continue;
            }

            if (char.IsSurrogate(c))
            {
                return false;
            }

            if (cleanText)
            {
                if (c == 0xFFFD || IsControl(c))
                {
                    continue;
                }

                if (UnicodeTables.IsJsWhitespace(c))
                {
                    target.Append(' ', start, end);
                    continue;
                }
            }

            var folded = _folded[c] ??= Fold(c);
            if (ReferenceEquals(folded, NeedsGeneralPath))
            {
                return false;
            }

            var spaced = handleChineseChars && IsChineseBmp(c);
            if (spaced)
            {
                target.Append(' ', start, end);
            }

            target.Append(folded, start, end);
            if (spaced)
            {
                target.Append(' ', start, end);
            }
        }

        return true;
    }

    private string Fold(char c)
    {
        if (c == 0x3A3)
        {
            return NeedsGeneralPath;
        }

        var a = new AlignedText();
        var b = new AlignedText();
        a.Load([c], 0);
        var strip = stripAccents ?? lowercase;
        if (lowercase)
        {
            Lowercase(a, b);
            (a, b) = (b, a);
        }

        if (strip)
        {
            UnicodeTables.Normalize(a, b, NormalizationForm.FormD);
            RemoveNonspacingMarks(b);
            (a, b) = (b, a);
            foreach (var ch in a.Chars)
            {
                if (UnicodeTables.CombiningClass(ch) != 0)
                {
                    return NeedsGeneralPath;
                }
            }
        }

        return a.ToString();
    }

    private void GeneralNormalize(AlignedText source, AlignedText target)
    {
        CleanAndSpace(source, target);
        var strip = stripAccents ?? lowercase;
        if (!lowercase && !strip)
        {
            return;
        }

        if (lowercase)
        {
            Lowercase(target, source);
        }
        else
        {
            source.CopyFrom(target);
        }

        if (!strip)
        {
            target.CopyFrom(source);
            return;
        }

        if (IsAscii(source.Chars))
        {
            target.CopyFrom(source);
            return;
        }

        UnicodeTables.Normalize(source, target, NormalizationForm.FormD);
        RemoveNonspacingMarks(target);
    }

    private void NormalizeAscii(AlignedText source, AlignedText target)
    {
        target.Clear();
        var chars = source.Chars;
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            if (cleanText)
            {
                if (c is '\t' or '\n' or '\r')
                {
                    c = ' ';
                }
                else if (c < 0x20 || c == 0x7F)
                {
                    continue;
                }
            }

            if (lowercase && c is >= 'A' and <= 'Z')
            {
                c = (char)(c + 32);
            }

            target.Append(c, source.StartOf(i), source.EndOf(i));
        }
    }

    private void CleanAndSpace(AlignedText source, AlignedText target)
    {
        target.Clear();
        var chars = source.Chars;
        for (var i = 0; i < chars.Length;)
        {
            var c = chars[i];
            var start = source.StartOf(i);
            if (c < 0x80)
            {
                var end = source.EndOf(i);
                i++;
                if (cleanText)
                {
                    if (c is '\t' or '\n' or '\r' or ' ')
                    {
                        target.Append(' ', start, end);
                        continue;
                    }

                    if (c < 0x20 || c == 0x7F)
                    {
                        continue;
                    }
                }

                target.Append(c, start, end);
                continue;
            }

            var cp = UnicodeTables.ReadCodePoint(chars, i, out var units);
            var cpEnd = source.EndOf(i + units - 1);
            var from = i;
            i += units;
            if (cleanText)
            {
                if (cp == 0xFFFD || IsControl(cp))
                {
                    continue;
                }

                if (UnicodeTables.IsJsWhitespace(cp))
                {
                    target.Append(' ', start, cpEnd);
                    continue;
                }
            }

            // Only BMP ideographs are spaced out: the reference implementation tests UTF-16 code units, so it never
            // recognises the supplementary-plane CJK extensions; matching it keeps ids identical.
            if (handleChineseChars && units == 1 && IsChineseBmp(cp))
            {
                target.Append(' ', start, cpEnd);
                target.Append((char)cp, start, cpEnd);
                target.Append(' ', start, cpEnd);
                continue;
            }

            target.AppendFrom(source, from, from + units);
        }
    }

    private static bool IsControl(int cp) => UnicodeTables.Category(cp) is UnicodeCategory.Control or UnicodeCategory.Format
        or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate;

    private static bool IsChineseBmp(int cp) => cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0xF900 and <= 0xFAFF);
}

/// <summary>One of the four Unicode normalization forms.</summary>
internal sealed class UnicodeFormNormalizer(NormalizationForm form) : TextNormalizer
{
    public override void Normalize(AlignedText source, AlignedText target)
    {
        if (IsAscii(source.Chars))
        {
            target.CopyFrom(source);
            return;
        }

        UnicodeTables.Normalize(source, target, form);
    }
}

/// <summary>Lowercases (JavaScript <c>toLowerCase</c> semantics).</summary>
internal sealed class LowercaseNormalizer : TextNormalizer
{
    public override void Normalize(AlignedText source, AlignedText target) => Lowercase(source, target);
}

/// <summary>Removes every combining mark, Mn, Mc and Me (meant to follow NFD/NFKD), as the reference StripAccents does.</summary>
internal sealed class StripAccentsNormalizer : TextNormalizer
{
    public override void Normalize(AlignedText source, AlignedText target)
    {
        target.CopyFrom(source);
        RemoveMarks(target, allMarks: true);
    }
}

/// <summary>Removes leading and/or trailing whitespace.</summary>
internal sealed class StripNormalizer(bool left, bool right) : TextNormalizer
{
    public override void Normalize(AlignedText source, AlignedText target)
    {
        var chars = source.Chars;
        var from = 0;
        var to = chars.Length;
        if (left)
        {
            while (from < to && UnicodeTables.IsJsWhitespace(chars[from]))
            {
                from++;
            }
        }

        if (right)
        {
            while (to > from && UnicodeTables.IsJsWhitespace(chars[to - 1]))
            {
                to--;
            }
        }

        target.Clear();
        target.AppendFrom(source, from, to);
    }
}

/// <summary>Puts a fixed string in front of non-empty text; it is aligned to the empty span at the text's start.</summary>
internal sealed class PrependNormalizer(string prefix) : TextNormalizer
{
    public override void Normalize(AlignedText source, AlignedText target)
    {
        target.Clear();
        if (source.Length > 0)
        {
            var at = source.StartOf(0);
            target.Append(prefix, at, at);
        }

        target.AppendFrom(source, 0, source.Length);
    }
}

/// <summary>Replaces every match of a literal string or a regular expression; the replacement covers the matched span.</summary>
internal sealed class ReplaceNormalizer : TextNormalizer
{
    private readonly string? _literal;
    private readonly Regex? _regex;
    private readonly string _content;

    public ReplaceNormalizer(string? literal, Regex? regex, string content)
    {
        _literal = literal;
        _regex = regex;
        _content = content;
    }

    public override void Normalize(AlignedText source, AlignedText target)
    {
        target.Clear();
        var text = source.Chars;
        var last = 0;
        if (_literal is { Length: > 0 } literal)
        {
            for (var i = text.IndexOf(literal); i >= 0; i = NextIndex(text, literal, i + literal.Length))
            {
                Emit(source, target, ref last, i, literal.Length);
            }
        }
        else if (_regex is not null)
        {
            try
            {
                foreach (var m in _regex.EnumerateMatches(text))
                {
                    if (m.Length == 0)
                    {
                        continue;
                    }

                    Emit(source, target, ref last, m.Index, m.Length);
                }
            }
            catch (RegexMatchTimeoutException e)
            {
                throw RegexGuard.TimedOut(_regex, e);
            }
        }

        target.AppendFrom(source, last, source.Length);
    }

    private static int NextIndex(ReadOnlySpan<char> text, string literal, int from)
    {
        if (from >= text.Length)
        {
            return -1;
        }

        var k = text[from..].IndexOf(literal);
        return k < 0 ? -1 : from + k;
    }

    private void Emit(AlignedText source, AlignedText target, ref int last, int index, int length)
    {
        target.AppendFrom(source, last, index);
        var span = source.OriginalSpan(index, index + length);
        if (_content.Length == 0)
        {
            // Nothing to carry the span; the removed characters are simply not covered.
        }
        else
        {
            target.Append(_content, span.Start, span.End);
        }

        last = index + length;
    }
}

/// <summary>Applies normalizers in order.</summary>
internal sealed class SequenceNormalizer(IReadOnlyList<TextNormalizer> steps) : TextNormalizer
{
    public override void Normalize(AlignedText source, AlignedText target)
    {
        if (steps.Count == 0)
        {
            target.CopyFrom(source);
            return;
        }

        // Ping-pong between the two buffers so that the last step writes into target.
        var current = source;
        var other = target;
        if (steps.Count % 2 == 0)
        {
            // An even number of steps would end in source: start by moving the text to target.
            target.CopyFrom(source);
            current = target;
            other = source;
        }

        foreach (var step in steps)
        {
            step.Normalize(current, other);
            (current, other) = (other, current);
        }
    }
}
