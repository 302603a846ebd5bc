using System.CommandLine;
using System.Text.Json;
using NativeAlign.Cli.IO;
using NativeAlign.IO;
using NativeAlign.Tokenizers;

namespace NativeAlign.Cli.Commands;

/// <summary>
/// <c>nativealign tokenize --model M --input F [--output O] [--max-length N]</c>: one JSON object per input line,
/// <c>{"ids":[...],"tokens":[...],"offsets":[[s,e],...],"words":[...]}</c>; offsets are UTF-16 spans of the line,
/// words the pre-tokenizer word of each token (-1 for special tokens). Output line i always belongs to input line i.
/// </summary>
internal static class TokenizeCommand
{
    private const int BatchLines = 4096;

    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Model folder or tokenizer file (tokenizer.json, vocab.txt, .model); default: models/all-MiniLM-L6-v2 of the repository." };
        var input = new Option<string>("--input", "-i") { Description = "UTF-8 text, one input per line ('-': standard input).", Required = true };
        var output = new Option<string?>("--output", "-o") { Description = "Write the JSONL here (atomically) instead of to standard output ('-': standard output)." };
        var maxLength = new Option<int?>("--max-length") { Description = "Truncate to this many tokens, special tokens included (0: never); default: the model's limit." };
        var threads = new Option<int>("--threads") { Description = "Threads to tokenize with (-1: one per core).", DefaultValueFactory = _ => -1 };
        var command = new Command("tokenize", "Tokenize each line of a file; print ids, tokens, offsets and word ids as JSONL.") { model, input, output, maxLength, threads };
        command.SetAction((result, cancel) =>
        {
            var inputPath = result.GetValue(input)!;
            var outputPath = result.GetValue(output) ?? TextInput.StandardStream;
            OutputTarget.EnsureNotAnInput(outputPath, ModelPath(result.GetValue(model)), inputPath);
            var tokenizer = LoadTokenizer(result.GetValue(model));
            var limit = result.GetValue(maxLength) ?? tokenizer.MaxLength;
            if (limit < 0)
            {
                throw new NativeAlignException(ErrorKind.Usage, "--max-length must be 0 or more");
            }

            using var reader = inputPath == TextInput.StandardStream
                ? new Utf8LineReader(Console.OpenStandardInput(), "standard input")
                : Utf8LineReader.Open(inputPath);
            using var file = OutputTarget.Create(outputPath);
            Run(tokenizer, reader, inputPath == TextInput.StandardStream ? "standard input" : inputPath, file.Stream, limit, result.GetValue(threads), cancel);
            file.Commit(cancel);
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>The --model folder or file, or the default model's folder when none is given and it is installed.</summary>
    private static string? ModelPath(string? model) => model ?? DefaultModelFolder();

    private static string? DefaultModelFolder()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "models", "all-MiniLM-L6-v2");
                if (File.Exists(Path.Combine(dir.FullName, "NativeAlign.sln")) && Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>The --model folder or file, or the default model found above the working or program directory.</summary>
    internal static Tokenizer LoadTokenizer(string? model)
    {
        if (model is not null)
        {
            if (!File.Exists(model) && !Directory.Exists(model))
            {
                throw new ModelFormatException(model, null, "no such model folder or tokenizer file");
            }

            return TokenizerLoader.FromFile(model);
        }

        if (DefaultModelFolder() is { } folder)
        {
            return TokenizerLoader.FromModelFolder(folder);
        }

        throw new ModelFormatException("models/all-MiniLM-L6-v2", null, "the default model is not installed (run scripts/setup.sh) and no --model was given");
    }

    /// <summary>Tokenizes every line; <paramref name="cancellation"/> is checked between batches (a cancelled run throws and commits nothing).</summary>
    internal static void Run(Tokenizer tokenizer, Utf8LineReader reader, string inputPath, Stream output, int maxLength, int threads, CancellationToken cancellation = default)
    {
        var texts = new List<string>(BatchLines);
        var writer = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            texts.Clear();
            while (texts.Count < BatchLines && reader.TryReadLine(out var line))
            {
                texts.Add(line.Text);
            }

            if (texts.Count == 0)
            {
                TextInput.InvalidUtf8Warning(inputPath, reader);
                break;
            }

            foreach (var encoding in tokenizer.EncodeBatch(texts, threads, maxLength))
            {
                Write(writer, encoding);
                writer.Flush();
                output.WriteByte((byte)'\n');
                writer.Reset();
            }
        }

        writer.Flush();
        output.Flush();
    }

    private static void Write(Utf8JsonWriter w, TokenizedText e)
    {
        w.WriteStartObject();
        w.WriteStartArray("ids");
        foreach (var id in e.Ids)
        {
            w.WriteNumberValue(id);
        }

        w.WriteEndArray();
        w.WriteStartArray("tokens");
        foreach (var t in e.Tokens)
        {
            w.WriteStringValue(t);
        }

        w.WriteEndArray();
        w.WriteStartArray("offsets");
        foreach (var o in e.Offsets)
        {
            w.WriteStartArray();
            w.WriteNumberValue(o.Start);
            w.WriteNumberValue(o.End);
            w.WriteEndArray();
        }

        w.WriteEndArray();
        w.WriteStartArray("words");
        foreach (var word in e.WordIds)
        {
            w.WriteNumberValue(word);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
