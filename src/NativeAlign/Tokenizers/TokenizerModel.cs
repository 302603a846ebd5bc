namespace NativeAlign.Tokenizers;

/// <summary>Collects the tokens of one input with their original spans and word indices (pooled per thread).</summary>
internal sealed class TokenSink
{
    private int[] _ids = new int[128];
    private int[] _starts = new int[128];
    private int[] _ends = new int[128];
    private int[] _words = new int[128];

    public int Count { get; private set; }

    public ReadOnlySpan<int> Ids => _ids.AsSpan(0, Count);

    public ReadOnlySpan<int> Starts => _starts.AsSpan(0, Count);

    public ReadOnlySpan<int> Ends => _ends.AsSpan(0, Count);

    public ReadOnlySpan<int> Words => _words.AsSpan(0, Count);

    public void Clear() => Count = 0;

    public void Truncate(int count) => Count = count;

    /// <summary>Adds a token covering code units [from, to) of <paramref name="text"/>.</summary>
    public void Add(int id, AlignedText text, int from, int to, int word)
    {
        var span = text.OriginalSpan(from, to);
        AddRaw(id, span.Start, span.End, word);
    }

    public void AddRaw(int id, int start, int end, int word)
    {
        if (Count == _ids.Length)
        {
            var size = Count * 2;
            Array.Resize(ref _ids, size);
            Array.Resize(ref _starts, size);
            Array.Resize(ref _ends, size);
            Array.Resize(ref _words, size);
        }

        _ids[Count] = id;
        _starts[Count] = start;
        _ends[Count] = end;
        _words[Count] = word;
        Count++;
    }
}

/// <summary>Turns one pre-tokenized word into vocabulary ids.</summary>
internal abstract class TokenizerModel
{
    /// <summary>Number of ids the model knows.</summary>
    public abstract int VocabularySize { get; }

    /// <summary>The id of the unknown token, or -1.</summary>
    public abstract int UnknownId { get; }

    /// <summary>The vocabulary spelling of <paramref name="id"/>, or null when out of range.</summary>
    public abstract string? IdToToken(int id);

    /// <summary>The id of <paramref name="token"/>, or null.</summary>
    public abstract int? TokenToId(string token);

    /// <summary>Tokenizes code units [start, end) of <paramref name="text"/> as word number <paramref name="word"/>.</summary>
    public abstract void Tokenize(AlignedText text, int start, int end, int word, TokenSink sink);
}

/// <summary>
/// WordPiece: greedy longest-match-first from the start of the word; pieces after the first carry the continuation
/// prefix (##); a word with a piece that cannot be matched, or longer than the limit in code points, becomes [UNK].
/// </summary>
internal sealed class WordPieceModel : TokenizerModel
{
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _initial;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _continuation;
    private readonly string?[] _tokens;
    private readonly int _maxChars;

    public WordPieceModel(Dictionary<string, int> vocab, int unknownId, string continuingPrefix, int maxInputCharsPerWord)
    {
        _vocab = vocab;
        UnknownId = unknownId;
        _maxChars = maxInputCharsPerWord;
        // Continuation pieces are looked up without their prefix, so a lookup never builds a string.
        var continuation = new Dictionary<string, int>(StringComparer.Ordinal);
        var maxId = -1;
        foreach (var (token, id) in vocab)
        {
            maxId = Math.Max(maxId, id);
            if (token.StartsWith(continuingPrefix, StringComparison.Ordinal))
            {
                continuation[token[continuingPrefix.Length..]] = id;
            }
        }

        _tokens = new string?[maxId + 1];
        foreach (var (token, id) in vocab)
        {
            _tokens[id] = token;
        }

        _initial = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _continuation = continuation.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public override int VocabularySize => _tokens.Length;

    public override int UnknownId { get; }

    public override string? IdToToken(int id) => (uint)id < (uint)_tokens.Length ? _tokens[id] : null;

    public override int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;

    public override void Tokenize(AlignedText text, int start, int end, int word, TokenSink sink)
    {
        var chars = text.Chars;
        var length = end - start;
        if (length > _maxChars)
        {
            // Count code points only when the code-unit count is over the limit.
            var codePoints = length;
            for (var i = start; i < end - 1; i++)
            {
                if (char.IsHighSurrogate(chars[i]) && char.IsLowSurrogate(chars[i + 1]))
                {
                    codePoints--;
                    i++;
                }
            }

            if (codePoints > _maxChars)
            {
                sink.Add(UnknownId, text, start, end, word);
                return;
            }
        }

        var mark = sink.Count;
        var pos = start;
        while (pos < end)
        {
            var stop = end;
            var found = -1;
            var lookup = pos == start ? _initial : _continuation;
            while (stop > pos)
            {
                if (lookup.TryGetValue(chars[pos..stop], out var id))
                {
                    found = id;
                    break;
                }

                stop--;
                // Never split a surrogate pair: candidates shrink by whole code points.
                if (stop > pos && char.IsLowSurrogate(chars[stop]) && char.IsHighSurrogate(chars[stop - 1]))
                {
                    stop--;
                }
            }

            if (found < 0)
            {
                sink.Truncate(mark);
                sink.Add(UnknownId, text, start, end, word);
                return;
            }

            sink.Add(found, text, pos, stop, word);
            pos = stop;
        }
    }
}
