using NativeAlign.Models;

namespace NativeAlign.Alignment.Words;

/// <summary>Options of <see cref="TextAligner"/>.</summary>
public sealed record TextAlignerOptions
{
    /// <summary>
    /// Encoder layer whose token states become word vectors: 0 = embeddings … L = last, negative counts from the end;
    /// null takes the middle layer (L/2). Word alignment is best from middle layers (SimAlign and awesome-align take
    /// layer 8 of mBERT's 12); on the 6-layer default model layer 3 gave the lowest En–Fr AER of layers 2…6.
    /// </summary>
    public int? Layer { get; init; }

    /// <summary>How a word's subword vectors are pooled.</summary>
    public SubwordPoolingMode Pooling { get; init; } = SubwordPoolingMode.Average;

    /// <summary>The extraction method and its parameters.</summary>
    public WordAlignerOptions Aligner { get; init; } = new();
}

/// <summary>Word vectors of one text: its whitespace words and one vector per word from the chosen layer.</summary>
public sealed class WordVectors
{
    internal WordVectors(string[] words, float[] vectors, int dimension, bool[] present, int truncatedTokens)
    {
        Words = words;
        Vectors = vectors;
        Dimension = dimension;
        Present = present;
        TruncatedTokens = truncatedTokens;
    }

    /// <summary>The whitespace-separated words (the unit alignment positions refer to).</summary>
    public string[] Words { get; }

    /// <summary>Row-major [Words.Length × Dimension] pooled subword vectors; zero for words without tokens.</summary>
    public float[] Vectors { get; }

    /// <summary>Width of a vector.</summary>
    public int Dimension { get; }

    /// <summary>For each word, whether any token contributed (false for words cut off by the model's length limit).</summary>
    public bool[] Present { get; }

    /// <summary>Tokens dropped because the text exceeded the model's limit (0 when it fitted).</summary>
    public int TruncatedTokens { get; }
}

/// <summary>The word alignment of one sentence pair with the matrix it came from.</summary>
public sealed class TextAlignment
{
    internal TextAlignment(string[] sourceWords, string[] targetWords, float[] cosine, WordLink[] links, int truncatedTokens)
    {
        SourceWords = sourceWords;
        TargetWords = targetWords;
        Cosine = cosine;
        Links = links;
        TruncatedTokens = truncatedTokens;
    }

    /// <summary>Source words (whitespace-separated).</summary>
    public string[] SourceWords { get; }

    /// <summary>Target words (whitespace-separated).</summary>
    public string[] TargetWords { get; }

    /// <summary>Cosine similarities of the word vectors, row-major [SourceWords × TargetWords]; 0 for words cut by truncation.</summary>
    public float[] Cosine { get; }

    /// <summary>The links, sorted by (source, target), 0-based word positions.</summary>
    public WordLink[] Links { get; }

    /// <summary>Tokens dropped from the two sides together because they exceeded the model's limit.</summary>
    public int TruncatedTokens { get; }
}

/// <summary>
/// Word alignment of raw sentence pairs through an encoder: each side is encoded, subword states of
/// <see cref="TextAlignerOptions.Layer"/> are pooled into whitespace words (<see cref="SubwordPooling"/>), and the
/// similarity matrices go through <see cref="WordAligner.AlignBatch"/> (so transport methods solve all pairs in one
/// batched call). Words cut off by the model's length limit take no part and get no links.
/// </summary>
/// <example>
/// <code>
/// using var encoder = SentenceEncoder.Load("models/all-MiniLM-L6-v2");
/// var aligner = new TextAligner(encoder, new TextAlignerOptions { Aligner = new() { Method = WordAlignmentMethod.IterMax } });
/// var a = aligner.Align("the cat sleeps", "le chat dort");
/// Console.WriteLine(PharaohFormat.FormatLine(a.Links)); // e.g. 0-0 1-1 2-2
/// </code>
/// </example>
public sealed class TextAligner
{
    private readonly SentenceEncoder _encoder;
    private readonly TextAlignerOptions _options;

    /// <summary>Creates an aligner over a loaded encoder (not owned: the caller disposes it).</summary>
    public TextAligner(SentenceEncoder encoder, TextAlignerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        _encoder = encoder;
        _options = options ?? new TextAlignerOptions();
        int count = encoder.Config.LayerCount;
        int asked = _options.Layer ?? (count / 2);
        Layer = asked < 0 ? count + 1 + asked : asked;
        if (Layer < 0 || Layer > count)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"layer {_options.Layer} does not exist: the model has {count} layers (0 = embeddings … {count} = last, or −1 … −{count + 1})");
        }
    }

    /// <summary>The layer the word vectors come from, resolved to 0 (embeddings) … L (last).</summary>
    public int Layer { get; }

    /// <summary>The options in use.</summary>
    public TextAlignerOptions Options => _options;

    /// <summary>Encodes <paramref name="text"/> and pools its subword states into one vector per whitespace word.</summary>
    public WordVectors EncodeWords(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var spans = SubwordPooling.WhitespaceWords(text);
        var words = spans.Select(s => text[s.Start..s.End]).ToArray();
        if (words.Length == 0)
        {
            return new WordVectors([], [], _encoder.Config.HiddenSize, [], 0);
        }

        var states = _encoder.EncodeTokens(text, Layer);
        var map = SubwordPooling.TokenToWord(states.Tokens, text);
        var vectors = new float[words.Length * states.Dimension];
        var present = SubwordPooling.Pool(states.States, states.Tokens.Count, states.Dimension, map, words.Length, _options.Pooling, vectors);
        return new WordVectors(words, vectors, states.Dimension, present, states.Tokens.TruncatedTokens);
    }

    /// <summary>Aligns one sentence pair.</summary>
    public TextAlignment Align(string source, string target) => AlignBatch([source], [target])[0];

    /// <summary>
    /// Aligns line-paired sentences: result i belongs to (sources[i], targets[i]). Encoding runs in parallel; all
    /// extraction problems go to <see cref="WordAligner.AlignBatch"/> at once.
    /// </summary>
    /// <param name="sources">Source sentences.</param>
    /// <param name="targets">Target sentences, as many as <paramref name="sources"/>.</param>
    /// <param name="progress">Receives the number of pairs encoded so far.</param>
    /// <param name="cancellationToken">Checked between sentences.</param>
    public TextAlignment[] AlignBatch(IReadOnlyList<string> sources, IReadOnlyList<string> targets, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(targets);
        if (sources.Count != targets.Count)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"text alignment: {sources.Count} source sentences but {targets.Count} target sentences");
        }

        int count = sources.Count;
        var src = new WordVectors[count];
        var tgt = new WordVectors[count];
        int done = 0;
        var parallel = new ParallelOptions { CancellationToken = cancellationToken };
        try
        {
            Parallel.For(0, count, parallel, p =>
            {
                src[p] = EncodeWords(sources[p] ?? throw new ArgumentException($"source sentence {p} is null", nameof(sources)));
                tgt[p] = EncodeWords(targets[p] ?? throw new ArgumentException($"target sentence {p} is null", nameof(targets)));
                int now = Interlocked.Increment(ref done);
                progress?.Report(now);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
        {
            // Callers catch the typed errors (model, usage), not the parallel loop's wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }

        var method = _options.Aligner;
        var similarities = new float[count][];
        var cosines = new float[count][];
        var shapes = new (int, int)[count];
        var srcKept = new int[count][];
        var tgtKept = new int[count][];
        var srcMasses = method.Mass == WordMassKind.Norm ? new float[count][] : null;
        var tgtMasses = method.Mass == WordMassKind.Norm ? new float[count][] : null;
        for (int p = 0; p < count; p++)
        {
            var (s, t) = (src[p], tgt[p]);
            int dim = s.Dimension;

            // Only words that received tokens take part; the others (cut by truncation) stay unlinked.
            srcKept[p] = [.. Enumerable.Range(0, s.Words.Length).Where(i => s.Present[i])];
            tgtKept[p] = [.. Enumerable.Range(0, t.Words.Length).Where(j => t.Present[j])];
            var a = Gather(s.Vectors, srcKept[p], dim);
            var b = Gather(t.Vectors, tgtKept[p], dim);
            int n = srcKept[p].Length, m = tgtKept[p].Length;
            var cos = SubwordPooling.CosineSimilarity(a, n, b, m, dim);
            similarities[p] = method.Method == WordAlignmentMethod.Softmax ? SubwordPooling.DotProducts(a, n, b, m, dim) : cos;
            shapes[p] = (n, m);
            if (srcMasses is not null && tgtMasses is not null)
            {
                srcMasses[p] = SubwordPooling.Norms(a, n, dim);
                tgtMasses[p] = SubwordPooling.Norms(b, m, dim);
            }

            var full = new float[s.Words.Length * t.Words.Length];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < m; j++)
                {
                    full[(srcKept[p][i] * t.Words.Length) + tgtKept[p][j]] = cos[(i * m) + j];
                }
            }

            cosines[p] = full;
        }

        cancellationToken.ThrowIfCancellationRequested();
        var links = WordAligner.AlignBatch(similarities, shapes, method, srcMasses, tgtMasses, _encoder.Backend);
        var result = new TextAlignment[count];
        for (int p = 0; p < count; p++)
        {
            var mapped = links[p].Select(l => l with { Source = srcKept[p][l.Source], Target = tgtKept[p][l.Target] }).ToArray();
            result[p] = new TextAlignment(src[p].Words, tgt[p].Words, cosines[p], mapped, src[p].TruncatedTokens + tgt[p].TruncatedTokens);
        }

        return result;
    }

    private static float[] Gather(float[] vectors, int[] rows, int dim)
    {
        var result = new float[rows.Length * dim];
        for (int r = 0; r < rows.Length; r++)
        {
            vectors.AsSpan(rows[r] * dim, dim).CopyTo(result.AsSpan(r * dim, dim));
        }

        return result;
    }
}
