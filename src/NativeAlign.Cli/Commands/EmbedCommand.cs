using System.CommandLine;
using System.Text;
using System.Text.Json;
using NativeAlign.IO;
using NativeAlign.Models;
using Spectre.Console;

namespace NativeAlign.Cli.Commands;

/// <summary><c>nativealign embed</c>: one sentence embedding per input line, as float32 .npy [N, D] or JSONL.</summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var model = ModelOption();
        var input = new Option<FileInfo>("--input", "-i") { Description = "UTF-8 text, one input per line.", Required = true };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Output file (.npy float32 [N, D], or JSONL with --format jsonl).", Required = true };
        var format = new Option<string>("--format") { Description = "npy (default) or jsonl.", DefaultValueFactory = _ => "npy" };
        format.AcceptOnlyFromAmong("npy", "jsonl");
        var pooling = new Option<string?>("--pooling") { Description = "mean, cls, max or pooler (CLS through BERT's pooler); default: what the model folder says, else mean." };
        pooling.AcceptOnlyFromAmong("mean", "cls", "max", "pooler");
        var normalize = new Option<bool>("--normalize") { Description = "L2-normalise every embedding (a sentence-transformers Normalize module does so already)." };
        var layer = new Option<int>("--layer") { Description = "Layer to pool: 0 = embeddings … L = last; negative counts from the end.", DefaultValueFactory = _ => -1 };
        var batchTokens = new Option<int>("--batch-tokens") { Description = "Token budget per batch (batch size × padded length).", DefaultValueFactory = _ => 8192 };
        var backend = new EncoderBackendOptions();
        var command = new Command("embed", "Embed each line of a text file with a sentence encoder.")
        {
            model, input, output, format, pooling, normalize, layer, batchTokens,
        };
        backend.AddTo(command);
        command.SetAction(result =>
        {
            var lines = ReadLines(result.GetValue(input)!.FullName);
            var options = WithPooling(
                new SentenceEncoderOptions
                {
                    Normalize = result.GetValue(normalize) ? true : null,
                    Layer = result.GetValue(layer),
                    BatchTokens = result.GetValue(batchTokens),
                    Backend = backend.BackendName(result),
                    Device = backend.DeviceIndex(result),
                },
                result.GetValue(pooling));
            using var encoder = SentenceEncoder.Load(ResolveModel(result.GetValue(model)), options);
            using var file = AtomicFile.Create(result.GetValue(output)!.FullName);
            var (truncatedInputs, truncatedTokens) = EmbedInChunks(encoder, lines, file.Stream, result.GetValue(format) == "jsonl");
            if (truncatedInputs > 0)
            {
                Console.Error.WriteLine($"nativealign: {truncatedInputs} of {lines.Length} inputs were truncated to the tokenizer's maximum length or the model's {encoder.MaxTokens} positions ({truncatedTokens} tokens dropped)");
            }

            file.Commit();
            return 0;
        });
        return command;
    }

    /// <summary>The shared <c>--model</c> option.</summary>
    internal static Option<string?> ModelOption() =>
        new("--model", "-m") { Description = "Model folder (config.json + weights + tokenizer); default: models/all-MiniLM-L6-v2 under the repository root." };

    /// <summary>The given model folder, or the default model under the repository root (found upward from the binary and the working directory).</summary>
    internal static string ResolveModel(string? model)
    {
        if (!string.IsNullOrEmpty(model))
        {
            return model;
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

        throw new NativeAlignException(ErrorKind.Usage, "no --model given and the default model (models/all-MiniLM-L6-v2 under the repository root) is not installed; run scripts/setup.sh");
    }

    /// <summary>Options with the <c>--pooling</c> choice applied: a mode, or "pooler" for CLS through BERT's pooler.</summary>
    internal static SentenceEncoderOptions WithPooling(SentenceEncoderOptions options, string? value) => value switch
    {
        null => options,
        "mean" => Copy(options, SentencePoolingMode.Mean, usePooler: false),
        "cls" => Copy(options, SentencePoolingMode.Cls, usePooler: false),
        "max" => Copy(options, SentencePoolingMode.Max, usePooler: false),
        "pooler" => Copy(options, null, usePooler: true),
        _ => throw new NativeAlignException(ErrorKind.Usage, $"unknown pooling '{value}' (expected mean, cls, max or pooler)"),
    };

    private static SentenceEncoderOptions Copy(SentenceEncoderOptions o, SentencePoolingMode? pooling, bool usePooler) => new()
    {
        Pooling = pooling,
        UsePooler = usePooler,
        Normalize = o.Normalize,
        Layer = o.Layer,
        BatchTokens = o.BatchTokens,
        Backend = o.Backend,
        Device = o.Device,
    };

    /// <summary>Reads a UTF-8 file as lines (a final newline does not add an empty input).</summary>
    internal static string[] ReadLines(string path)
    {
        if (Directory.Exists(path))
        {
            throw new InputFormatException(path, null, "is a directory; expected a text file");
        }

        if (!File.Exists(path))
        {
            throw new InputFormatException(path, null, "file not found");
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputFormatException(path, null, $"cannot read: {e.Message}", e);
        }

        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            // Name the line, so the user can find it: the first invalid sequence's line is what the decoder stops at.
            int valid = FirstInvalidUtf8(bytes);
            long line = 1 + bytes.AsSpan(0, valid).Count((byte)'\n');
            throw new InputFormatException(path, line, "not valid UTF-8");
        }

        try
        {
            var decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
            var text = decoder.GetString(bytes);
            if (text.Length > 0 && text[0] == '\uFEFF')
            {
                text = text[1..];
            }

            var lines = text.Split('\n');
            int count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
            var result = new string[count];
            for (int i = 0; i < count; i++)
            {
                result[i] = lines[i].EndsWith('\r') ? lines[i][..^1] : lines[i];
            }

            return result;
        }
        catch (DecoderFallbackException e)
        {
            throw new InputFormatException(path, null, $"not valid UTF-8 ({e.Message})", e);
        }
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        System.Text.Unicode.Utf8.ToUtf16(bytes, new char[bytes.Length], out int read, out _, replaceInvalidSequences: false);
        return read;
    }

    /// <summary>Inputs embedded per chunk: embeddings are written as each chunk completes, so memory holds one chunk's
    /// vectors however long the input is (1M lines × 384 floats would otherwise be 1.5 GB before the first byte is written).</summary>
    internal const int ChunkLines = 8192;

    /// <summary>
    /// Embeds <paramref name="lines"/> chunk by chunk and writes the rows to <paramref name="stream"/> as .npy (the row
    /// count is known up front, so the header comes first) or JSONL; a progress bar runs when stderr is a terminal.
    /// Returns the truncation counts summed over all chunks.
    /// </summary>
    internal static (long Inputs, long Tokens) EmbedInChunks(SentenceEncoder encoder, string[] lines, Stream stream, bool jsonl)
    {
        long truncatedInputs = 0, truncatedTokens = 0;
        void Run(Action<int>? report)
        {
            bool headerWritten = false;
            for (int start = 0; start < lines.Length || (!headerWritten && !jsonl); start += ChunkLines)
            {
                int count = Math.Min(ChunkLines, lines.Length - start);
                int offset = start;
                var chunk = encoder.Embed(
                    lines.AsSpan(start, count),
                    report is null ? null : new SyncProgress(done => report(offset + done)),
                    CommandRunner.Cancellation);
                truncatedInputs += chunk.TruncatedInputs;
                truncatedTokens += chunk.TruncatedTokens;
                if (jsonl)
                {
                    WriteJsonl(stream, chunk, start);
                    continue;
                }

                if (!headerWritten)
                {
                    WriteNpyHeader(stream, lines.Length, chunk.Dimension);
                    headerWritten = true;
                }

                WriteNpyRows(stream, chunk.Data, chunk.Count, chunk.Dimension);
            }
        }

        if (Console.IsErrorRedirected || lines.Length < 64)
        {
            Run(null);
        }
        else
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            console.Progress().Start(ctx =>
            {
                var task = ctx.AddTask("embedding", maxValue: lines.Length);
                Run(done => task.Value = done);
            });
        }

        return (truncatedInputs, truncatedTokens);
    }

    /// <summary>Writes a NumPy .npy (format 1.0) of little-endian float32 [rows, columns].</summary>
    internal static void WriteNpy(Stream stream, ReadOnlySpan<float> data, int rows, int columns)
    {
        WriteNpyHeader(stream, rows, columns);
        WriteNpyRows(stream, data, rows, columns);
    }

    /// <summary>Writes the .npy (format 1.0) header of a little-endian float32 [rows, columns] array.</summary>
    internal static void WriteNpyHeader(Stream stream, int rows, int columns)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("big-endian hosts are not supported");
        }

        string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {columns}), }}";

        // Magic (6) + version (2) + length (2) + header + newline, padded with spaces to a multiple of 64.
        int total = 10 + header.Length + 1;
        header += new string(' ', (64 - (total % 64)) % 64) + "\n";
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y']);
        stream.WriteByte(1);
        stream.WriteByte(0);
        stream.WriteByte((byte)(header.Length & 0xFF));
        stream.WriteByte((byte)(header.Length >> 8));
        stream.Write(Encoding.ASCII.GetBytes(header));
    }

    /// <summary>Appends <paramref name="rows"/> rows of float32 data after a header.</summary>
    internal static void WriteNpyRows(Stream stream, ReadOnlySpan<float> data, int rows, int columns)
        => stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data[..(rows * columns)]));

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

    /// <summary>Reports on the calling thread, unlike <see cref="Progress{T}"/> which posts to a context.</summary>
    private sealed class SyncProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
