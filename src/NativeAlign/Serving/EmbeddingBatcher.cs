using System.Diagnostics;
using System.Threading.Channels;
using NativeAlign.Models;

namespace NativeAlign.Serving;

/// <summary>Limits and timing of an <see cref="EmbeddingBatcher"/>.</summary>
public sealed record EmbeddingBatcherOptions
{
    /// <summary>
    /// Most tokens one merged batch holds (inputs × their own lengths); requests are taken from the queue until the next
    /// would pass it. A single request larger than the budget still runs, alone. Default 8192.
    /// </summary>
    public int MaxBatchTokens { get; init; } = 8192;

    /// <summary>
    /// How long the worker waits for requests that are still being read and tokenized before it runs a batch that is
    /// under budget. It only waits while such requests exist, so a lone client never pays it. Default 2 ms.
    /// </summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// Most inputs waiting in the queue (not counting the batch running); a request that would pass it is refused at
    /// once with <see cref="ServingOverloadedException"/> instead of waiting without bound. Default 4096.
    /// </summary>
    public int MaxQueuedInputs { get; init; } = 4096;

    /// <summary>Called after every batch with its inputs, tokens and run time (for metrics); must be cheap and not throw.</summary>
    public Action<int, long, TimeSpan>? OnBatch { get; init; }
}

/// <summary>A request refused because the queue is full, or because the batcher is shutting down.</summary>
public sealed class ServingOverloadedException : NativeAlignException
{
    /// <summary>Creates the error.</summary>
    public ServingOverloadedException(string message, bool shuttingDown)
        : base(ErrorKind.Backend, message) => ShuttingDown = shuttingDown;

    /// <summary>True when the batcher no longer takes requests (draining), false when its queue was full.</summary>
    public bool ShuttingDown { get; }
}

/// <summary>An input longer than the model takes, refused because the caller asked for no truncation.</summary>
public sealed class InputTooLongException : NativeAlignException
{
    /// <summary>Creates the error for input <paramref name="index"/> of <paramref name="tokens"/> tokens (at least).</summary>
    public InputTooLongException(int index, int tokens, int maxTokens)
        : base(ErrorKind.Usage, $"input {index} has {tokens} tokens (at least); the model takes at most {maxTokens}; send truncate=true to cut it")
    {
        Index = index;
        MaxTokens = maxTokens;
    }

    /// <summary>Which input.</summary>
    public int Index { get; }

    /// <summary>The model's limit.</summary>
    public int MaxTokens { get; }
}

/// <summary>
/// Dynamic batching for a <see cref="SentenceEncoder"/>: requests from many concurrent callers are tokenized on the
/// callers' threads, queued, and merged by one worker into batches up to a token budget, so that 64 clients sending one
/// sentence each cost about what one call with 64 sentences costs, instead of 64 calls each paying the encoder's
/// per-call overhead and fighting over the cores. The queue is bounded (a full one refuses at once); disposal drains it.
/// </summary>
public sealed class EmbeddingBatcher : IAsyncDisposable
{
    private readonly SentenceEncoder _encoder;
    private readonly EmbeddingBatcherOptions _options;
    private readonly Channel<Request> _queue = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _worker;
    private readonly object _admission = new();
    private int _queuedInputs;
    private int _arriving;
    private bool _closed;
    private Request? _carried;

    /// <summary>Starts the worker over <paramref name="encoder"/>, which the batcher uses but does not own.</summary>
    public EmbeddingBatcher(SentenceEncoder encoder, EmbeddingBatcherOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        _encoder = encoder;
        _options = options ?? new EmbeddingBatcherOptions();
        if (_options.MaxBatchTokens < 1 || _options.MaxQueuedInputs < 1 || _options.MaxWait < TimeSpan.Zero)
        {
            throw new NativeAlignException(ErrorKind.Usage, $"batcher limits must be positive (batch tokens {_options.MaxBatchTokens}, queued inputs {_options.MaxQueuedInputs}, wait {_options.MaxWait})");
        }

        _worker = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>The encoder batches run on.</summary>
    public SentenceEncoder Encoder => _encoder;

    /// <summary>Inputs waiting in the queue now.</summary>
    public int QueuedInputs => Volatile.Read(ref _queuedInputs);

    /// <summary>
    /// While closed, the worker waits before each batch: tests fill the queue deterministically behind it.
    /// </summary>
    internal ManualResetEventSlim? Gate { get; set; }

    /// <summary>
    /// Embeds <paramref name="texts"/> in whatever batch the worker forms next; row i of the result belongs to texts[i].
    /// Texts are tokenized here, on the caller's thread, so that many callers tokenize in parallel while the worker runs.
    /// </summary>
    /// <param name="texts">The inputs.</param>
    /// <param name="truncate">Whether inputs longer than <see cref="SentenceEncoder.MaxTokens"/> are cut (true) or refused
    /// with an <see cref="InputTooLongException"/> (false).</param>
    /// <param name="cancellationToken">A request cancelled while queued is dropped before its batch runs.</param>
    /// <exception cref="ServingOverloadedException">The queue holds <see cref="EmbeddingBatcherOptions.MaxQueuedInputs"/>
    /// already, or the batcher is draining.</exception>
    public Task<SentenceEmbeddings> EmbedAsync(IReadOnlyList<string> texts, bool truncate = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        Interlocked.Increment(ref _arriving);
        try
        {
            var ids = new int[texts.Count][];
            for (int i = 0; i < ids.Length; i++)
            {
                var tokens = _encoder.Tokenize(texts[i] ?? throw new ArgumentException($"text {i} is null", nameof(texts)));
                if (!truncate && tokens.TruncatedTokens > 0)
                {
                    throw new InputTooLongException(i, tokens.Count + tokens.TruncatedTokens, _encoder.MaxTokens);
                }

                ids[i] = tokens.Ids;
            }

            return EmbedIdsAsync(ids, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _arriving);
        }
    }

    /// <summary>As <see cref="EmbedAsync"/> for inputs already tokenized with <see cref="SentenceEncoder.Tokenize(string)"/>.</summary>
    public Task<SentenceEmbeddings> EmbedIdsAsync(IReadOnlyList<int[]> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
        {
            return Task.FromResult(_encoder.EmbedIds([]));
        }

        var request = new Request(ids, ids.Sum(s => (long)s.Length), cancellationToken);
        lock (_admission)
        {
            if (_closed)
            {
                throw new ServingOverloadedException("the server is shutting down and takes no new requests", shuttingDown: true);
            }

            if (_queuedInputs + ids.Count > _options.MaxQueuedInputs)
            {
                throw new ServingOverloadedException($"the queue is full ({_queuedInputs} inputs waiting, limit {_options.MaxQueuedInputs}); retry later", shuttingDown: false);
            }

            _queuedInputs += ids.Count;
            _queue.Writer.TryWrite(request);
        }

        return request.Result.Task;
    }

    /// <summary>Refuses new requests, lets the queued ones finish, and waits for the worker; the encoder stays open.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_admission)
        {
            _closed = true;
            _queue.Writer.TryComplete();
        }

        Gate?.Set();
        await _worker.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var batch = new List<Request>();
        while (true)
        {
            batch.Clear();
            var first = _carried;
            _carried = null;
            if (first is null)
            {
                if (!await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
                {
                    return;
                }

                if (!_queue.Reader.TryRead(out first))
                {
                    continue;
                }
            }

            Gate?.Wait();
            batch.Add(first);
            long tokens = first.Tokens;
            var deadline = Stopwatch.GetTimestamp() + (long)(_options.MaxWait.TotalSeconds * Stopwatch.Frequency);
            while (tokens < _options.MaxBatchTokens)
            {
                if (_queue.Reader.TryRead(out var next))
                {
                    if (tokens + next.Tokens > _options.MaxBatchTokens)
                    {
                        _carried = next;
                        break;
                    }

                    batch.Add(next);
                    tokens += next.Tokens;
                    continue;
                }

                // Requests still being parsed and tokenized will be queued in a moment: wait for them (bounded) rather
                // than run a small batch now and make them wait a whole batch.
                if (Volatile.Read(ref _arriving) == 0 || Stopwatch.GetTimestamp() >= deadline)
                {
                    break;
                }

                Thread.Yield();
            }

            lock (_admission)
            {
                _queuedInputs -= batch.Sum(r => r.Ids.Count);
            }

            Run(batch, tokens);
        }
    }

    private void Run(List<Request> batch, long tokens)
    {
        batch.RemoveAll(r =>
        {
            if (r.Cancel.IsCancellationRequested)
            {
                r.Result.TrySetCanceled(r.Cancel);
                return true;
            }

            return false;
        });
        if (batch.Count == 0)
        {
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var all = batch.SelectMany(r => r.Ids).ToArray();
        SentenceEmbeddings merged;
        try
        {
            merged = _encoder.EmbedIds(all);
        }
        catch (Exception) when (batch.Count > 1)
        {
            // One request's input made the batch fail (a non-finite output, say): run each alone, so only that request
            // gets the error.
            foreach (var r in batch)
            {
                try
                {
                    r.Result.TrySetResult(_encoder.EmbedIds(r.Ids));
                }
                catch (Exception e)
                {
                    r.Result.TrySetException(e);
                }
            }

            return;
        }
        catch (Exception e)
        {
            batch[0].Result.TrySetException(e);
            return;
        }

        _options.OnBatch?.Invoke(all.Length, tokens, Stopwatch.GetElapsedTime(started));
        int row = 0, dim = merged.Dimension;
        foreach (var r in batch)
        {
            int n = r.Ids.Count;
            var data = merged.Data.AsSpan(row * dim, n * dim).ToArray();
            r.Result.TrySetResult(new SentenceEmbeddings(n, dim, data, 0, 0, r.Tokens));
            row += n;
        }
    }

    private sealed class Request(IReadOnlyList<int[]> ids, long tokens, CancellationToken cancel)
    {
        public IReadOnlyList<int[]> Ids { get; } = ids;

        public long Tokens { get; } = tokens;

        public CancellationToken Cancel { get; } = cancel;

        public TaskCompletionSource<SentenceEmbeddings> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
