using NativeAlign.Tokenizers.Unicode;

namespace NativeAlign.Tokenizers;

/// <summary>An added token from <c>tokenizer.json</c>: matched in the text before the model runs and given its own id.</summary>
internal sealed record AddedTokenSpec(int Id, string Content, bool Special, bool Normalized, bool LeftStrip, bool RightStrip);

/// <summary>Finds added tokens in text: at each position the longest content that starts there.</summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<char, AddedTokenSpec[]> _byFirstChar = [];
    private readonly System.Buffers.SearchValues<char> _firstChars;

    public AddedTokenMatcher(IEnumerable<AddedTokenSpec> tokens, Func<AddedTokenSpec, string> content)
    {
        foreach (var group in tokens.Select(t => (Token: t, Text: content(t))).Where(t => t.Text.Length > 0).GroupBy(t => t.Text[0]))
        {
            // Longest first, so the first hit is the longest match.
            _byFirstChar[group.Key] = [.. group.OrderByDescending(t => t.Text.Length).Select(t => t.Token with { Content = t.Text })];
        }

        // A vectorized scan for the first characters skips text that cannot start a token.
        _firstChars = System.Buffers.SearchValues.Create([.. _byFirstChar.Keys]);
    }

    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>The next match at or after <paramref name="from"/>, or null.</summary>
    public AddedTokenSpec? Next(ReadOnlySpan<char> text, int from, out int at)
    {
        for (var i = from; i < text.Length; i++)
        {
            var skip = text[i..].IndexOfAny(_firstChars);
            if (skip < 0)
            {
                break;
            }

            i += skip;
            var candidates = _byFirstChar[text[i]];

            foreach (var candidate in candidates)
            {
                if (text[i..].StartsWith(candidate.Content, StringComparison.Ordinal))
                {
                    at = i;
                    return candidate;
                }
            }
        }

        at = -1;
        return null;
    }
}

/// <summary>Per-thread buffers, so that tokenizing allocates only the arrays it returns.</summary>
internal sealed class TokenizerWorkspace
{
    [ThreadStatic]
    private static TokenizerWorkspace? _current;

    public AlignedText Section = new();
    public AlignedText Normalized = new();
    public readonly PreTokenizeState State = new();
    public readonly TokenSink Sink = new();

    public static TokenizerWorkspace Current => _current ??= new TokenizerWorkspace();

    /// <summary>Exchanges <paramref name="buffer"/> (Section or Normalized) with <paramref name="other"/>, so no text is copied.</summary>
    public void Swap(AlignedText buffer, ref AlignedText other)
    {
        if (ReferenceEquals(buffer, Section))
        {
            Section = other;
        }
        else
        {
            Normalized = other;
        }

        other = buffer;
    }
}

/// <summary>
/// A complete tokenizer: added tokens, normalizer, pre-tokenizer, model (WordPiece or Unigram) and post-processor,
/// as described by a Hugging Face <c>tokenizer.json</c>, a WordPiece <c>vocab.txt</c> or a SentencePiece <c>.model</c>.
/// Create one with <see cref="TokenizerLoader"/>. Immutable and safe to use from many threads at once.
/// </summary>
public sealed class Tokenizer : ITokenizer
{
    private readonly TextNormalizer? _normalizer;
    private readonly PreTokenizer? _preTokenizer;
    private readonly TokenizerModel _model;
    private readonly SingleTemplate _template;
    private readonly AddedTokenMatcher _rawAdded;
    private readonly AddedTokenMatcher _normalizedAdded;
    private readonly string?[] _tokens;
    private readonly Dictionary<string, int> _addedIds;

    internal Tokenizer(TextNormalizer? normalizer, PreTokenizer? preTokenizer, TokenizerModel model, SingleTemplate template,
        IReadOnlyList<AddedTokenSpec> addedTokens, int maxLength, bool truncateLeft, int padId)
    {
        _normalizer = normalizer;
        _preTokenizer = preTokenizer;
        _model = model;
        _template = template;
        MaxLength = maxLength;
        TruncateLeft = truncateLeft;
        PadId = padId;
        AddedTokens = addedTokens;
        _rawAdded = new AddedTokenMatcher(addedTokens.Where(t => !t.Normalized || normalizer is null), t => t.Content);
        _normalizedAdded = new AddedTokenMatcher(addedTokens.Where(t => t.Normalized && normalizer is not null), t => normalizer!.NormalizeString(t.Content));
        _addedIds = addedTokens.GroupBy(t => t.Content).ToDictionary(g => g.Key, g => g.Last().Id, StringComparer.Ordinal);

        // One table for id -> spelling: the model's vocabulary, overridden by added tokens.
        var size = Math.Max(model.VocabularySize, addedTokens.Count == 0 ? 0 : addedTokens.Max(t => t.Id) + 1);
        _tokens = new string?[size];
        for (var id = 0; id < model.VocabularySize; id++)
        {
            _tokens[id] = model.IdToToken(id);
        }

        foreach (var t in addedTokens)
        {
            _tokens[t.Id] = t.Content;
        }

        foreach (var piece in template.Prefix.Concat(template.Suffix))
        {
            if ((uint)piece.Id < (uint)_tokens.Length)
            {
                _tokens[piece.Id] ??= piece.Token;
            }
        }
    }

    /// <summary>
    /// How many times its length a text may grow in normalization. Real normalizers stay far below: BERT's spaces around
    /// CJK characters triple them, NFKC's widest expansion of a common character is a few units; a chain of replacements
    /// that doubles the text at every step is a crafted file.
    /// </summary>
    public const int NormalizedGrowth = 8;

    /// <summary>Code units a normalized text may have beyond <see cref="NormalizedGrowth"/> times its length (prefixes on short texts).</summary>
    public const int NormalizedSlack = 1024;

    /// <summary>Longest normalized text, in UTF-16 code units: 256 Mi, as many as the longest input line can hold.</summary>
    public const int MaxNormalizedLength = 256 << 20;

    /// <summary>
    /// Characters tokenized per kept token before a long text is cut (<see cref="Encode(string, int)"/> with truncation):
    /// WordPiece and SentencePiece tokens of real text average 3–6 characters, so 32 leaves a wide margin.
    /// </summary>
    public const int PrefixCharsPerToken = 32;

    /// <summary>Characters tokenized beyond <see cref="PrefixCharsPerToken"/> × the kept tokens, for short limits.</summary>
    public const int PrefixSlackChars = 1024;

    /// <summary>Tokens a prefix must yield beyond the kept ones for its cut to be trusted.</summary>
    public const int PrefixMarginTokens = 64;

    private static readonly System.Buffers.SearchValues<char> PrefixCutChars = System.Buffers.SearchValues.Create(" \t\n\r\u3000");

    /// <summary>The file the tokenizer was read from, for error messages; null when built from bytes without a name.</summary>
    internal string? Source { get; init; }

    /// <summary>The normalizer as the file names it (such as <c>normalizer (Sequence)</c>), for error messages.</summary>
    internal string? NormalizerName { get; init; }

    /// <summary>The maximum number of tokens (special tokens included) <see cref="Encode(string)"/> returns; 0 for no limit.</summary>
    public int MaxLength { get; }

    /// <summary>True when truncation removes tokens from the start of the sequence instead of its end.</summary>
    public bool TruncateLeft { get; }

    /// <inheritdoc />
    public int PadId { get; }

    /// <inheritdoc />
    public int VocabularySize => _tokens.Length;

    /// <summary>The id of the unknown token ([UNK], &lt;unk&gt;) that text outside the vocabulary becomes.</summary>
    public int UnknownId => _model.UnknownId;

    /// <summary>How many special tokens the post-processor adds to one sequence (2 for BERT: [CLS] and [SEP]).</summary>
    public int SpecialTokenCount => _template.AddedCount;

    internal IReadOnlyList<AddedTokenSpec> AddedTokens { get; }

    /// <summary>
    /// The smallest and largest id encoding can produce: the vocabulary, the unknown id (-1 for a model without one,
    /// such as an empty Unigram vocabulary), added tokens, the post-processor's special tokens and padding.
    /// </summary>
    internal (int Min, int Max) IdRange
    {
        get
        {
            var specials = _template.Prefix.Concat(_template.Suffix).Select(p => p.Id)
                .Concat(_template.Pair.Where(i => i.IsSpecial).Select(i => i.Special.Id))
                .Concat(AddedTokens.Select(t => t.Id))
                .Append(_model.UnknownId)
                .Append(PadId)
                .ToArray();
            int min = Math.Min(_model.VocabularySize > 0 ? 0 : int.MaxValue, specials.Min());
            int max = Math.Max(_model.VocabularySize - 1, specials.Max());
            return (min, max);
        }
    }

    internal TextNormalizer? Normalizer => _normalizer;

    /// <summary>The vocabulary spelling of <paramref name="id"/>, or null when the id is unknown.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)_tokens.Length ? _tokens[id] : null;

    /// <summary>The id of <paramref name="token"/> (added tokens first, then the model's vocabulary), or null.</summary>
    public int? TokenToId(string token) => _addedIds.TryGetValue(token, out var id) ? id : _model.TokenToId(token);

    /// <inheritdoc />
    public TokenizedText Encode(string text) => Encode(text, MaxLength);

    /// <summary>
    /// Tokenizes <paramref name="text"/> with special tokens, truncated to at most <paramref name="maxLength"/> tokens
    /// in all (special tokens included); <paramref name="maxLength"/> ≤ 0 means no truncation.
    /// </summary>
    public TokenizedText Encode(string text, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ws = TokenizerWorkspace.Current;
        var sink = ws.Sink;
        sink.Clear();
        EncodeSequence(text, ws);
        return Finish(sink, maxLength);
    }

    /// <summary>
    /// <see cref="Encode(string)"/> with work bounded by <see cref="MaxLength"/> rather than by the text: a text far longer
    /// than the kept tokens can cover is tokenized only as far as truncation needs (see <see cref="TryEncodePrefix"/>).
    /// Ids, offsets and word ids are those of <see cref="Encode(string)"/>; <see cref="TokenizedText.TruncatedTokens"/>
    /// then counts the tokens dropped from the part tokenized, a lower bound. The encoder uses this, since it only ever
    /// sees the kept tokens; <see cref="Encode(string)"/> stays exact for callers that count.
    /// </summary>
    internal TokenizedText EncodeBounded(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (MaxLength > 0 && !TruncateLeft)
        {
            var ws = TokenizerWorkspace.Current;
            ws.Sink.Clear();
            if (TryEncodePrefix(text, MaxLength, ws))
            {
                return Finish(ws.Sink, MaxLength);
            }
        }

        return Encode(text, MaxLength);
    }

    /// <summary>
    /// For a text far longer than <paramref name="maxLength"/> tokens can cover, tokenizes only a prefix: the first
    /// <see cref="PrefixCharsPerToken"/> × maxLength + <see cref="PrefixSlackChars"/> characters, extended to the next
    /// whitespace. It is kept when it yields at least <see cref="PrefixMarginTokens"/> tokens more than truncation keeps,
    /// so the cut, which can only change the tokens of the words around it, lies well past the kept ones; otherwise
    /// (few, long tokens) the caller tokenizes the whole text. A text that is not cut is therefore always tokenized whole.
    /// </summary>
    private bool TryEncodePrefix(string text, int maxLength, TokenizerWorkspace ws)
    {
        long want = PrefixCharsPerToken * (long)maxLength + PrefixSlackChars;
        if (text.Length <= want)
        {
            return false;
        }

        int cut = text.AsSpan((int)want).IndexOfAny(PrefixCutChars);
        if (cut < 0)
        {
            return false;
        }

        EncodeSequence(text.AsSpan(0, (int)want + cut), ws);
        return ws.Sink.Count >= maxLength + PrefixMarginTokens;
    }

    /// <summary>
    /// Tokenizes many texts on up to <paramref name="maxDegreeOfParallelism"/> threads (-1: one per core);
    /// result i belongs to text i. <paramref name="maxLength"/> is as in <see cref="Encode(string, int)"/>;
    /// left at its default it is <see cref="MaxLength"/>.
    /// </summary>
    public TokenizedText[] EncodeBatch(IReadOnlyList<string> texts, int maxDegreeOfParallelism = -1, int maxLength = int.MinValue)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var limit = maxLength == int.MinValue ? MaxLength : maxLength;
        var results = new TokenizedText[texts.Count];
        if (texts.Count < 64 || maxDegreeOfParallelism == 1)
        {
            for (var i = 0; i < texts.Count; i++)
            {
                results[i] = Encode(texts[i], limit);
            }

            return results;
        }

        // Chunks of consecutive texts keep each thread's workspace warm and the scheduling overhead low.
        var options = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism };
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, texts.Count, 256), options, range =>
        {
            for (var i = range.Item1; i < range.Item2; i++)
            {
                results[i] = Encode(texts[i], limit);
            }
        });
        return results;
    }

    /// <summary>
    /// Tokenizes a pair of texts with the model's pair template (BERT: [CLS] A [SEP] B [SEP], B of type 1). Truncation to
    /// <paramref name="maxLength"/> (≤ 0: none; default <see cref="MaxLength"/>) is longest-first: one token at a time from
    /// the longer sequence, from the second on a tie. Offsets of B's tokens are spans of <paramref name="pair"/>, and its
    /// word ids count from 0 again; the type ids tell the sequences apart.
    /// </summary>
    public TokenizedText Encode(string text, string pair, int maxLength = int.MinValue)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(pair);
        var limit = maxLength == int.MinValue ? MaxLength : maxLength;
        var ws = TokenizerWorkspace.Current;
        var sink = ws.Sink;
        sink.Clear();
        EncodeSequence(text, ws);
        var countA = sink.Count;
        EncodeSequence(pair, ws);
        var countB = sink.Count - countA;
        var keepA = countA;
        var keepB = countB;
        var truncated = 0;
        if (limit > 0)
        {
            var budget = Math.Max(0, limit - _template.PairAddedCount);
            while (keepA + keepB > budget)
            {
                if (keepA > keepB)
                {
                    keepA--;
                }
                else
                {
                    keepB--;
                }

                truncated++;
            }
        }

        var items = _template.Pair;
        var count = keepA + keepB + _template.PairAddedCount;
        var ids = new int[count];
        var tokens = new string[count];
        var types = new int[count];
        var offsets = new TextSpan[count];
        var words = new int[count];
        var k = 0;
        foreach (var item in items)
        {
            if (item.IsSpecial)
            {
                ids[k] = item.Special.Id;
                tokens[k] = item.Special.Token;
                types[k] = item.TypeId;
                words[k] = -1;
                k++;
                continue;
            }

            var (from, keep) = item.Sequence == 0 ? (TruncateLeft ? countA - keepA : 0, keepA) : (countA + (TruncateLeft ? countB - keepB : 0), keepB);
            for (var i = from; i < from + keep; i++, k++)
            {
                var id = sink.Ids[i];
                ids[k] = id;
                tokens[k] = IdToToken(id) ?? string.Empty;
                types[k] = item.TypeId;
                offsets[k] = new TextSpan(sink.Starts[i], sink.Ends[i]);
                words[k] = sink.Words[i];
            }
        }

        return new TokenizedText { Ids = ids, Tokens = tokens, TypeIds = types, Offsets = offsets, WordIds = words, TruncatedTokens = truncated };
    }

    /// <summary>
    /// Pads encodings to one length: the longest row (rounded up to a multiple of <paramref name="padToMultipleOf"/>),
    /// or <paramref name="fixedLength"/> when given (rows longer than it are an error: truncate when encoding instead).
    /// Padding goes on the right, or on the left when <paramref name="padLeft"/>; it uses <see cref="PadId"/> and type id
    /// <paramref name="padTypeId"/>.
    /// </summary>
    public PaddedBatch Pad(IReadOnlyList<TokenizedText> items, int? fixedLength = null, int padToMultipleOf = 1, bool padLeft = false, int padTypeId = 0)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentOutOfRangeException.ThrowIfLessThan(padToMultipleOf, 1);
        var longest = 0;
        foreach (var item in items)
        {
            longest = Math.Max(longest, item.Count);
        }

        var length = fixedLength ?? (longest + padToMultipleOf - 1) / padToMultipleOf * padToMultipleOf;
        if (length < longest)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"a row has {longest} tokens, more than the padded length {length}");
        }

        var total = checked(items.Count * length);
        var ids = new int[total];
        var mask = new int[total];
        var types = new int[total];
        Array.Fill(ids, PadId);
        Array.Fill(types, padTypeId);
        for (var r = 0; r < items.Count; r++)
        {
            var item = items[r];
            var at = r * length + (padLeft ? length - item.Count : 0);
            item.Ids.CopyTo(ids, at);
            item.TypeIds.CopyTo(types, at);
            mask.AsSpan(at, item.Count).Fill(1);
        }

        return new PaddedBatch(items.Count, length, ids, mask, types, items);
    }

    private void EncodeSequence(ReadOnlySpan<char> span, TokenizerWorkspace ws)
    {
        var word = 0;
        var sectionIndex = 0;
        var pos = 0;
        while (pos <= span.Length)
        {
            var at = -1;
            var added = _rawAdded.IsEmpty ? null : _rawAdded.Next(span, pos, out at);
            var sectionEnd = added is null ? span.Length : at;
            var sectionStart = pos;
            // lstrip on the token trims the whitespace before it; rstrip on the previous one trimmed what follows.
            if (added is { LeftStrip: true })
            {
                while (sectionEnd > sectionStart && UnicodeTables.IsJsWhitespace(span[sectionEnd - 1]))
                {
                    sectionEnd--;
                }
            }

            if (sectionEnd > sectionStart)
            {
                EncodeSection(span[sectionStart..sectionEnd], sectionStart, sectionIndex, ref word, ws);
            }

            if (added is null)
            {
                break;
            }

            if (sectionEnd > sectionStart || sectionStart < at)
            {
                sectionIndex++;
            }

            ws.Sink.AddRaw(added.Id, at, at + added.Content.Length, -1);
            sectionIndex++;
            pos = at + added.Content.Length;
            if (added.RightStrip)
            {
                while (pos < span.Length && UnicodeTables.IsJsWhitespace(span[pos]))
                {
                    pos++;
                }
            }

            if (pos == span.Length)
            {
                break;
            }
        }
    }

    private void EncodeSection(ReadOnlySpan<char> section, int origin, int sectionIndex, ref int word, TokenizerWorkspace ws)
    {
        var normalized = ws.Section;
        normalized.Load(section, origin);
        if (_normalizer is not null)
        {
            int limit = (int)Math.Min(NormalizedGrowth * (long)section.Length + NormalizedSlack, MaxNormalizedLength);
            ws.Section.Limit = ws.Normalized.Limit = limit;
            try
            {
                _normalizer.Normalize(ws.Section, ws.Normalized);
            }
            catch (TextLimitException)
            {
                throw new ModelFormatException(Source, "normalizer", $"the {NormalizerName ?? "normalizer"} grows a text of {section.Length} characters past {limit} ({NormalizedGrowth} × its length + {NormalizedSlack}, at most {MaxNormalizedLength}); no real normalizer grows text that much");
            }
            finally
            {
                ws.Section.Limit = ws.Normalized.Limit = int.MaxValue;
            }

            normalized = ws.Normalized;
        }

        if (normalized.Length == 0)
        {
            return;
        }

        if (_normalizedAdded.IsEmpty)
        {
            EncodeNormalized(normalized, 0, normalized.Length, sectionIndex, ref word, ws);
            return;
        }

        var pos = 0;
        var chars = normalized.Chars;
        while (pos < chars.Length)
        {
            var added = _normalizedAdded.Next(chars, pos, out var at);
            var end = added is null ? chars.Length : at;
            if (end > pos)
            {
                EncodeNormalized(normalized, pos, end, sectionIndex, ref word, ws);
            }

            if (added is null)
            {
                break;
            }

            var spanOf = normalized.OriginalSpan(at, at + added.Content.Length);
            ws.Sink.AddRaw(added.Id, spanOf.Start, spanOf.End, -1);
            pos = at + added.Content.Length;
        }
    }

    private void EncodeNormalized(AlignedText normalized, int from, int to, int sectionIndex, ref int word, TokenizerWorkspace ws)
    {
        var state = ws.State;
        if (from == 0 && to == normalized.Length)
        {
            // The whole section: hand the buffer over instead of copying it.
            ws.Swap(normalized, ref state.Text);
        }
        else
        {
            state.Text.Clear();
            state.Text.AppendFrom(normalized, from, to);
        }

        state.Pieces.Clear();
        state.Pieces.Add(0, state.Text.Length);
        state.SectionIndex = sectionIndex;
        _preTokenizer?.Apply(state);
        for (var p = 0; p < state.Pieces.Count; p++)
        {
            _model.Tokenize(state.Text, state.Pieces.StartOf(p), state.Pieces.EndOf(p), word, ws.Sink);
            word++;
        }
    }

    private TokenizedText Finish(TokenSink sink, int maxLength)
    {
        var content = sink.Count;
        var keep = content;
        if (maxLength > 0)
        {
            keep = Math.Clamp(maxLength - _template.AddedCount, 0, content);
        }

        var skip = TruncateLeft ? content - keep : 0;
        var count = keep + _template.AddedCount;
        var ids = new int[count];
        var tokens = new string[count];
        var types = new int[count];
        var offsets = new TextSpan[count];
        var words = new int[count];
        var k = 0;
        foreach (var p in _template.Prefix)
        {
            ids[k] = p.Id;
            tokens[k] = p.Token;
            types[k] = p.TypeId;
            words[k] = -1;
            k++;
        }

        var sinkIds = sink.Ids;
        var starts = sink.Starts;
        var ends = sink.Ends;
        var sinkWords = sink.Words;
        for (var i = skip; i < skip + keep; i++, k++)
        {
            var id = sinkIds[i];
            ids[k] = id;
            tokens[k] = IdToToken(id) ?? string.Empty;
            types[k] = _template.SequenceTypeId;
            offsets[k] = new TextSpan(starts[i], ends[i]);
            words[k] = sinkWords[i];
        }

        foreach (var p in _template.Suffix)
        {
            ids[k] = p.Id;
            tokens[k] = p.Token;
            types[k] = p.TypeId;
            words[k] = -1;
            k++;
        }

        return new TokenizedText { Ids = ids, Tokens = tokens, TypeIds = types, Offsets = offsets, WordIds = words, TruncatedTokens = content - keep };
    }
}
