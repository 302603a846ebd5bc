using System.Text;

namespace NativeAlign.Tokenizers;

/// <summary>SentencePiece piece types (ModelProto.SentencePiece.Type); tokenizer.json pieces are all <see cref="Normal"/>.</summary>
internal enum UnigramPieceType : byte
{
    Normal = 0,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>
/// Unigram language-model tokenization: the segmentation of a word into vocabulary pieces with the highest total
/// log-probability (Viterbi over the lattice of all matching pieces). A character no piece covers becomes the unknown
/// piece (score: lowest score - 10); consecutive unknowns fuse into one, or with byte fallback become &lt;0xXX&gt; pieces.
/// Ties keep the path found first (earlier start, then shorter piece), as the reference implementations do.
/// </summary>
internal sealed class UnigramModel : TokenizerModel
{
    private const double UnknownPenalty = 10.0;

    private readonly string[] _pieces;
    private readonly double[] _scores;
    private readonly UnigramPieceType[] _types;
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly Dictionary<long, int> _edges = [];
    private readonly List<int> _nodeToken = [-1];
    private readonly int[] _byteIds = new int[256];
    private readonly bool _byteFallback;
    private readonly double _unknownScore;
    private readonly double _maxScore;

    [ThreadStatic]
    private static Lattice? _lattice;

    public UnigramModel(IReadOnlyList<(string Piece, double Score)> pieces, UnigramPieceType[] types, int unknownId, bool byteFallback)
    {
        _pieces = new string[pieces.Count];
        _scores = new double[pieces.Count];
        _types = types;
        UnknownId = unknownId;
        _byteFallback = byteFallback;
        var min = double.MaxValue;
        var max = double.MinValue;
        Array.Fill(_byteIds, -1);
        for (var id = 0; id < pieces.Count; id++)
        {
            var (piece, score) = pieces[id];
            _pieces[id] = piece;
            _scores[id] = score;
            _ids.TryAdd(piece, id);
            if (types[id] == UnigramPieceType.Normal)
            {
                min = Math.Min(min, score);
                max = Math.Max(max, score);
            }

            if (piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
                && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var b))
            {
                _byteIds[b] = id;
            }

            // The lattice matches normal and user-defined pieces (tokenizer.json vocabularies have no types, so all).
            if (types[id] is UnigramPieceType.Normal or UnigramPieceType.UserDefined && piece.Length > 0)
            {
                AddToTrie(piece, id);
            }
        }

        _unknownScore = (min == double.MaxValue ? 0 : min) - UnknownPenalty;
        _maxScore = max == double.MinValue ? 0 : max;
    }

    public override int VocabularySize => _pieces.Length;

    public override int UnknownId { get; }

    public override string? IdToToken(int id) => (uint)id < (uint)_pieces.Length ? _pieces[id] : null;

    public override int? TokenToId(string token) => _ids.TryGetValue(token, out var id) ? id : null;

    public override void Tokenize(AlignedText text, int start, int end, int word, TokenSink sink)
    {
        var chars = text.Chars;
        var n = end - start;
        var lattice = _lattice ??= new Lattice();
        lattice.Reset(n);
        var best = lattice.Best;
        var from = lattice.From;
        var token = lattice.Token;
        best[0] = 0;
        for (var pos = 0; pos < n;)
        {
            var units = char.IsHighSurrogate(chars[start + pos]) && pos + 1 < n && char.IsLowSurrogate(chars[start + pos + 1]) ? 2 : 1;
            if (from[pos] == -2 && pos != 0)
            {
                pos += units;
                continue;
            }

            var hasSingle = false;
            var node = 0;
            var codePoints = 0;
            for (var k = pos; k < n; k++)
            {
                if (!_edges.TryGetValue(((long)node << 16) | chars[start + k], out node))
                {
                    break;
                }

                if (!char.IsHighSurrogate(chars[start + k]))
                {
                    codePoints++;
                }

                var id = _nodeToken[node];
                var stop = k + 1;
                if (id < 0 || (stop < n && char.IsLowSurrogate(chars[start + stop]) && char.IsHighSurrogate(chars[start + k])))
                {
                    continue;
                }

                // User-defined pieces must always win, as SentencePiece scores them.
                var score = _types[id] == UnigramPieceType.UserDefined ? codePoints * _maxScore - 0.1 : _scores[id];
                Relax(lattice, pos, stop, id, best[pos] + score);
                if (stop - pos == units)
                {
                    hasSingle = true;
                }
            }

            if (!hasSingle)
            {
                Relax(lattice, pos, pos + units, -1, best[pos] + _unknownScore);
            }

            pos += units;
        }

        // Walk back from the end, then emit in order.
        var path = lattice.Path;
        var count = 0;
        for (var at = n; at > 0; at = from[at])
        {
            path[count++] = at;
        }

        var previousUnknown = false;
        var begin = 0;
        for (var i = count - 1; i >= 0; i--)
        {
            var stop = path[i];
            var id = token[stop];
            if (id >= 0)
            {
                sink.Add(id, text, start + begin, start + stop, word);
                previousUnknown = false;
            }
            else if (_byteFallback && EmitBytes(text, start + begin, start + stop, word, sink))
            {
                previousUnknown = false;
            }
            else if (previousUnknown)
            {
                // Fuse with the unknown just emitted: widen its span.
                var last = sink.Count - 1;
                var s = sink.Starts[last];
                sink.Truncate(last);
                var span = text.OriginalSpan(start + begin, start + stop);
                sink.AddRaw(UnknownId, Math.Min(s, span.Start), span.End, word);
            }
            else
            {
                sink.Add(UnknownId, text, start + begin, start + stop, word);
                previousUnknown = true;
            }

            begin = stop;
        }
    }

    private bool EmitBytes(AlignedText text, int from, int to, int word, TokenSink sink)
    {
        Span<byte> bytes = stackalloc byte[8];
        var written = Encoding.UTF8.GetBytes(text.Chars[from..to], bytes);
        for (var i = 0; i < written; i++)
        {
            if (_byteIds[bytes[i]] < 0)
            {
                return false;
            }
        }

        for (var i = 0; i < written; i++)
        {
            sink.Add(_byteIds[bytes[i]], text, from, to, word);
        }

        return true;
    }

    private static void Relax(Lattice lattice, int from, int to, int id, double score)
    {
        if (lattice.From[to] == -2 || score > lattice.Best[to])
        {
            lattice.Best[to] = score;
            lattice.From[to] = from;
            lattice.Token[to] = id;
        }
    }

    private void AddToTrie(string piece, int id)
    {
        var node = 0;
        foreach (var c in piece)
        {
            var key = ((long)node << 16) | c;
            if (!_edges.TryGetValue(key, out var child))
            {
                child = _nodeToken.Count;
                _nodeToken.Add(-1);
                _edges[key] = child;
            }

            node = child;
        }

        if (_nodeToken[node] < 0)
        {
            _nodeToken[node] = id;
        }
    }

    /// <summary>Per-thread Viterbi arrays, indexed by code-unit position in the word.</summary>
    private sealed class Lattice
    {
        public double[] Best = new double[64];
        public int[] From = new int[64];
        public int[] Token = new int[64];
        public int[] Path = new int[64];

        public void Reset(int n)
        {
            if (Best.Length < n + 1)
            {
                var size = Math.Max(n + 1, Best.Length * 2);
                Best = new double[size];
                From = new int[size];
                Token = new int[size];
                Path = new int[size];
            }

            // -2 marks a position no path reaches yet.
            From.AsSpan(0, n + 1).Fill(-2);
        }
    }
}
