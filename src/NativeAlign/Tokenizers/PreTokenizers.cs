using System.Text.RegularExpressions;
using NativeAlign.Tokenizers.Unicode;

namespace NativeAlign.Tokenizers;

/// <summary>A growable list of [start, end) ranges of an <see cref="AlignedText"/>: the words of a pre-tokenizer.</summary>
internal sealed class PieceList
{
    private int[] _starts = new int[64];
    private int[] _ends = new int[64];

    public int Count { get; private set; }

    public int StartOf(int i) => _starts[i];

    public int EndOf(int i) => _ends[i];

    public void Clear() => Count = 0;

    public void RemoveLast() => Count--;

    public void Add(int start, int end)
    {
        if (end <= start)
        {
            return;
        }

        if (Count == _starts.Length)
        {
            Array.Resize(ref _starts, Count * 2);
            Array.Resize(ref _ends, Count * 2);
        }

        _starts[Count] = start;
        _ends[Count] = end;
        Count++;
    }
}

/// <summary>The mutable state pre-tokenizers work on: the normalized text and its current pieces, plus scratch space.</summary>
internal sealed class PreTokenizeState
{
    public AlignedText Text = new();
    public AlignedText Scratch = new();
    public PieceList Pieces = new();
    public PieceList ScratchPieces = new();

    /// <summary>Index of the section (text between added tokens) being processed; Metaspace's "first" scheme reads it.</summary>
    public int SectionIndex;

    /// <summary>Makes the scratch pieces current after a split.</summary>
    public void SwapPieces() => (Pieces, ScratchPieces) = (ScratchPieces, Pieces);

    public void SwapText() => (Text, Scratch) = (Scratch, Text);
}

/// <summary>Splits normalized text into words (and may rewrite it, as Metaspace does).</summary>
internal abstract class PreTokenizer
{
    public abstract void Apply(PreTokenizeState state);
}

/// <summary>Base of the pre-tokenizers that only split each piece further.</summary>
internal abstract class SplittingPreTokenizer : PreTokenizer
{
    public sealed override void Apply(PreTokenizeState state)
    {
        var output = state.ScratchPieces;
        output.Clear();
        var text = state.Text.Chars;
        for (var p = 0; p < state.Pieces.Count; p++)
        {
            Split(text, state.Pieces.StartOf(p), state.Pieces.EndOf(p), output);
        }

        state.SwapPieces();
    }

    protected abstract void Split(ReadOnlySpan<char> text, int start, int end, PieceList output);
}

/// <summary>BERT: words are runs of non-whitespace, non-punctuation characters; every punctuation character is a word of its own.</summary>
internal sealed class BertPreTokenizer : SplittingPreTokenizer
{
    protected override void Split(ReadOnlySpan<char> text, int start, int end, PieceList output)
    {
        var wordStart = -1;
        for (var i = start; i < end;)
        {
            var c = text[i];
            int cp, units;
            if (c < 0x80)
            {
                cp = c;
                units = 1;
            }
            else
            {
                cp = UnicodeTables.ReadCodePoint(text[..end], i, out units);
            }

            var space = c < 0x80 ? c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r' : UnicodeTables.IsJsWhitespace(cp);
            if (space || UnicodeTables.IsBertPunctuation(cp))
            {
                if (wordStart >= 0)
                {
                    output.Add(wordStart, i);
                    wordStart = -1;
                }

                if (!space)
                {
                    output.Add(i, i + units);
                }
            }
            else if (wordStart < 0)
            {
                wordStart = i;
            }

            i += units;
        }

        if (wordStart >= 0)
        {
            output.Add(wordStart, end);
        }
    }
}

/// <summary>Splits on whitespace only.</summary>
internal sealed class WhitespaceSplitPreTokenizer : SplittingPreTokenizer
{
    protected override void Split(ReadOnlySpan<char> text, int start, int end, PieceList output)
    {
        var wordStart = -1;
        for (var i = start; i < end;)
        {
            var cp = UnicodeTables.ReadCodePoint(text[..end], i, out var units);
            if (UnicodeTables.IsJsWhitespace(cp))
            {
                if (wordStart >= 0)
                {
                    output.Add(wordStart, i);
                    wordStart = -1;
                }
            }
            else if (wordStart < 0)
            {
                wordStart = i;
            }

            i += units;
        }

        if (wordStart >= 0)
        {
            output.Add(wordStart, end);
        }
    }
}

/// <summary>How a split keeps the matched delimiter (Hugging Face's SplitDelimiterBehavior).</summary>
internal enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

/// <summary>
/// The time limit for one regular-expression match of a tokenizer file's pattern. Patterns come from untrusted files: one
/// written to backtrack catastrophically (<c>(a+)+$</c>) would otherwise stall every encode; the linear patterns real
/// tokenizers use match a piece of text in far less.
/// </summary>
internal static class RegexGuard
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    public static ModelFormatException TimedOut(Regex pattern, RegexMatchTimeoutException e) =>
        new(null, "pattern", $"regular expression '{pattern}' took over {Timeout.TotalSeconds:0} s on one piece of text (catastrophic backtracking); the tokenizer file cannot be used", e);
}

/// <summary>Splits on the matches of a regular expression (Whitespace, Split, Digits and Punctuation are all this).</summary>
internal sealed class RegexSplitPreTokenizer(Regex pattern, SplitBehavior behavior, bool invert) : SplittingPreTokenizer
{
    protected override void Split(ReadOnlySpan<char> text, int start, int end, PieceList output)
    {
        try
        {
            SplitMatches(text, start, end, output);
        }
        catch (RegexMatchTimeoutException e)
        {
            throw RegexGuard.TimedOut(pattern, e);
        }
    }

    private void SplitMatches(ReadOnlySpan<char> text, int start, int end, PieceList output)
    {
        var piece = text[start..end];
        var last = 0;
        var pendingStart = -1; // MergedWithNext: start of a delimiter waiting for what follows
        var previousMatchEnd = -1;
        foreach (var m in pattern.EnumerateMatches(piece))
        {
            if (m.Length == 0)
            {
                continue;
            }

            var ms = m.Index;
            var me = m.Index + m.Length;
            if (invert)
            {
                // The matches are the words; what lies between them is the delimiter.
                EmitDelimited(output, start, last, ms, isDelimiter: true, ref pendingStart, ref previousMatchEnd);
                EmitDelimited(output, start, ms, me, isDelimiter: false, ref pendingStart, ref previousMatchEnd);
            }
            else
            {
                EmitDelimited(output, start, last, ms, isDelimiter: false, ref pendingStart, ref previousMatchEnd);
                EmitDelimited(output, start, ms, me, isDelimiter: true, ref pendingStart, ref previousMatchEnd);
            }

            last = me;
        }

        EmitDelimited(output, start, last, piece.Length, isDelimiter: invert, ref pendingStart, ref previousMatchEnd);
        if (pendingStart >= 0)
        {
            output.Add(start + pendingStart, end);
        }
    }

    private void EmitDelimited(PieceList output, int origin, int from, int to, bool isDelimiter, ref int pendingStart, ref int previousDelimiterEnd)
    {
        if (to <= from)
        {
            return;
        }

        if (!isDelimiter)
        {
            if (pendingStart >= 0)
            {
                output.Add(origin + pendingStart, origin + to);
                pendingStart = -1;
            }
            else
            {
                output.Add(origin + from, origin + to);
            }

            previousDelimiterEnd = -1;
            return;
        }

        switch (behavior)
        {
            case SplitBehavior.Removed:
                break;
            case SplitBehavior.Isolated:
                output.Add(origin + from, origin + to);
                break;
            case SplitBehavior.MergedWithPrevious:
                if (output.Count > 0 && output.EndOf(output.Count - 1) == origin + from)
                {
                    ExtendLast(output, origin + to);
                }
                else
                {
                    output.Add(origin + from, origin + to);
                }

                break;
            case SplitBehavior.MergedWithNext:
                if (pendingStart < 0)
                {
                    pendingStart = from;
                }

                break;
            case SplitBehavior.Contiguous:
                if (previousDelimiterEnd == from && output.Count > 0)
                {
                    ExtendLast(output, origin + to);
                }
                else
                {
                    output.Add(origin + from, origin + to);
                }

                break;
        }

        previousDelimiterEnd = to;
    }

    private static void ExtendLast(PieceList output, int newEnd)
    {
        // PieceList has no in-place edit; rebuilding the last entry keeps it simple.
        var s = output.StartOf(output.Count - 1);
        output.RemoveLast();
        output.Add(s, newEnd);
    }
}

/// <summary>SentencePiece's whitespace handling: spaces become the replacement character (▁), a ▁ is prepended, words start at each ▁.</summary>
internal sealed class MetaspacePreTokenizer(char replacement, string prependScheme, bool split) : PreTokenizer
{
    public override void Apply(PreTokenizeState state)
    {
        var source = state.Text;
        var target = state.Scratch;
        target.Clear();
        var output = state.ScratchPieces;
        output.Clear();
        for (var p = 0; p < state.Pieces.Count; p++)
        {
            var from = state.Pieces.StartOf(p);
            var to = state.Pieces.EndOf(p);
            var begin = target.Length;
            var prepend = prependScheme switch
            {
                "always" => true,
                "first" => state.SectionIndex == 0 && p == 0,
                _ => false,
            };
            if (prepend && source[from] != replacement && source[from] != ' ')
            {
                var at = source.StartOf(from);
                target.Append(replacement, at, at);
            }

            for (var i = from; i < to; i++)
            {
                var c = source[i];
                target.Append(c == ' ' ? replacement : c, source.StartOf(i), source.EndOf(i));
            }

            if (!split)
            {
                output.Add(begin, target.Length);
                continue;
            }

            // Each word starts at a replacement character (the delimiter merges with what follows).
            var wordStart = begin;
            var chars = target.Chars;
            for (var i = begin + 1; i < target.Length; i++)
            {
                if (chars[i] == replacement)
                {
                    output.Add(wordStart, i);
                    wordStart = i;
                }
            }

            output.Add(wordStart, target.Length);
        }

        state.SwapText();
        state.SwapPieces();
    }
}

/// <summary>Applies pre-tokenizers in order.</summary>
internal sealed class SequencePreTokenizer(IReadOnlyList<PreTokenizer> steps) : PreTokenizer
{
    public override void Apply(PreTokenizeState state)
    {
        foreach (var step in steps)
        {
            step.Apply(state);
        }
    }
}

/// <summary>Regular expressions for the pre-tokenizers defined by a fixed pattern.</summary>
internal static class PreTokenizerPatterns
{
    public static readonly Regex Whitespace = new(@"\w+|[^\w\s]+", RegexOptions.CultureInvariant);
    public static readonly Regex Punctuation = new(@"[\p{P}\u0021-\u002F\u003A-\u0040\u005B-\u0060\u007B-\u007E]", RegexOptions.CultureInvariant);
    // Rust's char::is_numeric: every number category (Nd, Nl, No).
    public static readonly Regex Digit = new(@"\p{N}", RegexOptions.CultureInvariant);
    public static readonly Regex Digits = new(@"\p{N}+", RegexOptions.CultureInvariant);
}
