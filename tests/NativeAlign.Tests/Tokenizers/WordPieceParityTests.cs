using NativeAlign.Tokenizers;

namespace NativeAlign.Tests.Tokenizers;

/// <summary>
/// The default model's tokenizer.json against the peer @huggingface/tokenizers (run live through node): identical ids and
/// tokens on every Tatoeba line and on the adversarial set; offsets and word ids checked by invariants, words against the
/// peer's pre-tokenizer output.
/// </summary>
public sealed class WordPieceParityTests
{
    private static Tokenizer _tokenizer = null!;

    [OneTimeSetUp]
    public static void Load() => _tokenizer = TokenizerLoader.FromFile(TestPaths.DefaultTokenizerJson());

    public static IEnumerable<string> TatoebaFiles()
    {
        var dir = Path.Combine(TestPaths.SharedData, "tatoeba");
        return Directory.Exists(dir) ? Directory.GetFiles(dir, "tatoeba.*").Order(StringComparer.Ordinal).Select(p => Path.GetFileName(p)) : ["<missing: ../shared/data/tatoeba>"];
    }

    [TestCaseSource(nameof(TatoebaFiles))]
    public void TatoebaIdenticalToPeer(string file)
    {
        var path = Path.Combine(TestPaths.SharedData, "tatoeba", file);
        Assert.That(File.Exists(path), Is.True, $"shared data missing: {path}");
        var lines = JsonText.ReadLines(path);
        Assert.That(lines, Has.Count.GreaterThan(100));
        CheckAgainstPeer(lines, PeerTokenizer.Run(TestPaths.DefaultTokenizerJson(), path, jsonStrings: false));
    }

    [Test]
    public void AdversarialIdenticalToPeer()
    {
        var path = Path.Combine(TestPaths.Fixtures, "adversarial.jsonl");
        var lines = JsonText.ReadStrings(path);
        Assert.That(lines, Has.Count.GreaterThan(50));
        CheckAgainstPeer(lines, PeerTokenizer.Run(TestPaths.DefaultTokenizerJson(), path, jsonStrings: true));
    }

    [Test]
    public void TruncationKeepsThePeersPrefixAndTheSeparator()
    {
        var path = Path.Combine(TestPaths.Fixtures, "adversarial.jsonl");
        var lines = JsonText.ReadStrings(path);
        var peer = PeerTokenizer.Run(TestPaths.DefaultTokenizerJson(), path, jsonStrings: true);
        Assert.That(_tokenizer.MaxLength, Is.EqualTo(128), "tokenizer.json says truncation.max_length 128");
        var truncatedLines = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            var ours = _tokenizer.Encode(lines[i]);
            var expected = peer[i].Ids;
            if (expected.Length > 128)
            {
                truncatedLines++;
                expected = [.. expected[..127], expected[^1]];
            }

            Assert.That(ours.Ids, Is.EqualTo(expected), $"line {i + 1}");
            Assert.That(ours.TruncatedTokens, Is.EqualTo(peer[i].Ids.Length - expected.Length), $"line {i + 1}");
        }

        Assert.That(truncatedLines, Is.GreaterThanOrEqualTo(3));
    }

    private static void CheckAgainstPeer(List<string> lines, List<PeerEncoding> peer)
    {
        Assert.That(peer, Has.Count.EqualTo(lines.Count), "the peer must answer every line");
        var failures = new List<string>();
        var results = _tokenizer.EncodeBatch(lines, maxLength: 0);
        for (var i = 0; i < lines.Count && failures.Count < 10; i++)
        {
            var ours = results[i];
            if (!ours.Ids.SequenceEqual(peer[i].Ids) || !ours.Tokens.SequenceEqual(peer[i].Tokens))
            {
                failures.Add($"line {i + 1} {Show(lines[i])}:\n  ours {string.Join(' ', ours.Tokens)}\n  peer {string.Join(' ', peer[i].Tokens)}");
                continue;
            }

            if (OffsetInvariants.Check(lines[i], ours, _tokenizer, peer[i].Words, "##") is { } problem)
            {
                failures.Add($"line {i + 1} {Show(lines[i])}: {problem}");
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    internal static string Show(string s) => s.Length > 80 ? s[..80] + "…" : s;
}

/// <summary>Padding a batch: each row is the peer's ids followed (or preceded) by [PAD], the mask marks exactly the tokens.</summary>
public sealed class PaddingTests
{
    [TestCase(false)]
    [TestCase(true)]
    public void PaddedRowsAreThePeersIdsPlusPadding(bool padLeft)
    {
        var path = Path.Combine(TestPaths.SharedData, "tatoeba", "tatoeba.deu-eng.deu");
        var lines = JsonText.ReadLines(path);
        var peer = PeerTokenizer.Run(TestPaths.DefaultTokenizerJson(), path, jsonStrings: false);
        var tokenizer = TokenizerLoader.FromFile(TestPaths.DefaultTokenizerJson());
        var batch = tokenizer.Pad(tokenizer.EncodeBatch(lines[..64]), padToMultipleOf: 8, padLeft: padLeft);
        var longest = peer.Take(64).Max(p => p.Ids.Length);
        Assert.That(batch.Length, Is.EqualTo((longest + 7) / 8 * 8));
        var padId = tokenizer.TokenToId("[PAD]");
        for (var r = 0; r < 64; r++)
        {
            var expected = peer[r].Ids;
            var padding = Enumerable.Repeat(padId!.Value, batch.Length - expected.Length);
            var row = batch.Ids.AsSpan(r * batch.Length, batch.Length).ToArray();
            Assert.That(row, Is.EqualTo(padLeft ? padding.Concat(expected) : expected.Concat(padding)), $"row {r}");
            var mask = batch.AttentionMask.AsSpan(r * batch.Length, batch.Length).ToArray();
            Assert.That(mask.Zip(row).All(p => (p.First == 1) == (p.Second != padId)), Is.True, $"row {r}");
        }
    }
}

/// <summary>A model folder with only vocab.txt gets BERT's defaults; its ids equal the peer's on tokenizer.json.</summary>
public sealed class VocabFileTests
{
    [Test]
    public void VocabTxtFolderMatchesThePeer()
    {
        var dir = Directory.CreateTempSubdirectory("na-vocab-").FullName;
        try
        {
            File.Copy(Path.Combine(TestPaths.DefaultModel, "vocab.txt"), Path.Combine(dir, "vocab.txt"));
            var tokenizer = TokenizerLoader.FromModelFolder(dir);
            var path = Path.Combine(TestPaths.Fixtures, "adversarial.jsonl");
            var lines = JsonText.ReadStrings(path);
            var peer = PeerTokenizer.Run(TestPaths.DefaultTokenizerJson(), path, jsonStrings: true);
            for (var i = 0; i < lines.Count; i++)
            {
                Assert.That(tokenizer.Encode(lines[i], 0).Ids, Is.EqualTo(peer[i].Ids), $"line {i + 1} {WordPieceParityTests.Show(lines[i])}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
