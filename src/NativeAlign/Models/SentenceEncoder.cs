using NativeAlign.Backends;
using NativeAlign.IO;
using NativeAlign.Tensors;
using NativeAlign.Tokenizers;

namespace NativeAlign.Models;

/// <summary>Options for <see cref="SentenceEncoder.Load(string, SentenceEncoderOptions?)"/>.</summary>
public sealed record SentenceEncoderOptions
{
    /// <summary>Pooling; null keeps what the model folder says (sentence-transformers <c>1_Pooling</c>), else mean.</summary>
    public SentencePoolingMode? Pooling { get; init; }

    /// <summary>CLS through BERT's pooler (tanh(W·h + b)) instead of <see cref="Pooling"/>; needs <c>pooler.dense.*</c> weights.</summary>
    public bool UsePooler { get; init; }

    /// <summary>L2 normalisation; null keeps what the model folder says (a <c>Normalize</c> module), else off.</summary>
    public bool? Normalize { get; init; }

    /// <summary>
    /// Which layer's states to pool and return: 0 = embeddings, L = last, negative counts from the end (−1 = last, the default).
    /// Dense modules of a sentence-transformers folder apply to whatever is pooled.
    /// </summary>
    public int Layer { get; init; } = -1;

    /// <summary>Token budget per batch (batch size × padded length); inputs are sorted by length first.</summary>
    public int BatchTokens { get; init; } = 8192;

    /// <summary>Backend name: "cpu" (default), "opencl" (generated kernels on an OpenCL device) or "reference" (float64 scalar; slow, for checking).</summary>
    public string Backend { get; init; } = "cpu";

    /// <summary>OpenCL device index for the "opencl" backend, as <c>nativealign info</c> numbers them (default 0).</summary>
    public int Device { get; init; }

    /// <summary>
    /// Int8 activations in products with 4-bit weights (<see cref="NativeAlign.Backends.Cpu.CpuBackend.Int8Activations"/>), as ONNX Runtime runs
    /// MatMulNBits at accuracy level 4; "cpu" backend only. Off by default (float32 activations).
    /// </summary>
    public bool Int8Activations { get; init; }

    /// <summary>
    /// Most tokens per input, special tokens included; longer inputs are cut (and counted as truncated). Null: the model's
    /// own limit (position table, sentence-transformers <c>max_seq_length</c>) capped at <see cref="SentenceEncoder.DefaultMaxTokens"/>,
    /// since attention costs grow with the square of the length. Never more than the position table.
    /// </summary>
    public int? MaxTokens { get; init; }
}

/// <summary>Sentence embeddings, row-major [<see cref="Count"/> × <see cref="Dimension"/>], row i for input i.</summary>
public sealed class SentenceEmbeddings
{
    internal SentenceEmbeddings(int count, int dimension, float[] data, int truncatedInputs, long truncatedTokens, long tokens)
    {
        Tokens = tokens;
        Count = count;
        Dimension = dimension;
        Data = data;
        TruncatedInputs = truncatedInputs;
        TruncatedTokens = truncatedTokens;
    }

    /// <summary>Number of inputs.</summary>
    public int Count { get; }

    /// <summary>Embedding width.</summary>
    public int Dimension { get; }

    /// <summary>All embeddings, row-major.</summary>
    public float[] Data { get; }

    /// <summary>How many inputs were longer than the model allows and lost tokens.</summary>
    public int TruncatedInputs { get; }

    /// <summary>How many tokens truncation removed in total.</summary>
    public long TruncatedTokens { get; }

    /// <summary>How many tokens were encoded (special tokens included, after truncation): what throughput is measured in.</summary>
    public long Tokens { get; }

    /// <summary>The embedding of input <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> this[int index] => Data.AsSpan(index * Dimension, Dimension);
}

/// <summary>Per-token hidden states of one input with the tokenizer's alignment to the text.</summary>
public sealed class TokenEmbeddings
{
    internal TokenEmbeddings(TokenizedText tokens, int layer, int dimension, float[] states)
    {
        Tokens = tokens;
        Layer = layer;
        Dimension = dimension;
        States = states;
    }

    /// <summary>The tokens (ids, strings, offsets, word ids), after any truncation; one state row per token.</summary>
    public TokenizedText Tokens { get; }

    /// <summary>The layer the states come from (0 = embeddings).</summary>
    public int Layer { get; }

    /// <summary>Width of one state.</summary>
    public int Dimension { get; }

    /// <summary>States, row-major [Tokens.Count × Dimension].</summary>
    public float[] States { get; }

    /// <summary>The state of token <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> this[int index] => States.AsSpan(index * Dimension, Dimension);
}

/// <summary>
/// A loaded sentence encoder: tokenizer, transformer and pooling head. Load once, then call <see cref="Embed"/> or
/// <see cref="EncodeTokens"/> from any number of threads; dispose when done (disposal waits for calls in flight and
/// frees the weights).
/// </summary>
/// <example>
/// <code>
/// using var encoder = SentenceEncoder.Load("models/all-MiniLM-L6-v2", new SentenceEncoderOptions { Normalize = true });
/// var e = encoder.Embed(["A cat sits on the mat.", "A kitten is sitting on a rug."]);
/// float cosine = 0;
/// for (int i = 0; i &lt; e.Dimension; i++) cosine += e[0][i] * e[1][i]; // normalised: the dot product is the cosine
/// </code>
/// </example>
public sealed class SentenceEncoder : IDisposable
{
    private readonly IDisposable _owned;
    private readonly TransformerEncoder _encoder;
    private readonly SentenceHead _head;
    private readonly ITokenizer? _tokenizer;
    private readonly int _layer;
    private readonly int _batchTokens;
    private readonly int _maxTokens;
    private readonly bool _lowerCase;
    private readonly string? _source;
    private readonly object _gate = new();
    private readonly System.Collections.Concurrent.ConcurrentBag<ActivationWorkspace> _workspaces = new();
    private int _active;
    private bool _disposed;

    // Calls in progress per managed thread id: Dispose on a thread that is inside a call (a synchronous progress
    // callback) would wait for itself, so it is refused instead.
    private readonly Dictionary<int, int> _activeThreads = [];

    private SentenceEncoder(IDisposable owned, TransformerEncoder encoder, SentenceHead head, ITokenizer? tokenizer, int layer, int batchTokens, int maxTokens, bool lowerCase, string? source)
    {
        _owned = owned;
        _source = source;
        _maxTokens = maxTokens;
        _lowerCase = lowerCase;
        _encoder = encoder;
        _head = head;
        _tokenizer = tokenizer;
        _layer = layer;
        _batchTokens = batchTokens;
    }

    /// <summary>
    /// Longest input, in tokens, when <see cref="SentenceEncoderOptions.MaxTokens"/> is not set and the model allows more:
    /// the length BERT-family encoders are trained to, beyond which attention's quadratic cost makes one line take minutes.
    /// </summary>
    public const int DefaultMaxTokens = 512;

    /// <summary>The encoder's configuration.</summary>
    public EncoderConfig Config => _encoder.Config;

    /// <summary>
    /// The backend the encoder runs on, which retrieval and transport can share (<see cref="BackendOp.TopK"/>,
    /// <see cref="BackendOp.Sinkhorn"/>) so that <c>--backend opencl</c> keeps them on the same device. Owned by the encoder.
    /// </summary>
    public IComputeBackend Backend => _encoder.Backend;

    /// <summary>Width of the sentence embeddings.</summary>
    public int Dimension => _head.Dimension;

    /// <summary>The pooling in use (modes, pooler, Dense layers, normalisation).</summary>
    public SentenceHeadSpec Head => _head.Spec;

    /// <summary>Longest input in tokens; longer inputs are truncated (the position table, sentence-transformers' <c>max_seq_length</c> or <see cref="SentenceEncoderOptions.MaxTokens"/>, whichever is smallest; <see cref="DefaultMaxTokens"/> when the option is unset).</summary>
    public int MaxTokens => _maxTokens;

    /// <summary>Whether embeddings are L2-normalised.</summary>
    public bool Normalize => _head.Spec.Normalize;

    /// <summary>The layer pooled (0 = embeddings … L = last).</summary>
    public int Layer => _layer;

    /// <summary>The tokenizer, or null when the encoder was built without one (token ids only).</summary>
    public ITokenizer? Tokenizer => _tokenizer;

    /// <summary>
    /// Loads a model folder: <c>config.json</c>, the weights (<c>model.safetensors</c>, a sharded index, or
    /// <c>onnx/*.onnx</c>), the tokenizer, and sentence-transformers modules when present.
    /// </summary>
    public static SentenceEncoder Load(string modelDirectory, SentenceEncoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        options ??= new SentenceEncoderOptions();
        var folder = ModelFolder.Open(modelDirectory);
        try
        {
            var head = SentenceHeadSpec.FromPipeline(folder.Pipeline);
            head = head with
            {
                Modes = options.Pooling is { } mode ? [mode] : options.UsePooler ? [SentencePoolingMode.Cls] : head.Modes,
                Pooler = options.UsePooler,
                Normalize = options.Normalize ?? head.Normalize,
            };
            // A folder without a tokenizer still serves token ids (EmbedIds, HiddenStates); Embed then says what is missing.
            var tokenizer = folder.TokenizerPath is { } tokenizerPath ? TokenizerLoader.Load(tokenizerPath, folder.TokenizerKind!.Value, folder.AllowedRoot) : null;
            if (tokenizer is not null)
            {
                RequireIdsFit(tokenizer, folder.TokenizerPath!, folder.Config, folder.WeightsPath);
            }

            var transformer = folder.Pipeline.Steps.OfType<TransformerStep>().FirstOrDefault();
            return Build(folder.Config, folder.Weights, folder, tokenizer, head, options, folder.WeightsPath, transformer?.MaxSequenceLength, transformer?.DoLowerCase ?? false);
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    /// <summary>Refuses a tokenizer that can emit an id the word embedding table has no row for, naming both files.</summary>
    private static void RequireIdsFit(Tokenizer tokenizer, string tokenizerPath, EncoderConfig config, string weightsPath)
    {
        var (min, max) = tokenizer.IdRange;
        if (min < 0 || max >= config.VocabularySize)
        {
            int id = min < 0 ? min : max;
            throw new ModelFormatException(tokenizerPath, null, $"can produce token id {id}, but the word embedding table of {weightsPath} has rows 0 to {config.VocabularySize - 1}; the tokenizer does not belong to these weights");
        }
    }

    /// <summary>
    /// Builds an encoder over already opened parts; takes ownership of <paramref name="weights"/> (disposed with the
    /// encoder, or at once when building fails). <paramref name="tokenizer"/> may be null for token-id input only.
    /// </summary>
    public static SentenceEncoder Create(EncoderConfig config, IModelWeights weights, ITokenizer? tokenizer, SentenceHeadSpec head, SentenceEncoderOptions? options = null, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(head);
        return Build(config, weights, weights, tokenizer, head, options ?? new SentenceEncoderOptions(), source, null, false);
    }

    private static SentenceEncoder Build(EncoderConfig config, IModelWeights weights, IDisposable owned, ITokenizer? tokenizer, SentenceHeadSpec head, SentenceEncoderOptions options, string? source, int? maxSequenceLength, bool lowerCase)
    {
        if (options.BatchTokens < 1)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"batch token budget {options.BatchTokens} must be at least 1");
        }

        if (options.MaxTokens is < 2)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"max tokens {options.MaxTokens} must be at least 2 (the special tokens around an input)");
        }

        IComputeBackend backend;
        try
        {
            backend = CreateBackend(options);
        }
        catch
        {
            owned.Dispose();
            throw;
        }

        TransformerEncoder? encoder = null;
        try
        {
            encoder = TransformerEncoder.Create(config, weights, backend, source);
            int layer = encoder.ResolveLayer(options.Layer);
            var sentenceHead = new SentenceHead(head, encoder);
            int modelMax = Math.Min(config.MaxSequenceLength, maxSequenceLength is > 1 and var m ? m : int.MaxValue);
            int maxTokens = Math.Min(modelMax, options.MaxTokens ?? DefaultMaxTokens);
            return new SentenceEncoder(owned, encoder, sentenceHead, tokenizer, layer, options.BatchTokens, maxTokens, lowerCase, source);
        }
        catch
        {
            encoder?.Dispose();
            backend.Dispose();
            owned.Dispose();
            throw;
        }
    }

    private static IComputeBackend CreateBackend(SentenceEncoderOptions options) =>
        ComputeBackends.Create(options.Backend, options.Device, options.Int8Activations);

    /// <summary>Embeds each text; row i of the result belongs to texts[i].</summary>
    /// <param name="texts">The inputs.</param>
    /// <param name="progress">Receives the number of inputs finished after each batch.</param>
    /// <param name="cancellationToken">Checked between batches and between the encoder's layers.</param>
    public SentenceEmbeddings Embed(ReadOnlySpan<string> texts, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var tokenizer = _tokenizer ?? throw new ModelFormatException(null, null, "the model folder has no tokenizer (tokenizer.json, vocab.txt or a SentencePiece .model); only token ids can be embedded");
        var ids = new int[texts.Length][];
        var types = new int[texts.Length][];
        long truncatedTokens = 0;
        int truncatedInputs = 0;
        for (int i = 0; i < texts.Length; i++)
        {
            var text = texts[i] ?? throw new ArgumentException($"text {i} is null", nameof(texts));
            var tokens = Tokenize(tokenizer, _lowerCase ? text.ToLowerInvariant() : text);
            ids[i] = tokens.Ids;
            types[i] = tokens.TypeIds;
            if (tokens.TruncatedTokens > 0)
            {
                truncatedInputs++;
                truncatedTokens += tokens.TruncatedTokens;
            }
        }

        var result = EmbedIds(ids, types, progress, cancellationToken);
        return new SentenceEmbeddings(result.Count, result.Dimension, result.Data, result.TruncatedInputs + truncatedInputs, result.TruncatedTokens + truncatedTokens, result.Tokens);
    }

    /// <summary>
    /// Embeds inputs given as token ids (special tokens included). Inputs longer than <see cref="MaxTokens"/> are cut to
    /// it, keeping the final (separator) token, and counted in the result.
    /// </summary>
    public SentenceEmbeddings EmbedIds(IReadOnlyList<int[]> ids, IReadOnlyList<int[]?>? typeIds = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        Enter();
        try
        {
            var (fitted, fittedTypes, truncatedInputs, truncatedTokens) = Fit(ids, typeIds);
            int dim = Dimension;
            var output = new float[(long)fitted.Length * dim];
            int done = 0;
            var workspace = RentWorkspace();
            try
            {
                foreach (var batch in EncoderBatchPlanner.Plan(fitted.Select(s => s.Length).ToArray(), _batchTokens))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var batchIds = batch.Select(i => fitted[i]).ToArray();
                    var batchTypes = batch.Select(i => fittedTypes[i]).ToArray();
                    var hidden = _encoder.Forward(batchIds, batchTypes, _layer, workspace, out int t, cancellationToken);
                    var lengths = batchIds.Select(s => s.Length).ToArray();
                    var pooled = _head.Apply(hidden, t, lengths, workspace);
                    var host = workspace.HostBuffer(batch.Length * dim);
                    _encoder.Backend.Download(pooled, host);
                    workspace.Reset();
                    for (int j = 0; j < batch.Length; j++)
                    {
                        RequireFinite(host.AsSpan(j * dim, dim), batch[j]);
                        host.AsSpan(j * dim, dim).CopyTo(output.AsSpan(batch[j] * dim, dim));
                    }

                    done += batch.Length;
                    progress?.Report(done);
                }
            }
            finally
            {
                ReturnWorkspace(workspace);
            }

            return new SentenceEmbeddings(fitted.Length, dim, output, truncatedInputs, truncatedTokens, fitted.Sum(s => (long)s.Length));
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Tokenizes <paramref name="text"/> and returns the hidden state of every token from <paramref name="layer"/> (default: the encoder's layer).</summary>
    public TokenEmbeddings EncodeTokens(string text, int? layer = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokenizer = _tokenizer ?? throw new ModelFormatException(null, null, "the model folder has no tokenizer (tokenizer.json, vocab.txt or a SentencePiece .model); only token ids can be encoded");
        var tokens = Tokenize(tokenizer, _lowerCase ? text.ToLowerInvariant() : text);
        int resolved = layer is { } l ? _encoder.ResolveLayer(l) : _layer;
        var (fitted, _, _, cut) = Fit([tokens.Ids], [tokens.TypeIds]);
        if (cut > 0)
        {
            tokens = Truncate(tokens, fitted[0].Length);
        }

        var states = HiddenStatesCore([tokens.Ids], [tokens.TypeIds], resolved)[0];
        return new TokenEmbeddings(tokens, resolved, Config.HiddenSize, states);
    }

    /// <summary>
    /// Hidden states of <paramref name="layer"/> (0 = embeddings … L, negative from the end) for each input of token ids,
    /// one row-major [length × Hidden] array per input. Inputs must fit the position table.
    /// </summary>
    public float[][] HiddenStates(IReadOnlyList<int[]> ids, IReadOnlyList<int[]?>? typeIds = null, int layer = -1)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return HiddenStatesCore(ids, typeIds, _encoder.ResolveLayer(layer));
    }

    /// <summary>
    /// Waits for the calls in progress on other threads, then releases the weights and the backend.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called on a thread that is itself inside a call on this encoder (for
    /// example from an <see cref="Embed"/> progress callback): that call could never finish, so Dispose refuses instead
    /// of waiting forever; dispose after the call returns.</exception>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            if (_activeThreads.ContainsKey(Environment.CurrentManagedThreadId))
            {
                throw new InvalidOperationException("SentenceEncoder.Dispose was called from inside a call on the same encoder (a progress callback?); dispose it after the call returns");
            }

            _disposed = true;
            while (_active > 0)
            {
                Monitor.Wait(_gate);
            }
        }

        while (_workspaces.TryTake(out var workspace))
        {
            workspace.Dispose();
        }

        _head.Dispose();
        _encoder.Dispose();
        _encoder.Backend.Dispose();
        _owned.Dispose();
    }

    private float[][] HiddenStatesCore(IReadOnlyList<int[]> ids, IReadOnlyList<int[]?>? typeIds, int layer)
    {
        Enter();
        try
        {
            int h = Config.HiddenSize;
            foreach (var seq in ids)
            {
                if (seq.Length > Config.MaxSequenceLength)
                {
                    throw new NativeAlignException(ErrorKind.Usage, $"an input of {seq.Length} tokens exceeds the model's position table ({Config.MaxSequenceLength})");
                }
            }

            var result = new float[ids.Count][];
            var workspace = RentWorkspace();
            try
            {
                foreach (var batch in EncoderBatchPlanner.Plan(ids.Select(s => s.Length).ToArray(), _batchTokens))
                {
                    var batchIds = batch.Select(i => ids[i]).ToArray();
                    var batchTypes = typeIds is null ? null : batch.Select(i => typeIds[i]).ToArray();
                    var hidden = _encoder.Forward(batchIds, batchTypes, layer, workspace, out int t);
                    var host = workspace.HostBuffer(hidden.Rows * h);
                    _encoder.Backend.Download(hidden, host);
                    workspace.Reset();
                    for (int j = 0; j < batch.Length; j++)
                    {
                        RequireFinite(host.AsSpan(j * t * h, batchIds[j].Length * h), batch[j]);
                        result[batch[j]] = host.AsSpan(j * t * h, batchIds[j].Length * h).ToArray();
                    }
                }
            }
            finally
            {
                ReturnWorkspace(workspace);
            }

            return result;
        }
        finally
        {
            Exit();
        }
    }

    // A long line costs work and memory in proportion to the part tokenized; the encoder keeps only the truncated
    // tokens, so the tokenizer's own bound applies (an ITokenizer of the caller's is used as it is).
    private static TokenizedText Tokenize(ITokenizer tokenizer, string text) =>
        tokenizer is Tokenizer bounded ? bounded.EncodeBounded(text) : tokenizer.Encode(text);

    /// <summary>
    /// Refuses an output with a NaN or infinity: written out, it would make every similarity NaN, and mining and
    /// alignment would then produce empty or meaningless results without a word.
    /// </summary>
    private void RequireFinite(ReadOnlySpan<float> values, int input)
    {
        if (FiniteCheck.IndexOfNonFinite(values) >= 0)
        {
            throw new NonFiniteOutputException(input, $"{(_source is null ? "" : _source + ": ")}input {input + 1}: the model's output has a NaN or infinity (its arithmetic overflowed: weights too large or corrupt); nothing is written for it");
        }
    }

    /// <summary>Cuts inputs longer than the position table to it, keeping the last (separator) token.</summary>
    private (int[][] Ids, int[]?[] Types, int TruncatedInputs, long TruncatedTokens) Fit(IReadOnlyList<int[]> ids, IReadOnlyList<int[]?>? typeIds)
    {
        int max = _maxTokens;
        var fitted = new int[ids.Count][];
        var fittedTypes = new int[]?[ids.Count];
        int inputs = 0;
        long tokens = 0;
        for (int i = 0; i < ids.Count; i++)
        {
            var seq = ids[i] ?? throw new ArgumentException($"input {i} is null", nameof(ids));
            var types = typeIds?[i];
            if (types is not null && types.Length != seq.Length)
            {
                throw new ArgumentException($"input {i}: {types.Length} token types for {seq.Length} ids", nameof(typeIds));
            }

            if (seq.Length > max)
            {
                inputs++;
                tokens += seq.Length - max;
                seq = [.. seq.AsSpan(0, max - 1), seq[^1]];
                types = types is null ? null : [.. types.AsSpan(0, max - 1), types[^1]];
            }

            fitted[i] = seq;
            fittedTypes[i] = types;
        }

        return (fitted, fittedTypes, inputs, tokens);
    }

    private static TokenizedText Truncate(TokenizedText t, int keep)
    {
        static T[] Cut<T>(T[] a, int keep) => [.. a.AsSpan(0, keep - 1), a[^1]];
        return new TokenizedText
        {
            Ids = Cut(t.Ids, keep),
            Tokens = Cut(t.Tokens, keep),
            TypeIds = Cut(t.TypeIds, keep),
            Offsets = Cut(t.Offsets, keep),
            WordIds = Cut(t.WordIds, keep),
            TruncatedTokens = t.TruncatedTokens + (t.Count - keep),
        };
    }

    /// <summary>A workspace of the pool (or a new one): concurrent calls each run on their own.</summary>
    private ActivationWorkspace RentWorkspace() => _workspaces.TryTake(out var workspace) ? workspace : new ActivationWorkspace(_encoder.Backend);

    private void ReturnWorkspace(ActivationWorkspace workspace)
    {
        workspace.Reset();
        _workspaces.Add(workspace);
    }

    private void Enter()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _active++;
            int thread = Environment.CurrentManagedThreadId;
            _activeThreads[thread] = _activeThreads.GetValueOrDefault(thread) + 1;
        }
    }

    private void Exit()
    {
        lock (_gate)
        {
            _active--;
            int thread = Environment.CurrentManagedThreadId;
            if (--_activeThreads[thread] == 0)
            {
                _activeThreads.Remove(thread);
            }

            if (_active == 0)
            {
                Monitor.PulseAll(_gate);
            }
        }
    }
}
