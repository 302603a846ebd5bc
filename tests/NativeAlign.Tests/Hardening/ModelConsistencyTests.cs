using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NativeAlign.IO;
using NativeAlign.Models;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Hardening;

/// <summary>
/// Models that are wrong in their numbers or inconsistent with themselves, built from the tiny sentence-transformers
/// fixture by rewriting its safetensors: NaN and overflowing weights, a tokenizer with ids past the embedding table,
/// weights with more layers than config.json says, a position table far longer than inputs should be.
/// </summary>
public sealed class ModelConsistencyTests
{
    private string _dir = null!;
    private string _model = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("na-consistency-").FullName;
        _model = Path.Combine(_dir, "model");
        string source = Path.Combine(LoadingTestSupport.Fixtures, "st_folder");
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            string dest = Path.Combine(_model, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Weights => Path.Combine(_model, "model.safetensors");

    /// <summary>One tensor of a safetensors file.</summary>
    internal sealed record Tensor(string Name, string DType, long[] Shape, byte[] Data);

    /// <summary>The tensors of a safetensors file, in file order.</summary>
    internal static List<Tensor> ReadSafetensors(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        var tensors = new List<Tensor>();
        foreach (var p in header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__"))
        {
            var range = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            tensors.Add(new Tensor(p.Name, p.Value.GetProperty("dtype").GetString()!, p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                bytes[(int)(8 + headerLength + range[0])..(int)(8 + headerLength + range[1])]));
        }

        return tensors;
    }

    /// <summary>Writes <paramref name="tensors"/> as a safetensors file (header padded to 8 bytes, data in order).</summary>
    internal static void WriteSafetensors(string path, IEnumerable<Tensor> tensors)
    {
        var header = new JsonObject();
        long offset = 0;
        var list = tensors.ToList();
        foreach (var t in list)
        {
            header[t.Name] = new JsonObject
            {
                ["dtype"] = t.DType,
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + t.Data.Length),
            };
            offset += t.Data.Length;
        }

        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        using var stream = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(length, padded);
        stream.Write(length);
        stream.Write(json);
        stream.Write(Enumerable.Repeat((byte)' ', padded - json.Length).ToArray());
        foreach (var t in list)
        {
            stream.Write(t.Data);
        }
    }

    private static byte[] Floats(int count, float value)
    {
        var data = new byte[count * 4];
        for (int i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * 4), value);
        }

        return data;
    }

    private void EditTensor(string name, Func<Tensor, Tensor> edit) =>
        WriteSafetensors(Weights, ReadSafetensors(Weights).Select(t => t.Name == name ? edit(t) : t).ToList());

    private void EditConfig(Action<JsonNode> edit)
    {
        string path = Path.Combine(_model, "config.json");
        var node = JsonNode.Parse(File.ReadAllText(path))!;
        edit(node);
        File.WriteAllText(path, node.ToJsonString());
    }

    [Test]
    public void RewrittenFixtureStillLoads()
    {
        // The rewrite itself must be faithful, or the refusals below would prove nothing.
        WriteSafetensors(Weights, ReadSafetensors(Weights));
        using var encoder = SentenceEncoder.Load(_model);
        Assert.That(encoder.Embed(["a b c"]).Count, Is.EqualTo(1));
    }

    [TestCase(float.NaN)]
    [TestCase(float.PositiveInfinity)]
    [TestCase(float.NegativeInfinity)]
    public void NonFiniteWeightIsRefusedAtLoadNamingTheTensor(float value)
    {
        EditTensor("embeddings.word_embeddings.weight", t =>
        {
            var data = (byte[])t.Data.Clone();
            BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(5 * 4), value);
            return t with { Data = data };
        });
        var ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(_model).Dispose())!;
        Assert.That(ex.Path, Is.EqualTo(Weights));
        Assert.That(ex.Item, Is.EqualTo("embeddings.word_embeddings.weight"));
        Assert.That(ex.Message, Does.Contain("element 5"));
    }

    [Test]
    public void NonFiniteDenseWeightIsRefusedAtLoad()
    {
        string dense = Path.Combine(_model, "2_Dense", "model.safetensors");
        WriteSafetensors(dense, ReadSafetensors(dense).Select(t => t.Name == "linear.bias" ? t with { Data = Floats(t.Data.Length / 4, float.NaN) } : t).ToList());
        var ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(_model).Dispose())!;
        Assert.That(ex.Item, Is.EqualTo("linear.bias"));
    }

    /// <summary>3e38 is a finite float, so the load accepts it; the products overflow, and the output check names the input.</summary>
    [Test]
    public void OverflowingWeightsAreAnErrorNamingTheInput()
    {
        EditTensor("embeddings.LayerNorm.weight", t => t with { Data = Floats(t.Data.Length / 4, 3e38f) });
        using var encoder = SentenceEncoder.Load(_model);
        var ex = Assert.Catch<NativeAlignException>(() => encoder.Embed(["a b", "c d"]))!;
        Assert.That(ex.Kind, Is.EqualTo(ErrorKind.Model));
        Assert.That(ex.Message, Does.Contain("input 1").And.Contain("NaN or infinity"));
        Assert.That(Assert.Catch<NativeAlignException>(() => encoder.EncodeTokens("a b"))!.Kind, Is.EqualTo(ErrorKind.Model), "token states (alignment) are checked too");
    }

    [Test]
    public void EmbedOnOverflowingWeightsExitsFourNamingTheLine()
    {
        EditTensor("embeddings.LayerNorm.weight", t => t with { Data = Floats(t.Data.Length / 4, 3e38f) });
        File.WriteAllText(Path.Combine(_dir, "in.txt"), "a b\nc d\n");
        var r = CliProcess.Run(_dir, "embed", "--model", _model, "-i", "in.txt", "-o", "out.npy");
        Assert.That(r.ExitCode, Is.EqualTo(4), r.Stderr);
        Assert.That(r.ErrorLines, Has.Length.EqualTo(1), r.Stderr);
        Assert.That(r.ErrorLines[0], Does.Contain("in.txt:1:").And.Contain("NaN or infinity"));
        Assert.That(Directory.GetFiles(_dir), Is.EquivalentTo(new[] { Path.Combine(_dir, "in.txt") }), "no output, no temporary");
    }

    [Test]
    public void TokenizerIdsPastTheEmbeddingTableAreRefusedAtLoad()
    {
        // Three more tokens than the 12-row table: ids 12, 13, 14 have no embedding.
        File.AppendAllText(Path.Combine(_model, "vocab.txt"), "x\ny\nz\n");
        var ex = Assert.Throws<ModelFormatException>(() => SentenceEncoder.Load(_model).Dispose())!;
        Assert.That(ex.Path, Is.EqualTo(Path.Combine(_model, "vocab.txt")));
        Assert.That(ex.Message, Does.Contain("14").And.Contain(Weights).And.Contain("rows 0 to 11"));
    }

    [Test]
    public void WeightsWithMoreLayersThanTheConfigAreRefused()
    {
        var tensors = ReadSafetensors(Weights);
        tensors.AddRange(tensors.Where(t => t.Name.StartsWith("encoder.layer.0.", StringComparison.Ordinal))
            .Select(t => t with { Name = t.Name.Replace("encoder.layer.0.", "encoder.layer.1.", StringComparison.Ordinal) }).ToList());
        WriteSafetensors(Weights, tensors);
        var ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(_model).Dispose())!;
        Assert.That(ex.Item, Does.StartWith("encoder.layer.1."));
        Assert.That(ex.Message, Does.Contain("num_hidden_layers 1"));

        // The same weights with the layer count they have load.
        EditConfig(c => c["num_hidden_layers"] = 2);
        using var folder = ModelFolder.Open(_model);
        Assert.That(folder.Config.LayerCount, Is.EqualTo(2));
    }

    /// <summary>A position table of 1,024 rows: without a cap an input could run to 1,024 tokens, at a quadratic cost.</summary>
    [Test]
    public void LongPositionTableIsCappedByDefault()
    {
        EditTensor("embeddings.position_embeddings.weight", t => t with { Shape = [1024, 8], Data = [.. Enumerable.Range(0, 1024).SelectMany(i => t.Data.AsSpan(i % 10 * 32, 32).ToArray())] });
        EditConfig(c => c["max_position_embeddings"] = 1024);
        File.WriteAllText(Path.Combine(_model, "sentence_bert_config.json"), "{\"max_seq_length\": 4096}");
        using var encoder = SentenceEncoder.Load(_model);
        Assert.That(encoder.MaxTokens, Is.EqualTo(512));
        var e = encoder.EmbedIds([[2, .. Enumerable.Repeat(5, 998), 3]]);
        Assert.That(e.TruncatedInputs, Is.EqualTo(1));
        Assert.That(e.TruncatedTokens, Is.EqualTo(1000 - 512));
    }

    [Test]
    public void MaxTokensOptionOnTheCommandLineTruncatesAndWarns()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        File.WriteAllText(Path.Combine(_dir, "in.txt"), "short\n" + string.Join(' ', Enumerable.Repeat("word", 50)) + "\n");
        var r = CliProcess.Run(_dir, "embed", "--model", model, "-i", "in.txt", "-o", "out.npy", "--max-tokens", "8", "--quiet");
        Assert.That(r.ExitCode, Is.Zero, r.Stderr);
        Assert.That(r.ErrorLines, Has.Length.EqualTo(1), r.Stderr);
        Assert.That(r.ErrorLines[0], Does.Contain("1 of 2 inputs were truncated").And.Contain("8 tokens").And.Contain("44 tokens dropped"));
    }

    [Test]
    public void OverlappingExternalTensorsAreRefused()
    {
        string folder = Path.Combine(_dir, "onnx");
        Directory.CreateDirectory(folder);
        foreach (var f in new[] { "tiny_bert_q4.onnx", "tiny_bert_q4.onnx_data" })
        {
            File.Copy(Path.Combine(LoadingTestSupport.Fixtures, "onnx", f), Path.Combine(folder, f));
        }

        // Every external "offset" value (a decimal string) becomes zeros of the same length: all tensors start at byte 0.
        string onnx = Path.Combine(folder, "tiny_bert_q4.onnx");
        string text = Encoding.Latin1.GetString(File.ReadAllBytes(onnx));
        int rewritten = 0;
        text = System.Text.RegularExpressions.Regex.Replace(text, "\x0A\x06offset\x12(.)([0-9]+)", m =>
        {
            rewritten++;
            return m.Value[..^m.Groups[2].Length] + new string('0', m.Groups[2].Length);
        });
        Assert.That(rewritten, Is.GreaterThan(1), "the fixture has several external tensors");
        File.WriteAllBytes(onnx, Encoding.Latin1.GetBytes(text));
        var ex = Assert.Throws<ModelFormatException>(() => NativeAlign.IO.OnnxWeights.Open(onnx).Dispose())!;
        Assert.That(ex.Path, Is.EqualTo(onnx));
        Assert.That(ex.Item, Is.Not.Null);
        Assert.That(ex.Message, Does.Contain("overlaps"));
    }

    /// <summary>A copy of the default model with a second ONNX file: the folder alone is ambiguous, naming a file chooses.</summary>
    [Test]
    public void TwoOnnxFilesMustBeChosenByNamingOne()
    {
        string source = LoadingTestSupport.RequireDefaultModel();
        string model = Path.Combine(_dir, "minilm");
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            string dest = Path.Combine(model, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }

        using (var single = ModelFolder.Open(model))
        {
            Assert.That(Path.GetFileName(single.WeightsPath), Is.EqualTo("model_q4.onnx"), "one ONNX file loads by folder");
        }

        File.Copy(Path.Combine(model, "onnx", "model_q4.onnx"), Path.Combine(model, "onnx", "model.onnx"));
        var ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(model).Dispose())!;
        Assert.That(ex.Message, Does.Contain("onnx/model.onnx").And.Contain("onnx/model_q4.onnx"));

        using (var chosen = ModelFolder.Open(Path.Combine(model, "onnx", "model_q4.onnx")))
        {
            Assert.That(chosen.WeightsPath, Is.EqualTo(Path.Combine(model, "onnx", "model_q4.onnx")));
            Assert.That(chosen.TokenizerKind, Is.EqualTo(TokenizerFileKind.TokenizerJson), "the folder above onnx/ is the model folder");
        }

        File.WriteAllText(Path.Combine(_dir, "in.txt"), "hello\n");
        var refused = CliProcess.Run(_dir, "embed", "--model", model, "-i", "in.txt", "-o", "out.npy");
        Assert.That(refused.ExitCode, Is.EqualTo(4), refused.Stderr);
        Assert.That(refused.ErrorLines, Has.Length.EqualTo(1), refused.Stderr);
        Assert.That(refused.ErrorLines[0], Does.Contain("several ONNX files"));
        var run = CliProcess.Run(_dir, "embed", "--model", Path.Combine(model, "onnx", "model.onnx"), "-i", "in.txt", "-o", "out.npy", "--quiet");
        Assert.That(run.ExitCode, Is.Zero, run.Stderr);
        Assert.That(File.Exists(Path.Combine(_dir, "out.npy")), Is.True);
    }
}

/// <summary>A tokenizer.json whose normalizer multiplies the text: refused once the text outgrows a fixed multiple of the input.</summary>
public sealed class NormalizerGrowthTests
{
    private static byte[] TokenizerWith(System.Text.Json.Nodes.JsonNode normalizer)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(LoadingTestSupport.RequireDefaultModel(), "tokenizer.json")))!;
        root["normalizer"] = normalizer;
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    private static System.Text.Json.Nodes.JsonNode Doubling(int steps, bool regex) => new System.Text.Json.Nodes.JsonObject
    {
        ["type"] = "Sequence",
        ["normalizers"] = new System.Text.Json.Nodes.JsonArray(Enumerable.Range(0, steps).Select(_ => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "Replace",
            ["pattern"] = regex ? new System.Text.Json.Nodes.JsonObject { ["Regex"] = "a" } : new System.Text.Json.Nodes.JsonObject { ["String"] = "a" },
            ["content"] = "aa",
        }).ToArray()),
    };

    [TestCase(false)]
    [TestCase(true)]
    public void DoublingReplacementsAreStoppedWithBoundedMemory(bool regex)
    {
        // 20 doublings of 200 characters would be 200 Mi characters (2.4 GB of aligned text) without the limit.
        var tokenizer = NativeAlign.Tokenizers.TokenizerLoader.FromJson(TokenizerWith(Doubling(20, regex)), "crafted/tokenizer.json");
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<ModelFormatException>(() => tokenizer.Encode(new string('a', 200)))!;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(ex.Path, Is.EqualTo("crafted/tokenizer.json"));
        Assert.That(ex.Item, Is.EqualTo("normalizer"));
        Assert.That(ex.Message, Does.Contain("normalizer (Sequence)"));
        Assert.That(allocated, Is.LessThan(1L << 20), "stopped at 8 × 200 + 1024 code units, long before the text could double 20 times");
    }

    [Test]
    public void GrowthWithinTheLimitIsKept()
    {
        // Two doublings (4x) stay under 8x: the text is normalized as asked.
        var tokenizer = NativeAlign.Tokenizers.TokenizerLoader.FromJson(TokenizerWith(Doubling(2, regex: false)), "t.json");
        var plain = NativeAlign.Tokenizers.TokenizerLoader.FromJson(TokenizerWith(new System.Text.Json.Nodes.JsonObject { ["type"] = "Lowercase" }), "t.json");
        Assert.That(tokenizer.Encode(new string('a', 3000), 0).Ids, Is.EqualTo(plain.Encode(new string('a', 12000), 0).Ids));
    }
}

/// <summary>One long line under truncation: the encoder's tokenization goes only as far as the kept tokens need.</summary>
public sealed class LongLineTruncationTests
{
    [Test]
    public void LongLineIsTokenizedOnlyAsFarAsTruncationNeedsWithIdenticalTokens()
    {
        var tokenizer = NativeAlign.Tokenizers.TokenizerLoader.FromModelFolder(LoadingTestSupport.RequireDefaultModel());
        Assert.That(tokenizer.MaxLength, Is.EqualTo(128));
        var random = new Random(20261203);
        string[] words = ["alpha", "Beta", "gamma,", "déjà", "vu", "東京", "running", "unbelievable", "x1y2", "ﬁne", "a\u0301"];
        var line = string.Join(' ', Enumerable.Range(0, 400_000).Select(_ => words[random.Next(words.Length)]));

        // Reference: the whole line tokenized (no truncation), then cut to 128 as truncation does.
        var full = tokenizer.Encode(line, 0);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var cut = tokenizer.EncodeBounded(line);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(cut.Ids[..^1], Is.EqualTo(full.Ids[..127]));
        Assert.That(cut.Ids[^1], Is.EqualTo(full.Ids[^1]), "[SEP]");
        Assert.That(cut.Offsets[..^1], Is.EqualTo(full.Offsets[..127]));
        Assert.That(cut.WordIds[..^1], Is.EqualTo(full.WordIds[..127]));
        Assert.That(cut.TruncatedTokens, Is.GreaterThan(0));
        // The line is 2.8 M characters; tokenizing all of it allocates hundreds of MB.
        Assert.That(allocated, Is.LessThan(4L << 20), $"{allocated} bytes allocated for a line of {line.Length} characters");
    }

    [Test]
    public void LinesThatAreNotCutAreTokenizedWhole()
    {
        var tokenizer = NativeAlign.Tokenizers.TokenizerLoader.FromModelFolder(LoadingTestSupport.RequireDefaultModel());
        // Long in characters (one 60,000-character word is a single [UNK]) but short in tokens: nothing may be cut.
        var line = "start " + new string('x', 60_000) + " end";
        var a = tokenizer.EncodeBounded(line);
        var b = tokenizer.Encode(line, 0);
        Assert.That(a.Ids, Is.EqualTo(b.Ids));
        Assert.That(a.Offsets, Is.EqualTo(b.Offsets));
        Assert.That(a.TruncatedTokens, Is.Zero);
    }
}
