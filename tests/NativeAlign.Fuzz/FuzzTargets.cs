using NativeAlign.Alignment.Formats;
using NativeAlign.Cli.IO;
using NativeAlign.IO;
using NativeAlign.Models;
using NativeAlign.Tensors;
using NativeAlign.Tokenizers;

namespace NativeAlign.Fuzz;

/// <summary>
/// One fuzz target per parser: each takes the raw bytes of one input and runs the parser on them the way the engine
/// would, then uses what it returned (tensors converted, probe texts encoded), so that odd but accepted inputs reach
/// the code behind the parser too. The rule they check is the hardening issue's: only <see cref="NativeAlignException"/>
/// subclasses may escape, within a time limit and an allocation bound linear in the input's size. The AFL++ entry point
/// (<c>Program.cs</c>) and the CI replay of <c>tests/fuzz-corpus/</c> both go through <see cref="Run"/>, so a corpus file
/// exercises the same code in both.
/// </summary>
internal static class FuzzTargets
{
    /// <summary>Texts every loaded tokenizer encodes: empty, whitespace, scripts, emoji, specials, long words, lone surrogates.</summary>
    public static readonly string[] Probes =
    [
        string.Empty,
        " ",
        "Hello, world! The quick brown fox jumps over the lazy dog.",
        "Ünïcödé naïve café 東京タワー 😀👍🏽 a\u0301 \u200d\u00ad\ufeff",
        "[CLS] [SEP] [UNK] <s> </s> <unk> ##ing ▁token",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!",
        "12345 3.14159 1,000,000 \t\r\n tabs\tand\nnewlines",
        string.Concat(Enumerable.Repeat("mégaword ", 60)),
        "\ud800 lone surrogate \udfff",
    ];

    /// <summary>The targets by name (the names of <c>tests/fuzz-corpus/</c>'s folders and of <c>scripts/fuzz.sh</c>'s arguments).</summary>
    public static IReadOnlyDictionary<string, Action<byte[]>> All { get; } = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["safetensors"] = Safetensors,
        ["onnx"] = Onnx,
        ["tokenizer-json"] = TokenizerJson,
        ["sentencepiece"] = SentencePiece,
        ["config-json"] = ConfigJson,
        ["pharaoh"] = Pharaoh,
        ["multimwa"] = MultiMwa,
        ["tsv-dictionary"] = TsvDictionaryFile,
        ["npy"] = Npy,
    };

    /// <summary>
    /// The most a target may allocate for an input of <paramref name="inputBytes"/> bytes: 64 MiB of fixed overhead plus
    /// 64 bytes per input byte, so a small file declaring a huge length fails unless the length is refused before
    /// anything is allocated for it.
    /// </summary>
    public static long AllocationCap(long inputBytes) => (64L << 20) + 64 * inputBytes;

    /// <summary>
    /// Runs <paramref name="target"/> on <paramref name="input"/>: a typed refusal is a normal outcome (returns false), an
    /// accepted input returns true, any other exception propagates, and allocating more than <see cref="AllocationCap"/>
    /// throws <see cref="FuzzFindingException"/>. Runs on the calling thread (allocation is measured per thread).
    /// </summary>
    public static bool Check(Action<byte[]> target, byte[] input)
    {
        try
        {
            Run(target, input);
            return true;
        }
        catch (NativeAlignException)
        {
            return false;
        }
    }

    /// <summary>As <see cref="Check"/>, but a typed refusal propagates too (for callers that report its message).</summary>
    public static void Run(Action<byte[]> target, byte[] input)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            target(input);
        }
        finally
        {
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated > AllocationCap(input.Length))
            {
                throw new FuzzFindingException($"{allocated} bytes allocated for a {input.Length}-byte input (cap {AllocationCap(input.Length)})");
            }
        }
    }

    // A folder of this process's own for the targets whose parser reads a path, made on first use.
    private static readonly Lazy<string> Work = new(() => Directory.CreateTempSubdirectory($"na-fuzz-{Environment.ProcessId}-").FullName);

    /// <summary>Removes this process's input folder, if a target made one.</summary>
    public static void DeleteWorkDirectory()
    {
        if (Work.IsValueCreated && Directory.Exists(Work.Value))
        {
            Directory.Delete(Work.Value, recursive: true);
        }
    }

    private static string WriteInput(string name, byte[] input)
    {
        string path = Path.Combine(Work.Value, name);
        File.WriteAllBytes(path, input);
        return path;
    }

    private static void TouchAll(IModelWeights weights)
    {
        foreach (var name in weights.Names)
        {
            if (weights.TryGet(name, out var tensor))
            {
                _ = tensor.ToFloat32();
            }
        }
    }

    private static void Safetensors(byte[] input)
    {
        using var weights = SafetensorsWeights.Open(WriteInput("model.safetensors", input));
        TouchAll(weights);
    }

    /// <summary>The protobuf reader and then the graph walk that maps the nodes to encoder weights.</summary>
    private static void Onnx(byte[] input)
    {
        using var weights = OnnxWeights.Open(WriteInput("model.onnx", input));
        TouchAll(weights);
    }

    /// <summary>Encodes every probe every way the tokenizer offers: single, truncated, pair, padded, batch.</summary>
    public static void ExerciseTokenizer(Tokenizer tokenizer)
    {
        foreach (var probe in Probes)
        {
            var single = tokenizer.Encode(probe, 0);
            var truncated = tokenizer.Encode(probe, 8);
            var pair = tokenizer.Encode(probe, Probes[2], 16);
            foreach (var id in single.Ids)
            {
                _ = tokenizer.IdToToken(id);
            }

            _ = tokenizer.Pad([single, truncated, pair]);
        }

        _ = tokenizer.EncodeBatch(Probes, 1, 0);
    }

    private static void TokenizerJson(byte[] input) => ExerciseTokenizer(TokenizerLoader.FromJson(input, "tokenizer.json"));

    private static void SentencePiece(byte[] input) => ExerciseTokenizer(SentencePieceLoader.Load(input, "sentencepiece.bpe.model"));

    /// <summary>The JSON reader's limits (size, depth) and then the encoder configuration's fields.</summary>
    private static void ConfigJson(byte[] input)
    {
        using var document = JsonModelFile.Parse("config.json", input);
        _ = EncoderConfigReader.Read(document.RootElement, "config.json");
    }

    /// <summary>Both indexings, the ranges against a fixed sentence length, and a round trip through the writer.</summary>
    private static void Pharaoh(byte[] input)
    {
        string path = WriteInput("alignments.txt", input);
        NativeAlignException? refused = null;
        foreach (bool oneIndexed in (bool[])[false, true])
        {
            // A 0-indexed file is refused as 1-indexed (a 0 position) and the reverse may be out of range: either reading
            // may refuse, and the input counts as refused only when both do.
            try
            {
                var alignments = PharaohFormat.Read(path, oneIndexed);
                var lengths = alignments.Select(_ => 64).ToArray();
                foreach (var sentence in alignments)
                {
                    _ = PharaohFormat.FormatLine(sentence.Links.Select(l => new NativeAlign.Alignment.Words.WordLink(l.Source, l.Target, 1f)));
                }

                PharaohFormat.CheckRanges(alignments, lengths, lengths, path);
                return;
            }
            catch (NativeAlignException e)
            {
                refused = e;
            }
        }

        throw refused!;
    }

    private static void MultiMwa(byte[] input) => _ = MultiMwaReader.Read(WriteInput("gold.tsv", input));

    private static void TsvDictionaryFile(byte[] input) => _ = TsvDictionary.Read(WriteInput("dictionary.tsv", input));

    private static void Npy(byte[] input)
    {
        using var stream = new MemoryStream(input, writable: false);
        var array = NpyFile.Read(stream, "embeddings.npy");
        _ = array.ToSingle();
    }
}

/// <summary>A fuzz criterion other than an exception broke (allocation beyond the bound); never thrown by the engine.</summary>
internal sealed class FuzzFindingException(string message) : Exception(message);
