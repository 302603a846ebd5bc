using System.CommandLine;
using NativeAlign.Cli.IO;
using NativeAlign.Models;
using NativeAlign.Server;
using NativeAlign.Serving;

namespace NativeAlign.Cli.Commands;

/// <summary><c>nativealign serve</c>: TEI- and OpenAI-compatible embedding HTTP server with dynamic batching.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var model = EmbedCommand.ModelOption();
        var host = new Option<string>("--host") { Description = "Address to listen on (0.0.0.0 for every interface).", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port", "-p") { Description = "TCP port (0: any free port, printed at start).", DefaultValueFactory = _ => 8080 };
        var modelId = new Option<string?>("--model-id") { Description = "Name reported by /info and /v1/embeddings (default: the --model argument)." };
        var batchTokens = new Option<int>("--max-batch-tokens") { Description = "Token budget of one merged batch (inputs × their lengths).", DefaultValueFactory = _ => 8192 };
        var maxWait = new Option<double>("--max-wait-ms") { Description = "Longest wait, in milliseconds, for requests still arriving before a batch under budget runs.", DefaultValueFactory = _ => 2 };
        var maxQueue = new Option<int>("--max-queued-inputs") { Description = "Inputs allowed to wait for a batch; past it requests are answered 429 at once.", DefaultValueFactory = _ => 4096 };
        var maxInputs = new Option<int>("--max-inputs") { Description = "Most inputs per request (more: 413).", DefaultValueFactory = _ => 256 };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "Largest request body in bytes (more: 413).", DefaultValueFactory = _ => 4 << 20 };
        var autoTruncate = new Option<bool>("--auto-truncate") { Description = "Cut over-long inputs when a TEI request does not say truncate (default: refuse them with 413)." };
        var threads = new Option<int?>("--threads") { Description = "Most CPU threads the encoder uses (default: every core, or NATIVEALIGN_THREADS)." };
        var corpus = new Option<string?>("--corpus") { Description = "UTF-8 file, one line per item, embedded at start; POST /search ranks queries against it by cosine." };
        var pooling = new Option<string?>("--pooling") { Description = "mean, cls, max or pooler; default: what the model folder says, else mean." };
        pooling.AcceptOnlyFromAmong("mean", "cls", "max", "pooler");
        var backend = new EncoderBackendOptions();
        var command = new Command("serve", "Serve embeddings over HTTP: Hugging Face TEI routes (/embed, /embed_all, /tokenize, /similarity, /info, /health, /metrics) and OpenAI's /v1/embeddings.")
        {
            model, host, port, modelId, batchTokens, maxWait, maxQueue, maxInputs, maxBody, autoTruncate, corpus, threads, pooling,
        };
        backend.AddTo(command);
        command.SetAction(async (result, cancel) =>
        {
            string given = result.GetValue(model) ?? Environment.GetEnvironmentVariable(NativeAlign.IO.HubCache.ModelVariable) ?? "all-MiniLM-L6-v2";
            var modelPath = EmbedCommand.ResolveModel(result.GetValue(model));
            var options = EmbedCommand.WithPooling(backend.Options(result) with { BatchTokens = result.GetValue(batchTokens) }, result.GetValue(pooling));
            if (result.GetValue(threads) is { } threadCount)
            {
                if (threadCount < 1)
                {
                    throw new NativeAlignException(ErrorKind.Usage, $"--threads {threadCount} must be at least 1");
                }

                // Read once, when the CPU backend's thread team is first built; nothing has built it yet in this process.
                Environment.SetEnvironmentVariable("NATIVEALIGN_THREADS", threadCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            // The corpus is read before the model loads, so a wrong path fails at once.
            string[]? lines = null;
            if (result.GetValue(corpus) is { } corpusPath)
            {
                using var text = TextInput.Open(corpusPath, countLines: false);
                var read = new List<string>();
                var chunk = new List<string>(EmbedCommand.ChunkLines);
                while (text.ReadChunk(chunk, EmbedCommand.ChunkLines))
                {
                    read.AddRange(chunk);
                }

                lines = [.. read];
            }

            using var encoder = SentenceEncoder.Load(modelPath, options);
            var serverOptions = new EmbeddingServerOptions
            {
                Host = result.GetValue(host)!,
                Port = result.GetValue(port),
                ModelId = result.GetValue(modelId) ?? given,
                MaxInputs = result.GetValue(maxInputs),
                MaxBodyBytes = result.GetValue(maxBody),
                AutoTruncate = result.GetValue(autoTruncate),
                Corpus = lines,
                Batching = new EmbeddingBatcherOptions
                {
                    MaxBatchTokens = result.GetValue(batchTokens),
                    MaxWait = TimeSpan.FromMilliseconds(result.GetValue(maxWait)),
                    MaxQueuedInputs = result.GetValue(maxQueue),
                },
            };
            await using var server = EmbeddingServer.Create(encoder, serverOptions);
            try
            {
                await server.StartAsync(CancellationToken.None);
            }
            catch (IOException e)
            {
                throw new NativeAlignException(ErrorKind.Usage, $"cannot listen on {serverOptions.Host}:{serverOptions.Port}: {e.Message}", e);
            }
            Console.Error.WriteLine($"nativealign: serving {serverOptions.ModelId} ({encoder.Dimension} dimensions, {options.Backend}) on {string.Join(", ", server.Addresses)}; SIGTERM or Ctrl-C stops after the requests in flight");
            try
            {
                await Task.Delay(Timeout.Infinite, cancel);
            }
            catch (OperationCanceledException)
            {
                // SIGTERM / Ctrl-C: drain below.
            }

            await server.StopAsync(CancellationToken.None);
            Console.Error.WriteLine("nativealign: stopped; every request in flight was answered");
            CommandRunner.StoppedBySignalIsSuccess = true;
            return 0;
        });
        return command;
    }
}
