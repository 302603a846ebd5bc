using System.CommandLine;
using System.Text;
using System.Text.Json;
using NativeAlign.IO;
using NativeAlign.Models;
using System.Runtime.InteropServices;
using NativeAlign.Cli.IO;

namespace NativeAlign.Cli.Commands;

/// <summary><c>nativealign embed</c>: one sentence embedding per input line, as float32 .npy [N, D] or JSONL.</summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var model = ModelOption();
        var input = new Option<string>("--input", "-i") { Description = "UTF-8 text, one input per line ('-': standard input).", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Output file (.npy float32 [N, D], or JSONL with --format jsonl; '-': standard output).", Required = true };
        var format = new Option<string>("--format") { Description = "npy (default) or jsonl.", DefaultValueFactory = _ => "npy" };
        format.AcceptOnlyFromAmong("npy", "jsonl");
        var pooling = new Option<string?>("--pooling") { Description = "mean, cls, max or pooler (CLS through BERT's pooler); default: what the model folder says, else mean." };
        pooling.AcceptOnlyFromAmong("mean", "cls", "max", "pooler");
        var normalize = new Option<bool>("--normalize") { Description = "L2-normalise every embedding (a sentence-transformers Normalize module does so already)." };
        var layer = new Option<int>("--layer") { Description = "Layer to pool: 0 = embeddings … L = last; negative counts from the end.", DefaultValueFactory = _ => -1 };
        var batchTokens = new Option<int>("--batch-tokens") { Description = "Token budget per batch (batch size × padded length).", DefaultValueFactory = _ => 8192 };
        var backend = new EncoderBackendOptions();
        var quiet = QuietOption();
        var command = new Command("embed", "Embed each line of a text file with a sentence encoder.")
        {
            model, input, output, format, pooling, normalize, layer, batchTokens, quiet,
        };
        backend.AddTo(command);
        command.SetAction((result, cancel) =>
        {
            var outputPath = result.GetValue(output)!;
            var modelPath = ResolveModel(result.GetValue(model));
            OutputTarget.EnsureNotAnInput(outputPath, modelPath, result.GetValue(input));
            var mode = result.GetValue(quiet) ? ProgressMode.Quiet : ProgressMode.Auto;

            // The input is opened before the model loads, so a wrong path fails at once; lines are counted (regular files
            // only) just for the progress ETA, so not with --quiet.
            using var text = TextInput.Open(result.GetValue(input)!, countLines: mode != ProgressMode.Quiet);
            var options = WithPooling(
                backend.Options(result) with
                {
                    Normalize = result.GetValue(normalize) ? true : null,
                    Layer = result.GetValue(layer),
                    BatchTokens = result.GetValue(batchTokens),
                },
                result.GetValue(pooling));
            using var encoder = SentenceEncoder.Load(modelPath, options);
            using var file = OutputTarget.Create(outputPath);
            (long, long) truncated;
            using (var progress = TerminalProgress.Start("embedding", text.CountedLines, mode))
            {
                truncated = EmbedInChunks(encoder, text, file.Stream, result.GetValue(format) == "jsonl", progress, outputPath, cancel);
            }

            var (truncatedInputs, truncatedTokens) = truncated;
            if (truncatedInputs > 0)
            {
                Console.Error.WriteLine($"nativealign: {truncatedInputs} of {text.LinesRead} inputs were truncated to the tokenizer's maximum length or the encoder's {encoder.MaxTokens} tokens (--max-tokens) (at least {truncatedTokens} tokens dropped)");
            }

            file.Commit(cancel);
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>The shared <c>--quiet</c> option: no progress lines on stderr.</summary>
    internal static Option<bool> QuietOption() =>
        new("--quiet", "-q") { Description = "No progress on stderr (by default: a live line on a terminal, a line every 5 s in a log)." };

    /// <summary>The shared <c>--model</c> option.</summary>
    internal static Option<string?> ModelOption() =>
        new("--model", "-m") { Description = "Model folder (config.json + weights + tokenizer) or a Hugging Face id org/name found in the local hub cache (HF_HUB_CACHE, HF_HOME); default: $NATIVEALIGN_MODEL, else models/all-MiniLM-L6-v2 under the repository root." };

    /// <summary>
    /// The given model (a folder, or org/name from the Hugging Face cache), else <c>NATIVEALIGN_MODEL</c>, else the default
    /// model under the repository root (found upward from the binary and the working directory).
    /// </summary>
    internal static string ResolveModel(string? model)
    {
        if (string.IsNullOrEmpty(model))
        {
            model = Environment.GetEnvironmentVariable(HubCache.ModelVariable);
        }

        if (!string.IsNullOrEmpty(model))
        {
            return HubCache.Resolve(model);
        }

        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "NativeAlign.sln")))
                {
                    var candidate = Path.Combine(dir.FullName, "models", "all-MiniLM-L6-v2");
                    if (Directory.Exists(candidate))
                    {
                        return candidate;
                    }
                }
            }
        }

        throw new NativeAlignException(ErrorKind.Usage, $"no --model given, {HubCache.ModelVariable} is not set, and the default model (models/all-MiniLM-L6-v2 under the repository root) is not installed; run scripts/setup.sh");
    }

    /// <summary>Options with the <c>--pooling</c> choice applied: a mode, or "pooler" for CLS through BERT's pooler.</summary>
    internal static SentenceEncoderOptions WithPooling(SentenceEncoderOptions options, string? value) => value switch
    {
        null => options,
        "mean" => options with { Pooling = SentencePoolingMode.Mean, UsePooler = false },
        "cls" => options with { Pooling = SentencePoolingMode.Cls, UsePooler = false },
        "max" => options with { Pooling = SentencePoolingMode.Max, UsePooler = false },
        "pooler" => options with { Pooling = null, UsePooler = true },
        _ => throw new NativeAlignException(ErrorKind.Usage, $"unknown pooling '{value}' (expected mean, cls, max or pooler)"),
    };

    /// <summary>Inputs read and embedded per chunk: lines are read, embedded and written one chunk at a time, so memory
    /// holds one chunk's strings and vectors however long the input is (1M lines × 384 floats would otherwise be 1.5 GB
    /// before the first byte is written, plus the strings).</summary>
    internal const int ChunkLines = 8192;

    /// <summary>
    /// Reads <paramref name="text"/> chunk by chunk, embeds each chunk and appends its rows to <paramref name="stream"/>
    /// as .npy or JSONL, reporting lines and tokens to <paramref name="progress"/>. Returns the truncation counts.
    /// </summary>
    /// <remarks>
    /// The .npy row count is only known at the end. The header is written first with 0 rows and rewritten in place
    /// once the last chunk is out, rather than trusting a counting pass: the file could change between the passes, and
    /// a header that disagrees with the data would be a corrupt output. A 2-D float32 header is always 128 bytes
    /// (<see cref="NpyFile.WriteHeader"/> pads to 64-byte multiples and any two int32 dimensions fit), so the rewrite
    /// never moves the data. An output that cannot seek (a pipe, standard output) gets its rows through an unlinked spill
    /// file beside <paramref name="outputPath"/> (for <c>-</c>, in the temporary directory) and the header first, once
    /// the count is known.
    /// </remarks>
    internal static (long Inputs, long Tokens) EmbedInChunks(SentenceEncoder encoder, TextInput text, Stream stream, bool jsonl, TerminalProgress progress, string outputPath, CancellationToken cancel)
    {
        if (jsonl)
        {
            return EmbedChunks(encoder, text, progress, cancel, (chunk, first) => WriteJsonl(stream, chunk, first));
        }

        if (!stream.CanSeek)
        {
            using var spill = SpillFile.Create(TextInput.SpillDirectoryFor(outputPath), "rows", encoder.Dimension);
            var counts = EmbedChunks(encoder, text, progress, cancel, (chunk, _) => spill.Append(chunk.Data.AsSpan(0, chunk.Count * chunk.Dimension), chunk.Count));
            NpyFile.WriteHeader(stream, "<f4", $"({spill.Count}, {encoder.Dimension})");
            var block = new float[4096 * encoder.Dimension];
            for (int row = 0; row < spill.Count; row += 4096)
            {
                int rows = Math.Min(4096, spill.Count - row);
                spill.Read(row, rows, block);
                stream.Write(MemoryMarshal.AsBytes(block.AsSpan(0, rows * encoder.Dimension)));
            }

            return counts;
        }

        NpyFile.WriteHeader(stream, "<f4", $"(0, {encoder.Dimension})");
        var truncated = EmbedChunks(encoder, text, progress, cancel, (chunk, _) => stream.Write(MemoryMarshal.AsBytes(chunk.Data.AsSpan(0, chunk.Count * chunk.Dimension))));
        long end = stream.Position;
        stream.Position = 0;
        NpyFile.WriteHeader(stream, "<f4", $"({text.LinesRead}, {encoder.Dimension})");
        if (stream.Position != NpyFile.HeaderBytes)
        {
            throw new InvalidOperationException($"the .npy header changed size ({stream.Position} bytes)");
        }

        stream.Position = end;
        return truncated;
    }

    /// <summary>
    /// The streaming loop shared by <c>embed</c> and <c>mine</c>: reads <see cref="ChunkLines"/> lines, embeds them,
    /// hands the rows and the index of the chunk's first line to <paramref name="write"/>, and repeats; reports lines
    /// and tokens to <paramref name="progress"/>. Returns the truncation counts summed over the chunks.
    /// </summary>
    internal static (long Inputs, long Tokens) EmbedChunks(SentenceEncoder encoder, TextInput text, TerminalProgress progress, CancellationToken cancel, Action<SentenceEmbeddings, int> write)
    {
        long truncatedInputs = 0, truncatedTokens = 0;
        var lines = new List<string>(ChunkLines);
        int done = 0;
        while (text.ReadChunk(lines, ChunkLines))
        {
            SentenceEmbeddings chunk;
            try
            {
                chunk = encoder.Embed(CollectionsMarshal.AsSpan(lines), progress.Offset(done), cancel);
            }
            catch (NonFiniteOutputException e)
            {
                // The encoder counts inputs within the chunk; the user knows lines of the file.
                throw new NonFiniteOutputException(done + e.Index, $"{text.Path}:{done + e.Index + 1}: the model's embedding of this line has a NaN or infinity (its arithmetic overflowed: weights too large or corrupt); nothing was written");
            }

            truncatedInputs += chunk.TruncatedInputs;
            truncatedTokens += chunk.TruncatedTokens;
            progress.AddTokens(chunk.Tokens);
            write(chunk, done);
            done += chunk.Count;
            progress.Update(done);
        }

        progress.Finish();
        return (truncatedInputs, truncatedTokens);
    }

    private static void WriteJsonl(Stream stream, SentenceEmbeddings e, int firstIndex)
    {
        using var writer = new Utf8JsonWriter(stream);
        for (int i = 0; i < e.Count; i++)
        {
            writer.WriteStartObject();
            writer.WriteNumber("index", firstIndex + i);
            writer.WriteStartArray("embedding");
            foreach (float v in e[i])
            {
                writer.WriteNumberValue(v);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.Flush();
            writer.Reset();
            stream.WriteByte((byte)'\n');
        }
    }
}
