using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NativeAlign.Alignment.Sentences;
using NativeAlign.Alignment.Words;
using NativeAlign.Models;
using NativeAlign.Serving;

namespace NativeAlign.Server;

/// <summary>What <c>nativealign serve</c> listens on and the limits it enforces.</summary>
public sealed record EmbeddingServerOptions
{
    /// <summary>Address to bind (default loopback only).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Port; 0 picks a free one (see <see cref="EmbeddingServer.Addresses"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>The model name reported by <c>/info</c> and <c>/v1/embeddings</c>.</summary>
    public string ModelId { get; init; } = "nativealign";

    /// <summary>Largest request body in bytes; a larger one is answered 413 before it is read. Default 4 MiB.</summary>
    public long MaxBodyBytes { get; init; } = 4 << 20;

    /// <summary>Most inputs in one request (TEI's <c>max_client_batch_size</c>); more is answered 413. Default 256.</summary>
    public int MaxInputs { get; init; } = 256;

    /// <summary>Whether over-long inputs are cut when the request does not say (TEI's <c>--auto-truncate</c>). Default false.</summary>
    public bool AutoTruncate { get; init; }

    /// <summary>How long a stop waits for requests in flight before it cuts them off. Default 30 s.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Lines that <c>/search</c> ranks queries against, embedded once when the server is created (null: no <c>/search</c>).
    /// </summary>
    public IReadOnlyList<string>? Corpus { get; init; }

    /// <summary>The batching engine's limits (token budget, bounded wait, queue bound).</summary>
    public EmbeddingBatcherOptions Batching { get; init; } = new();
}

/// <summary>
/// The HTTP server of <c>nativealign serve</c> over one loaded <see cref="SentenceEncoder"/>: Hugging Face
/// text-embeddings-inference's routes (<c>/embed</c>, <c>/embed_all</c>, <c>/tokenize</c>, <c>/similarity</c>,
/// <c>/info</c>, <c>/health</c>, <c>/metrics</c>) and OpenAI's <c>/v1/embeddings</c>, all sentence requests merged by an
/// <see cref="EmbeddingBatcher"/>. Built on Kestrel with the slim builder, request delegates and source-generated JSON,
/// so that it runs in the NativeAOT binary. Stopping drains: the listener closes, requests in flight finish, then the
/// batcher's queue empties.
/// </summary>
public sealed class EmbeddingServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EmbeddingBatcher _batcher;
    private readonly SentenceEncoder _encoder;
    private readonly EmbeddingServerOptions _options;
    private readonly string[] _corpus;
    private readonly float[] _corpusVectors;
    private volatile bool _stopping;
    private bool _stopped;

    private EmbeddingServer(WebApplication app, EmbeddingBatcher batcher, SentenceEncoder encoder, EmbeddingServerOptions options, ServerMetrics metrics)
    {
        _corpus = options.Corpus is { } corpus ? [.. corpus] : [];
        _corpusVectors = _corpus.Length == 0 ? [] : encoder.Embed(_corpus).Data;
        TopKSearch.Normalize(_corpusVectors, _corpus.Length, encoder.Dimension);
        _app = app;
        _batcher = batcher;
        _encoder = encoder;
        _options = options;
        Metrics = metrics;
    }

    internal ServerMetrics Metrics { get; }

    internal EmbeddingBatcher Batcher => _batcher;

    /// <summary>The addresses Kestrel listens on, once started (with the real port when 0 was asked).</summary>
    public IReadOnlyList<string> Addresses =>
        [.. _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []];

    /// <summary>Builds the server over <paramref name="encoder"/>, which it uses but does not dispose.</summary>
    public static EmbeddingServer Create(SentenceEncoder encoder, EmbeddingServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        options ??= new EmbeddingServerOptions();
        if (options.MaxInputs < 1 || options.MaxBodyBytes < 1)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"--max-inputs ({options.MaxInputs}) and --max-body-bytes ({options.MaxBodyBytes}) must be positive");
        }

        if (!IPAddress.TryParse(options.Host, out var address) && options.Host != "localhost")
        {
            throw new NativeAlignException(ErrorKind.Usage, $"--host '{options.Host}' is not an IP address (use 127.0.0.1, 0.0.0.0, ::1 or localhost)");
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.DrainTimeout);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            k.AddServerHeader = false;
            if (address is null)
            {
                k.ListenLocalhost(options.Port);
            }
            else
            {
                k.Listen(address, options.Port);
            }
        });

        var metrics = new ServerMetrics();
        var batching = options.Batching with { OnBatch = Chain(options.Batching.OnBatch, metrics.Batch) };
        var batcher = new EmbeddingBatcher(encoder, batching);
        metrics.QueueDepth = () => batcher.QueuedInputs;
        var app = builder.Build();
        var server = new EmbeddingServer(app, batcher, encoder, options, metrics);
        server.Map();
        return server;
    }

    /// <summary>Starts listening.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default) => _app.StartAsync(cancellationToken);

    /// <summary>
    /// Stops gracefully: no new connections, requests in flight answered (within <see cref="EmbeddingServerOptions.DrainTimeout"/>),
    /// then the batcher drained.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        _stopping = true;
        await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        await _batcher.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Starts, runs until <paramref name="stop"/> is cancelled (SIGTERM, Ctrl-C), then stops gracefully.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        await StartAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The signal to stop: drain below.
        }

        await StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static Action<int, long, TimeSpan> Chain(Action<int, long, TimeSpan>? first, Action<int, long, TimeSpan> second) =>
        first is null ? second : (i, t, e) => { first(i, t, e); second(i, t, e); };

    private void Map()
    {
        _app.Lifetime.ApplicationStopping.Register(() => _stopping = true);
        _app.Use(async (context, next) =>
        {
            string route = context.Request.Path.Value switch
            {
                "/embed" or "/embed_all" or "/tokenize" or "/similarity" or "/search" or "/align" or "/v1/embeddings" or "/embeddings" or "/health" or "/info" or "/metrics" => context.Request.Path.Value!,
                _ => "other",
            };
            var started = Stopwatch.GetTimestamp();
            Metrics.RequestStarted();
            try
            {
                await next(context).ConfigureAwait(false);
            }
            finally
            {
                Metrics.RequestFinished(route, context.Response.StatusCode, Stopwatch.GetElapsedTime(started));
            }
        });

        _app.MapPost("/embed", context => Handle(context, Tei, EmbedAsync));
        _app.MapPost("/embed_all", context => Handle(context, Tei, EmbedAllAsync));
        _app.MapPost("/tokenize", context => Handle(context, Tei, TokenizeAsync));
        _app.MapPost("/similarity", context => Handle(context, Tei, SimilarityAsync));
        _app.MapPost("/search", context => Handle(context, Tei, SearchAsync));
        _app.MapPost("/align", context => Handle(context, Tei, AlignAsync));
        _app.MapPost("/v1/embeddings", context => Handle(context, OpenAI, OpenAIEmbeddingsAsync));
        _app.MapPost("/embeddings", context => Handle(context, OpenAI, OpenAIEmbeddingsAsync));
        _app.MapGet("/health", context =>
        {
            if (_stopping)
            {
                return WriteError(context, Tei, new RequestError(StatusCodes.Status503ServiceUnavailable, "Unhealthy", "the server is shutting down"));
            }

            context.Response.StatusCode = StatusCodes.Status200OK;
            return Task.CompletedTask;
        });
        _app.MapGet("/info", context => WriteJson(context, new InfoResponse
        {
            ModelId = _options.ModelId,
            ModelType = new() { ["embedding"] = new() { ["pooling"] = string.Join("+", _encoder.Head.Modes).ToLowerInvariant() } },
            MaxConcurrentRequests = _options.Batching.MaxQueuedInputs,
            MaxInputLength = _encoder.MaxTokens,
            MaxBatchTokens = _options.Batching.MaxBatchTokens,
            MaxClientBatchSize = _options.MaxInputs,
            AutoTruncate = _options.AutoTruncate,
            TokenizationWorkers = Environment.ProcessorCount,
            Version = typeof(EmbeddingServer).Assembly.GetName().Version?.ToString() ?? "0",
        }, ServerJsonContext.Default.InfoResponse));
        _app.MapGet("/metrics", context =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            return context.Response.WriteAsync(Metrics.Render());
        });
    }

    // ---- TEI routes ----

    private async Task EmbedAsync(HttpContext context)
    {
        var request = await ReadAsync(context, ServerJsonContext.Default.EmbedRequest).ConfigureAwait(false);
        var inputs = RequireInputs(request.Inputs, "inputs");
        RefusePrompt(request.PromptName);
        var embeddings = await BatchAsync(inputs, request.Truncate, context.RequestAborted).ConfigureAwait(false);
        await WriteRowsAsync(context, embeddings, request.Normalize, embeddings.Dimension).ConfigureAwait(false);
    }

    private async Task EmbedAllAsync(HttpContext context)
    {
        var request = await ReadAsync(context, ServerJsonContext.Default.EmbedRequest).ConfigureAwait(false);
        var inputs = RequireInputs(request.Inputs, "inputs");
        RefusePrompt(request.PromptName);
        bool truncate = request.Truncate ?? _options.AutoTruncate;
        var ids = new int[inputs.Length][];
        for (int i = 0; i < inputs.Length; i++)
        {
            var tokens = _encoder.Tokenize(inputs[i]);
            if (!truncate && tokens.TruncatedTokens > 0)
            {
                throw new InputTooLongException(i, tokens.Count + tokens.TruncatedTokens, _encoder.MaxTokens);
            }

            ids[i] = tokens.Ids;
        }

        // Token states are not pooled, so they do not go through the sentence batcher; the encoder runs them as one call.
        var states = await Task.Run(() => _encoder.HiddenStates(ids, layer: _encoder.Layer), context.RequestAborted).ConfigureAwait(false);
        int hidden = _encoder.Config.HiddenSize;
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        writer.WriteStartArray();
        foreach (var rows in states)
        {
            writer.WriteStartArray();
            for (int t = 0; t < rows.Length / hidden; t++)
            {
                writer.WriteStartArray();
                foreach (float v in rows.AsSpan(t * hidden, hidden))
                {
                    writer.WriteNumberValue(v);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndArray();
            await FlushIfLargeAsync(writer).ConfigureAwait(false);
        }

        writer.WriteEndArray();
        await writer.FlushAsync().ConfigureAwait(false);
    }

    private async Task TokenizeAsync(HttpContext context)
    {
        var request = await ReadAsync(context, ServerJsonContext.Default.TokenizeRequest).ConfigureAwait(false);
        var inputs = RequireInputs(request.Inputs, "inputs");
        RefusePrompt(request.PromptName);
        var result = new SimpleToken[inputs.Length][];
        for (int i = 0; i < inputs.Length; i++)
        {
            var tokens = _encoder.Tokenize(inputs[i]);
            var list = new List<SimpleToken>(tokens.Count);
            for (int t = 0; t < tokens.Count; t++)
            {
                var span = tokens.Offsets[t];
                bool special = span.Length == 0 && tokens.WordIds[t] < 0;
                if (special && !request.AddSpecialTokens)
                {
                    continue;
                }

                // Offsets are UTF-16 code units of the input; the text is the input's own span (TEI's convention), the
                // vocabulary string for special tokens.
                list.Add(new SimpleToken
                {
                    Id = tokens.Ids[t],
                    Text = special || span.End > inputs[i].Length ? tokens.Tokens[t] : inputs[i][span.Start..span.End],
                    Special = special,
                    Start = special ? null : span.Start,
                    Stop = special ? null : span.End,
                });
            }

            result[i] = [.. list];
        }

        await WriteJson(context, result, ServerJsonContext.Default.SimpleTokenArrayArray).ConfigureAwait(false);
    }

    private async Task SimilarityAsync(HttpContext context)
    {
        var request = await ReadAsync(context, ServerJsonContext.Default.SimilarityRequest).ConfigureAwait(false);
        var source = request.Inputs?.SourceSentence ?? throw new RequestError(StatusCodes.Status422UnprocessableEntity, "Validation", "inputs.source_sentence is required");
        var sentences = request.Inputs.Sentences ?? throw new RequestError(StatusCodes.Status422UnprocessableEntity, "Validation", "inputs.sentences is required");
        RefusePrompt(request.Parameters?.PromptName);
        RequireInputs([source, .. sentences], "inputs.sentences");
        var embeddings = await BatchAsync([source, .. sentences], request.Parameters?.Truncate, context.RequestAborted).ConfigureAwait(false);
        var scores = new float[sentences.Length];
        for (int i = 0; i < scores.Length; i++)
        {
            scores[i] = (float)VectorMath.Cosine(embeddings[0], embeddings[i + 1]);
        }

        await WriteJson(context, scores, ServerJsonContext.Default.SingleArray).ConfigureAwait(false);
    }

    private async Task SearchAsync(HttpContext context)
    {
        var request = await ReadAsync(context, ServerJsonContext.Default.SearchRequest).ConfigureAwait(false);
        if (_corpus.Length == 0)
        {
            throw new RequestError(StatusCodes.Status422UnprocessableEntity, "Validation", "this server holds no corpus to search; start it with --corpus FILE");
        }

        var queries = RequireInputs(request.Queries, "queries");
        if (request.K < 1)
        {
            throw new RequestError(StatusCodes.Status422UnprocessableEntity, "Validation", $"k {request.K} must be at least 1", "k");
        }

        int k = Math.Min(request.K, _corpus.Length);
        var embedded = await BatchAsync(queries, truncate: true, context.RequestAborted).ConfigureAwait(false);
        var vectors = embedded.Data;
        TopKSearch.Normalize(vectors, embedded.Count, embedded.Dimension);
        var found = TopKSearch.Search(vectors, embedded.Count, _corpusVectors, _corpus.Length, embedded.Dimension, k);
        var result = new SearchHit[queries.Length][];
        for (int q = 0; q < queries.Length; q++)
        {
            var indices = found.IndicesOf(q);
            var scores = found.ScoresOf(q);
            result[q] = new SearchHit[k];
            for (int j = 0; j < k; j++)
            {
                result[q][j] = new SearchHit { Index = (int)indices[j], Score = scores[j], Text = _corpus[(int)indices[j]] };
            }
        }

        await WriteJson(context, result, ServerJsonContext.Default.SearchHitArrayArray).ConfigureAwait(false);
    }

    private async Task AlignAsync(HttpContext context)
    {
        var request = await ReadAsync(context, ServerJsonContext.Default.AlignRequest).ConfigureAwait(false);
        var sources = RequireInputs(request.Source, "source");
        var targets = RequireInputs(request.Target, "target");
        if (sources.Length != targets.Length)
        {
            throw new RequestError(StatusCodes.Status422UnprocessableEntity, "Validation", $"{sources.Length} sources but {targets.Length} targets; they are aligned pair by pair", "target");
        }

        string methodName = request.Method ?? "itermax";
        if (!Enum.TryParse<WordAlignmentMethod>(methodName, ignoreCase: true, out var method) || !Enum.IsDefined(method) || methodName.Any(char.IsDigit))
        {
            throw new RequestError(StatusCodes.Status422UnprocessableEntity, "Validation", $"method '{methodName}' is not one of argmax, itermax, match, softmax, ot, uot, pot", "method");
        }

        TextAligner aligner;
        try
        {
            aligner = new TextAligner(_encoder, new TextAlignerOptions { Layer = request.Layer, Aligner = new WordAlignerOptions { Method = method } });
        }
        catch (NativeAlignException e)
        {
            throw new RequestError(StatusCodes.Status422UnprocessableEntity, "Validation", e.Message, "layer");
        }

        // Word alignment needs token states of a middle layer, not sentence vectors, so it runs beside the batcher.
        var aligned = await Task.Run(() => aligner.AlignBatch(sources, targets, null, context.RequestAborted), context.RequestAborted).ConfigureAwait(false);
        var result = aligned.Select(a => new AlignResult
        {
            Alignment = string.Join(" ", a.Links.Select(l => $"{l.Source}-{l.Target}")),
            Links = [.. a.Links.Select(l => new AlignLink { Source = l.Source, Target = l.Target, Score = l.Score })],
            SourceWords = a.SourceWords,
            TargetWords = a.TargetWords,
        }).ToArray();
        await WriteJson(context, result, ServerJsonContext.Default.AlignResultArray).ConfigureAwait(false);
    }

    // ---- OpenAI route ----

    private async Task OpenAIEmbeddingsAsync(HttpContext context)
    {
        var request = await ReadAsync(context, ServerJsonContext.Default.OpenAIEmbeddingRequest).ConfigureAwait(false);
        var inputs = RequireInputs(request.Input, "input");
        bool base64 = request.EncodingFormat switch
        {
            null or "float" => false,
            "base64" => true,
            var other => throw new RequestError(StatusCodes.Status422UnprocessableEntity, "Validation", $"encoding_format '{other}' is not supported (float or base64)", "encoding_format"),
        };
        int dimensions = request.Dimensions ?? _encoder.Dimension;
        if (dimensions < 1 || dimensions > _encoder.Dimension)
        {
            throw new RequestError(StatusCodes.Status422UnprocessableEntity, "Validation", $"dimensions {dimensions} must be between 1 and the model's {_encoder.Dimension}", "dimensions");
        }

        // OpenAI's route has no truncate flag; its clients expect long inputs to be handled, so they are cut.
        var embeddings = await BatchAsync(inputs, truncate: true, context.RequestAborted).ConfigureAwait(false);
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteString("object", "list");
        writer.WriteStartArray("data");
        var row = new float[dimensions];
        for (int i = 0; i < embeddings.Count; i++)
        {
            embeddings[i][..dimensions].CopyTo(row);
            VectorMath.NormalizeInPlace(row);
            writer.WriteStartObject();
            writer.WriteString("object", "embedding");
            writer.WriteNumber("index", i);
            if (base64)
            {
                // Little-endian float32 bytes, as OpenAI's base64 encoding (x86 and ARM are little-endian).
                writer.WriteBase64String("embedding", MemoryMarshal.AsBytes(row.AsSpan()));
            }
            else
            {
                writer.WriteStartArray("embedding");
                foreach (float v in row)
                {
                    writer.WriteNumberValue(v);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            await FlushIfLargeAsync(writer).ConfigureAwait(false);
        }

        writer.WriteEndArray();
        writer.WriteString("model", request.Model ?? _options.ModelId);
        writer.WriteStartObject("usage");
        writer.WriteNumber("prompt_tokens", embeddings.Tokens);
        writer.WriteNumber("total_tokens", embeddings.Tokens);
        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync().ConfigureAwait(false);
    }

    // ---- shared ----

    private Task<SentenceEmbeddings> BatchAsync(string[] inputs, bool? truncate, CancellationToken cancel) =>
        _batcher.EmbedAsync(inputs, truncate ?? _options.AutoTruncate, cancel);

    private async Task WriteRowsAsync(HttpContext context, SentenceEmbeddings embeddings, bool normalize, int dimensions)
    {
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        writer.WriteStartArray();
        var row = new float[dimensions];
        for (int i = 0; i < embeddings.Count; i++)
        {
            embeddings[i][..dimensions].CopyTo(row);
            if (normalize)
            {
                VectorMath.NormalizeInPlace(row);
            }

            writer.WriteStartArray();
            foreach (float v in row)
            {
                writer.WriteNumberValue(v);
            }

            writer.WriteEndArray();
            await FlushIfLargeAsync(writer).ConfigureAwait(false);
        }

        writer.WriteEndArray();
        await writer.FlushAsync().ConfigureAwait(false);
    }

    private static async ValueTask FlushIfLargeAsync(Utf8JsonWriter writer)
    {
        if (writer.BytesPending > 64 << 10)
        {
            await writer.FlushAsync().ConfigureAwait(false);
        }
    }

    private string[] RequireInputs(string[]? inputs, string field)
    {
        if (inputs is null)
        {
            throw new RequestError(StatusCodes.Status422UnprocessableEntity, "Validation", $"{field} is required", field);
        }

        if (inputs.Length == 0)
        {
            throw new RequestError(StatusCodes.Status422UnprocessableEntity, "Validation", $"{field} is empty", field);
        }

        if (inputs.Length > _options.MaxInputs)
        {
            throw new RequestError(StatusCodes.Status413PayloadTooLarge, "Validation", $"{inputs.Length} inputs exceed the limit of {_options.MaxInputs} per request (max_client_batch_size, --max-inputs)", field);
        }

        return inputs;
    }

    private static void RefusePrompt(string? promptName)
    {
        if (promptName is not null)
        {
            throw new RequestError(StatusCodes.Status422UnprocessableEntity, "Validation", $"prompt_name '{promptName}' is not supported; prepend the prompt to the text", "prompt_name");
        }
    }

    private async Task<T> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type)
        where T : class
    {
        if (context.Request.ContentLength is { } length && length > _options.MaxBodyBytes)
        {
            // The body is left unread, so the connection cannot carry another request: say so, or a client's pool
            // would send its next request on a connection the server is closing.
            context.Response.Headers.Connection = "close";
            throw BodyTooLarge(length);
        }

        try
        {
            return await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted).ConfigureAwait(false)
                ?? throw new RequestError(StatusCodes.Status422UnprocessableEntity, "Validation", "the body is JSON null; expected an object");
        }
        catch (JsonException e)
        {
            throw new RequestError(StatusCodes.Status422UnprocessableEntity, "Validation", $"malformed JSON body: {e.Message}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            context.Response.Headers.Connection = "close";
            throw BodyTooLarge(null);
        }
    }

    private RequestError BodyTooLarge(long? length) => new(
        StatusCodes.Status413PayloadTooLarge,
        "Validation",
        $"the request body{(length is { } n ? $" of {n} bytes" : "")} exceeds the limit of {_options.MaxBodyBytes} bytes (--max-body-bytes)");

    private async Task Handle(HttpContext context, Flavour flavour, Func<HttpContext, Task> handler)
    {
        RequestError? error;
        try
        {
            await handler(context).ConfigureAwait(false);
            return;
        }
        catch (RequestError e)
        {
            error = e;
        }
        catch (ServingOverloadedException e)
        {
            error = e.ShuttingDown
                ? new RequestError(StatusCodes.Status503ServiceUnavailable, "Unhealthy", e.Message)
                : new RequestError(StatusCodes.Status429TooManyRequests, "Overloaded", e.Message);
        }
        catch (InputTooLongException e)
        {
            error = new RequestError(StatusCodes.Status413PayloadTooLarge, "Validation", e.Message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody reads an answer.
            return;
        }
        catch (NativeAlignException e)
        {
            error = new RequestError(StatusCodes.Status424FailedDependency, "Backend", e.Message);
        }

        if (context.Response.HasStarted)
        {
            // Part of the answer is out: only cutting the connection tells the client it is incomplete.
            context.Abort();
            return;
        }

        await WriteError(context, flavour, error).ConfigureAwait(false);
    }

    private static Task WriteError(HttpContext context, Flavour flavour, RequestError error)
    {
        context.Response.StatusCode = error.Status;
        if (error.Status == StatusCodes.Status429TooManyRequests)
        {
            context.Response.Headers.RetryAfter = "1";
        }

        return flavour == OpenAI
            ? WriteJson(context, new OpenAIErrorResponse { Error = new OpenAIError { Message = error.Message, Type = OpenAIType(error.Status), Param = error.Param, Code = error.ErrorType.ToLowerInvariant() } }, ServerJsonContext.Default.OpenAIErrorResponse)
            : WriteJson(context, new ErrorResponse { Error = error.Message, ErrorType = error.ErrorType }, ServerJsonContext.Default.ErrorResponse);
    }

    private static string OpenAIType(int status) => status switch
    {
        StatusCodes.Status429TooManyRequests => "rate_limit_error",
        StatusCodes.Status503ServiceUnavailable or StatusCodes.Status424FailedDependency => "server_error",
        _ => "invalid_request_error",
    };

    private static async Task WriteJson<T>(HttpContext context, T value, JsonTypeInfo<T> type)
    {
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted).ConfigureAwait(false);
    }

    private const Flavour Tei = Flavour.Tei;
    private const Flavour OpenAI = Flavour.OpenAI;

    private enum Flavour
    {
        Tei,
        OpenAI,
    }

    /// <summary>A request answered with an error status and a JSON body.</summary>
    private sealed class RequestError(int status, string errorType, string message, string? param = null) : Exception(message)
    {
        public int Status { get; } = status;

        public string ErrorType { get; } = errorType;

        public string? Param { get; } = param;
    }
}
