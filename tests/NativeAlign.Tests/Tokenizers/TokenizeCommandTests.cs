using System.Text;
using System.Text.Json;
using NativeAlign.Cli.Commands;
using NativeAlign.IO;
using NativeAlign.Tokenizers;

namespace NativeAlign.Tests.Tokenizers;

/// <summary>
/// <c>nativealign tokenize</c> on hostile input (invalid UTF-8, NUL bytes, CESU-encoded surrogates, a BOM, CRLF,
/// empty lines, a 1 MB line, no final newline): one output line per input line, ids identical to the peer reading the
/// same file, offsets inside the line.
/// </summary>
public sealed class TokenizeCommandTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("na-tokenize-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void HostileFileGivesOneLinePerInputLineMatchingThePeer()
    {
        var input = Path.Combine(_dir, "in.txt");
        using (var f = File.Create(input))
        {
            void W(string s) => f.Write(Encoding.UTF8.GetBytes(s));
            f.Write("\uFEFF"u8);
            W("Hello, BOM!\r\n");
            W("\n");
            f.Write([(byte)'b', (byte)'a', (byte)'d', 0xFF, 0xFE, (byte)' ', (byte)'u', (byte)'t', (byte)'f', 0xC3, (byte)'\n']);
            W("nul\0inside\0\n");
            f.Write([(byte)'s', (byte)'u', (byte)'r', 0xED, 0xA0, 0x80, (byte)'r', (byte)'o', (byte)'g', (byte)'\n']);
            W("   \t \r\n");
            W(string.Join(' ', Enumerable.Repeat("mégaligne", 110_000)) + "\n");
            W("no final newline");
        }

        var tokenizer = TokenizerLoader.FromFile(TestPaths.DefaultTokenizerJson());
        var output = Path.Combine(_dir, "out.jsonl");
        using (var reader = Utf8LineReader.Open(input))
        using (var file = AtomicFile.Create(output))
        {
            TokenizeCommand.Run(tokenizer, reader, input, file.Stream, maxLength: 0, threads: 2);
            file.Commit();
        }

        var ours = File.ReadAllLines(output);
        var peer = PeerTokenizer.Run(TestPaths.DefaultTokenizerJson(), input, jsonStrings: false);
        Assert.That(ours, Has.Length.EqualTo(8));
        Assert.That(peer, Has.Count.EqualTo(8));
        var lines = JsonText.ReadLines(input);
        for (var i = 0; i < ours.Length; i++)
        {
            using var doc = JsonDocument.Parse(ours[i]);
            var ids = doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.That(ids, Is.EqualTo(peer[i].Ids), $"line {i + 1}");
            foreach (var o in doc.RootElement.GetProperty("offsets").EnumerateArray())
            {
                Assert.That(o[1].GetInt32(), Is.LessThanOrEqualTo(lines[i].Length), $"line {i + 1}");
            }
        }
    }

    [Test]
    public void LineReaderReportsInvalidUtf8WithItsLineNumber()
    {
        var bytes = "ok\r\n"u8.ToArray().Concat(new byte[] { 0x61, 0xC3, 0x0A }).Concat("\uFEFFkept"u8.ToArray()).ToArray();
        using var reader = new Utf8LineReader(new MemoryStream(bytes), "mem");
        var lines = reader.ReadAll().ToList();
        Assert.That(lines.Select(l => l.Text), Is.EqualTo(new[] { "ok", "a\uFFFD", "\uFEFFkept" }), "a BOM is skipped only at the start of the file");
        Assert.That(lines.Select(l => l.HadInvalidUtf8), Is.EqualTo(new[] { false, true, false }));
        Assert.That(lines.Select(l => l.Number), Is.EqualTo(new long[] { 1, 2, 3 }));
    }

    [Test]
    public void MalformedTokenizerJsonNamesTheField()
    {
        var path = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(path, """{"model": {"type": "WordPiece", "vocab": {"a": 0}, "unk_token": "[UNK]"}}""");
        var e = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromFile(path));
        Assert.That(e!.Item, Is.EqualTo("model.unk_token"));
        File.WriteAllText(path, """{"model": {"type": "WordPiece", "vocab": {"a": "zero"}, "unk_token": "a"}}""");
        e = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromFile(path));
        Assert.That(e!.Item, Is.EqualTo("model.vocab[\"a\"]"));
        File.WriteAllText(path, """{"model": {"type": "BPE", "vocab": {}, "merges": []}}""");
        e = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromFile(path));
        Assert.That(e!.Item, Is.EqualTo("model.type"));
        File.WriteAllText(path, """{"model": """);
        Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromFile(path));
    }
}
