using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using NativeAlign.Tests.Tokenizers;
using NativeAlign.Tokenizers;

namespace NativeAlign.Tests.Hardening;

/// <summary>
/// Fuzz-style tests of the tokenizer file parsers — <c>tokenizer.json</c>, SentencePiece <c>.model</c>, WordPiece
/// <c>vocab.txt</c> — with the conventions of <see cref="FuzzSupport"/>. A mutated file that loads is then used: a set
/// of probe texts is encoded (single, pair, batch, padded), so the mutations also reach the runtime paths (tries,
/// charsmaps, templates, regular expressions) that a loaded but odd tokenizer drives.
/// </summary>
public sealed class TokenizerFuzzTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("na-fuzz-tok-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>Encodes every probe every way the tokenizer offers (the coverage-guided targets do the same).</summary>
    private static void Exercise(Tokenizer tokenizer) => NativeAlign.Fuzz.FuzzTargets.ExerciseTokenizer(tokenizer);

    /// <summary>A WordPiece tokenizer.json: the default model's, with its vocabulary cut to the first 3000 ids to keep each input fast.</summary>
    private static string SmallWordPieceJson()
    {
        var root = JsonNode.Parse(File.ReadAllText(TestPaths.DefaultTokenizerJson()))!;
        var vocab = root["model"]!["vocab"]!.AsObject();
        var kept = new JsonObject();
        foreach (var (token, id) in vocab)
        {
            if (id!.GetValue<int>() < 3000)
            {
                kept[token] = id.GetValue<int>();
            }
        }

        root["model"]!["vocab"] = kept;
        return root.ToJsonString();
    }

    /// <summary>The small WordPiece tokenizer with the other normalizers, pre-tokenizers and post-processor the reader knows, so mutations reach them.</summary>
    private static string ComponentsJson()
    {
        var root = JsonNode.Parse(SmallWordPieceJson())!;
        root["normalizer"] = JsonNode.Parse("""
            {"type": "Sequence", "normalizers": [
              {"type": "NFKC"}, {"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"},
              {"type": "Strip", "strip_left": true, "strip_right": true},
              {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
              {"type": "Replace", "pattern": {"String": "``"}, "content": "\""},
              {"type": "Prepend", "prepend": " "}, {"type": "NFC"}, {"type": "NFKD"}]}
            """);
        root["pre_tokenizer"] = JsonNode.Parse("""
            {"type": "Sequence", "pretokenizers": [
              {"type": "WhitespaceSplit"}, {"type": "Digits", "individual_digits": true},
              {"type": "Punctuation", "behavior": "Isolated"},
              {"type": "Split", "pattern": {"Regex": "'s|'t|\\p{L}+"}, "behavior": "Isolated", "invert": false},
              {"type": "Whitespace"},
              {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}]}
            """);
        root["post_processor"] = JsonNode.Parse("""{"type": "RobertaProcessing", "cls": ["[CLS]", 101], "sep": ["[SEP]", 102]}""");
        return root.ToJsonString();
    }

    /// <summary>The Unigram fixture (spm_train'd, with a precompiled charsmap) with its vocabulary cut to 1500 pieces.</summary>
    private static string SmallUnigramJson()
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixtures, "unigram.tokenizer.json")))!;
        var vocab = root["model"]!["vocab"]!.AsArray();
        while (vocab.Count > 1500)
        {
            vocab.RemoveAt(vocab.Count - 1);
        }

        return root.ToJsonString();
    }

    private static readonly Func<Random, JsonNode?>[] OddValues =
    [
        _ => null,
        _ => "text",
        _ => string.Empty,
        _ => "(",
        _ => "a{2147483647}",
        _ => -1,
        _ => 0,
        _ => int.MaxValue,
        _ => (long)int.MaxValue + 1,
        _ => long.MaxValue,
        _ => long.MinValue,
        _ => 1e308,
        _ => -1e308,
        _ => 2.5,
        _ => true,
        _ => false,
        _ => new JsonArray(),
        _ => new JsonArray(1, 2),
        _ => new JsonArray("x", -5),
        _ => new JsonObject(),
        _ => new JsonObject { ["type"] = "Sequence" },
        r => new string('x', r.Next(1, 100_000)),
    ];

    private const string Placeholder = "PLACEHOLDER7f3a9c";

    /// <summary>Every node of the tree (the children of a vocabulary sampled, so the structure gets most of the mutations).</summary>
    private static List<JsonNode> Nodes(JsonNode root, Random random)
    {
        var nodes = new List<JsonNode>();
        void Walk(JsonNode node, bool vocabulary)
        {
            nodes.Add(node);
            switch (node)
            {
                case JsonObject o:
                    foreach (var (key, child) in o)
                    {
                        if (child is not null && (!vocabulary || random.Next(100) == 0))
                        {
                            Walk(child, key == "vocab");
                        }
                    }

                    break;
                case JsonArray a:
                    foreach (var child in a)
                    {
                        if (child is not null && (!vocabulary || random.Next(100) == 0))
                        {
                            Walk(child, false);
                        }
                    }

                    break;
            }
        }

        Walk(root, false);
        return nodes;
    }

    /// <summary>One structural or textual mutation of a tokenizer.json document.</summary>
    private static string MutateJson(string json, Random random, FuzzSupport.Tally tally)
    {
        int kind = random.Next(8);
        if (kind == 0)
        {
            tally.Fault("bytes (flips, truncation, junk, huge lengths)");
            return Encoding.UTF8.GetString(FuzzSupport.MutateBytes(Encoding.UTF8.GetBytes(json), random, protobuf: false));
        }

        var root = JsonNode.Parse(json)!;
        var nodes = Nodes(root, random);
        var target = nodes[random.Next(1, nodes.Count)];
        string? replacement = null;
        switch (kind)
        {
            case 1:
            case 2:
                tally.Fault("wrong type or extreme value");
                Replace(target, OddValues[random.Next(OddValues.Length)](random));
                break;
            case 3:
                tally.Fault("missing field");
                if (target.Parent is JsonObject parent)
                {
                    parent.Remove(target.GetPropertyName());
                }
                else if (target.Parent is JsonArray array)
                {
                    array.RemoveAt(target.GetElementIndex());
                }

                break;
            case 4:
                tally.Fault("deep nesting");
                int depth = random.Next(10, 5000);
                replacement = random.Next(2) == 0 ? new string('[', depth) + new string(']', depth) : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
                break;
            case 5:
                tally.Fault("huge number");
                replacement = random.Next(3) switch
                {
                    0 => "1" + new string('0', random.Next(20, 400)),
                    1 => "-" + new string('9', random.Next(20, 400)),
                    _ => "1e99999",
                };
                break;
            case 6:
                tally.Fault("duplicated element");
                if (target.Parent is JsonArray list)
                {
                    list.Insert(target.GetElementIndex(), target.DeepClone());
                }
                else if (target.Parent is JsonObject obj)
                {
                    obj[target.GetPropertyName() + "_"] = target.DeepClone();
                }

                break;
            default:
                // Charsmap bytes: decoded, mutated, re-encoded, so the trie itself (not the base64) is hostile.
                var charsmap = nodes.FirstOrDefault(n => n.Parent is JsonObject && n.GetPropertyName() == "precompiled_charsmap");
                if (charsmap is not null)
                {
                    tally.Fault("precompiled charsmap bytes");
                    var blob = Convert.FromBase64String(charsmap.GetValue<string>());
                    Replace(charsmap, Convert.ToBase64String(FuzzSupport.MutateBytes(blob, random, protobuf: false)));
                }
                else
                {
                    tally.Fault("wrong type or extreme value");
                    Replace(target, OddValues[random.Next(OddValues.Length)](random));
                }

                break;
        }

        if (replacement is null)
        {
            return root.ToJsonString();
        }

        Replace(target, Placeholder);
        return root.ToJsonString().Replace("\"" + Placeholder + "\"", replacement, StringComparison.Ordinal);
    }

    private static void Replace(JsonNode target, JsonNode? value)
    {
        switch (target.Parent)
        {
            case JsonObject o:
                o[target.GetPropertyName()] = value;
                break;
            case JsonArray a:
                a[target.GetElementIndex()] = value;
                break;
        }
    }

    [Test]
    public void TokenizerJson()
    {
        string[] originals = [SmallWordPieceJson(), ComponentsJson(), SmallUnigramJson()];
        foreach (var original in originals)
        {
            // The unmutated inputs must load and encode: otherwise every mutation is rejected for the wrong reason.
            Exercise(TokenizerLoader.FromJson(Encoding.UTF8.GetBytes(original), "original"));
        }

        var random = new Random(FuzzSupport.Seed);
        var tally = new FuzzSupport.Tally("tokenizer.json");
        int n = FuzzSupport.Iterations(1500);
        string path = Path.Combine(_dir, "tokenizer.json");
        for (int i = 0; i < n; i++)
        {
            var bytes = Encoding.UTF8.GetBytes(MutateJson(originals[i % originals.Length], random, tally));
            File.WriteAllBytes(path, bytes);
            FuzzSupport.Run(tally, i, bytes.Length, () => Exercise(TokenizerLoader.FromFile(path)));
        }

        FuzzSupport.Report(n, tally);
    }

    [Test]
    public void VocabTxt()
    {
        var lines = File.ReadLines(Path.Combine(TestPaths.DefaultModel, "vocab.txt")).Take(3000).ToList();
        Assume.That(lines, Has.Count.EqualTo(3000), "the default model's vocab.txt (scripts/setup.sh)");
        var original = string.Join('\n', lines) + "\n";
        Exercise(TokenizerLoader.FromVocabFile(WriteTemp(original)));
        var random = new Random(FuzzSupport.Seed);
        var tally = new FuzzSupport.Tally("vocab.txt");
        int n = FuzzSupport.Iterations(1500);
        string path = Path.Combine(_dir, "vocab.txt");
        for (int i = 0; i < n; i++)
        {
            byte[] bytes;
            var mutated = new List<string>(lines);
            switch (random.Next(6))
            {
                case 0:
                case 1:
                    tally.Fault("bytes (flips, truncation, junk, huge lengths)");
                    bytes = FuzzSupport.MutateBytes(Encoding.UTF8.GetBytes(original), random, protobuf: false);
                    break;
                case 2:
                    tally.Fault("lines removed (special tokens included)");
                    for (int k = 1 + random.Next(20); k > 0; k--)
                    {
                        mutated.RemoveAt(random.Next(Math.Min(mutated.Count, 120)));
                    }

                    bytes = Encoding.UTF8.GetBytes(string.Join('\n', mutated));
                    break;
                case 3:
                    tally.Fault("lines duplicated or emptied");
                    for (int k = 1 + random.Next(20); k > 0; k--)
                    {
                        int at = random.Next(mutated.Count);
                        if (random.Next(2) == 0)
                        {
                            mutated.Insert(at, mutated[random.Next(mutated.Count)]);
                        }
                        else
                        {
                            mutated[at] = string.Empty;
                        }
                    }

                    bytes = Encoding.UTF8.GetBytes(string.Join('\n', mutated));
                    break;
                case 4:
                    tally.Fault("huge or odd lines (1 MB, NUL, lone CR, ##-only)");
                    mutated.Insert(random.Next(mutated.Count), random.Next(4) switch
                    {
                        0 => new string('a', 1 << 20),
                        1 => "\0\0",
                        2 => "\r",
                        _ => "##",
                    });
                    bytes = Encoding.UTF8.GetBytes(string.Join('\n', mutated));
                    break;
                default:
                    tally.Fault("CRLF, BOM, no final newline");
                    bytes = Encoding.UTF8.GetBytes((random.Next(2) == 0 ? "\uFEFF" : string.Empty) + string.Join(random.Next(2) == 0 ? "\r\n" : "\n", mutated));
                    break;
            }

            File.WriteAllBytes(path, bytes);
            FuzzSupport.Run(tally, i, bytes.Length, () => Exercise(TokenizerLoader.FromVocabFile(path)));
        }

        FuzzSupport.Report(n, tally);
    }

    private string WriteTemp(string text)
    {
        var path = Path.Combine(_dir, "original.txt");
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>A protobuf field: its tag, wire type and (for wire type 2) payload; other wire types keep their raw value bytes.</summary>
    private readonly record struct ProtoField(ulong Tag, byte[] Value)
    {
        public int Wire => (int)(Tag & 7);
    }

    private static ulong ReadVarint(byte[] data, ref int pos)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = data[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }

    private static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }

        output.Add((byte)value);
    }

    /// <summary>Splits a well-formed message into fields (the fixtures are valid, so no bounds checks are needed here).</summary>
    private static List<ProtoField> Split(byte[] message)
    {
        var fields = new List<ProtoField>();
        int pos = 0;
        while (pos < message.Length)
        {
            ulong tag = ReadVarint(message, ref pos);
            int start = pos;
            switch ((int)(tag & 7))
            {
                case 0: ReadVarint(message, ref pos); break;
                case 1: pos += 8; break;
                case 5: pos += 4; break;
                default:
                    int length = (int)ReadVarint(message, ref pos);
                    fields.Add(new ProtoField(tag, message[pos..(pos + length)]));
                    pos += length;
                    continue;
            }

            fields.Add(new ProtoField(tag, message[start..pos]));
        }

        return fields;
    }

    /// <summary>Writes fields back; <paramref name="declaredLength"/> overrides one field's length prefix (the hostile part).</summary>
    private static byte[] Join(List<ProtoField> fields, int hugeAt = -1, ulong declaredLength = 0)
    {
        var output = new List<byte>();
        for (int i = 0; i < fields.Count; i++)
        {
            WriteVarint(output, fields[i].Tag);
            if (fields[i].Wire == 2)
            {
                WriteVarint(output, i == hugeAt ? declaredLength : (ulong)fields[i].Value.Length);
            }

            output.AddRange(fields[i].Value);
        }

        return output.ToArray();
    }

    private static readonly ulong[] HugeLengths = [1UL << 31, (1UL << 31) - 1, 1UL << 32, ulong.MaxValue, (ulong)int.MaxValue + 7, 1UL << 62];

    /// <summary>One mutation of a .model: raw bytes, a huge declared length (top level, in a piece, in the normalizer spec), or hostile charsmap bytes.</summary>
    private static byte[] MutateModel(byte[] model, Random random, FuzzSupport.Tally tally)
    {
        var top = Split(model);
        switch (random.Next(5))
        {
            case 0:
            case 1:
                tally.Fault("bytes (flips, truncation, junk, 10-byte varints)");
                return FuzzSupport.MutateBytes(model, random, protobuf: true);
            case 2:
            {
                tally.Fault("huge length field (top level)");
                var delimited = Enumerable.Range(0, top.Count).Where(i => top[i].Wire == 2).ToArray();
                return Join(top, delimited[random.Next(delimited.Length)], HugeLengths[random.Next(HugeLengths.Length)]);
            }

            case 3:
            {
                tally.Fault("huge length field (inside a piece or spec)");
                var delimited = Enumerable.Range(0, top.Count).Where(i => top[i].Wire == 2).ToArray();
                int outer = delimited[random.Next(delimited.Length)];
                var inner = Split(top[outer].Value);
                var innerDelimited = Enumerable.Range(0, inner.Count).Where(i => inner[i].Wire == 2).ToArray();
                if (innerDelimited.Length == 0)
                {
                    return Join(top, outer, HugeLengths[random.Next(HugeLengths.Length)]);
                }

                top[outer] = top[outer] with { Value = Join(inner, innerDelimited[random.Next(innerDelimited.Length)], HugeLengths[random.Next(HugeLengths.Length)]) };
                return Join(top);
            }

            default:
            {
                tally.Fault("precompiled charsmap bytes");
                int spec = top.FindIndex(f => f.Tag >> 3 == 3);
                var inner = Split(top[spec].Value);
                int map = inner.FindIndex(f => f.Tag >> 3 == 2);
                inner[map] = inner[map] with { Value = FuzzSupport.MutateBytes(inner[map].Value, random, protobuf: false) };
                top[spec] = top[spec] with { Value = Join(inner) };
                return Join(top);
            }
        }
    }

    [Test]
    public void SentencePieceModel()
    {
        string[] names = ["unigram.model", "unigram_bytes.model"];
        var originals = names.Select(f => File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, f))).ToArray();
        for (int k = 0; k < originals.Length; k++)
        {
            Assert.That(Join(Split(originals[k])), Is.EqualTo(originals[k]), $"{names[k]}: the field splitter must round-trip before it mutates");
            Exercise(TokenizerLoader.FromFile(Path.Combine(TestPaths.Fixtures, names[k])));
        }

        var random = new Random(FuzzSupport.Seed);
        var tally = new FuzzSupport.Tally("SentencePiece .model");
        int n = FuzzSupport.Iterations(1000);
        string path = Path.Combine(_dir, "fuzz.model");
        for (int i = 0; i < n; i++)
        {
            var bytes = MutateModel(originals[i % originals.Length], random, tally);
            File.WriteAllBytes(path, bytes);
            FuzzSupport.Run(tally, i, bytes.Length, () => Exercise(TokenizerLoader.FromFile(path)));
        }

        FuzzSupport.Report(n, tally);
    }

    /// <summary>A tiny .model whose first piece declares 2 GiB: refused as a typed error, with no allocation of that size.</summary>
    [TestCase(1UL << 31)]
    [TestCase(ulong.MaxValue)]
    public void ModelDeclaringAHugePieceIsRefusedWithoutAllocatingIt(ulong declared)
    {
        var bytes = new List<byte> { 0x0A };
        WriteVarint(bytes, declared);
        bytes.AddRange("\x0A\x03abc"u8.ToArray());
        var path = Path.Combine(_dir, "huge.model");
        File.WriteAllBytes(path, bytes.ToArray());
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromFile(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(e!.Message, Does.Contain(path).And.Contain("pieces[0]"));
        Assert.That(allocated, Is.LessThan(1 << 20), "the declared length must be checked against the file before anything is allocated for it");
    }

    /// <summary>A charsmap declaring a trie larger than itself is refused (the blob is untrusted, not only the protobuf around it).</summary>
    [Test]
    public void CharsmapDeclaringAHugeTrieIsRefused()
    {
        var blob = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(blob, 0xFFFFFFFC);
        var json = """{"normalizer": {"type": "Precompiled", "precompiled_charsmap": "BLOB"}, "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0]]}}""".Replace("BLOB", Convert.ToBase64String(blob), StringComparison.Ordinal);
        var e = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromJson(Encoding.UTF8.GetBytes(json), "t.json"));
        Assert.That(e!.Item, Is.EqualTo("normalizer.precompiled_charsmap"));
    }

    /// <summary>
    /// A pattern written to backtrack catastrophically stops the encode after the regex time limit with a typed model
    /// error (not RegexMatchTimeoutException, not a stall), for a Split pre-tokenizer and a Replace normalizer alike.
    /// </summary>
    [TestCase("pre_tokenizer", """{"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated", "invert": false}""")]
    [TestCase("normalizer", """{"type": "Replace", "pattern": {"Regex": "(a|aa)+$"}, "content": "b"}""")]
    public void CatastrophicRegexIsATypedError(string section, string component)
    {
        var root = JsonNode.Parse(SmallWordPieceJson())!;
        root[section] = JsonNode.Parse(component);
        var tokenizer = TokenizerLoader.FromJson(Encoding.UTF8.GetBytes(root.ToJsonString()), "hostile.json");
        Assert.That(tokenizer.Encode("aaaa").Ids, Is.Not.Empty, "short inputs still work");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<ModelFormatException>(() => tokenizer.Encode(new string('a', 5000) + "!"));
        Assert.That(e!.Message, Does.Contain("catastrophic backtracking"));
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "bounded by the regex time limit, not by the pattern");
    }
}
