using System.Diagnostics;
using System.Text.Json;
using NativeAlign.Tokenizers;

namespace NativeAlign.Tests.Tokenizers;

/// <summary>
/// The spm_train'd Unigram fixture (fixtures/make_unigram.py: trained on the first 800 lines of each Tatoeba file) on the
/// held-out lines of all seven languages: the .model through our protobuf reader gives exactly sp.encode's ids (Debian
/// python3-sentencepiece, run live), and its tokenizer.json form gives the same ids through our loader as through
/// @huggingface/tokenizers.
/// </summary>
public sealed class UnigramParityTests
{
    private const int TrainLines = 800;
    private string _heldOut = null!;
    private List<string> _lines = null!;

    [OneTimeSetUp]
    public void WriteHeldOutLines()
    {
        var dir = Path.Combine(TestPaths.SharedData, "tatoeba");
        Assert.That(Directory.Exists(dir), Is.True, $"shared data missing: {dir}");
        _lines = Directory.GetFiles(dir, "tatoeba.*").Order(StringComparer.Ordinal)
            .SelectMany(f => JsonText.ReadLines(f).Skip(TrainLines)).ToList();
        Assert.That(_lines, Has.Count.GreaterThan(1000));
        _heldOut = Path.Combine(Path.GetTempPath(), $"na-unigram-{Environment.ProcessId}.txt");
        File.WriteAllText(_heldOut, string.Join("\n", _lines) + "\n");
    }

    [OneTimeTearDown]
    public void Remove() => File.Delete(_heldOut);

    [Test]
    public void ModelFileIdenticalToSentencePiece()
    {
        var tokenizer = TokenizerLoader.FromFile(Path.Combine(TestPaths.Fixtures, "unigram.model"));
        var expected = RunSentencePiece(Path.Combine(TestPaths.Fixtures, "unigram.model"), _heldOut);
        Assert.That(expected, Has.Count.EqualTo(_lines.Count));
        var results = tokenizer.EncodeBatch(_lines);
        var failures = new List<string>();
        for (var i = 0; i < _lines.Count && failures.Count < 10; i++)
        {
            if (!results[i].Ids.SequenceEqual(expected[i]))
            {
                failures.Add($"line {i + 1} {_lines[i]}:\n  ours {string.Join(' ', results[i].Ids)} ({string.Join(' ', results[i].Tokens)})\n  spm  {string.Join(' ', expected[i])}");
            }
            else if (OffsetInvariants.Check(_lines[i], results[i], tokenizer, null, string.Empty, "\u2581") is { } problem)
            {
                failures.Add($"line {i + 1} {_lines[i]}: {problem}");
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    [TestCase("unigram.model")]
    [TestCase("unigram_bytes.model")]
    public void ModelFileIdenticalToSentencePieceOnAdversarialText(string model)
    {
        // One item per line for the peer: newlines become spaces, lone surrogates U+FFFD (what UTF-8 can carry).
        var lines = JsonText.ReadStrings(Path.Combine(TestPaths.Fixtures, "adversarial.jsonl"))
            .Concat(_lines.Take(300))
            .Select(l => System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(l.Replace('\n', ' ').Replace('\r', ' '))))
            .ToList();
        var input = Path.Combine(Path.GetTempPath(), $"na-unigram-adv-{Environment.ProcessId}.txt");
        File.WriteAllText(input, string.Join("\n", lines) + "\n");
        try
        {
            var modelPath = Path.Combine(TestPaths.Fixtures, model);
            var tokenizer = TokenizerLoader.FromFile(modelPath);
            var expected = RunSentencePiece(modelPath, input);
            Assert.That(expected, Has.Count.EqualTo(lines.Count));
            var failures = new List<string>();
            var byteTokens = 0;
            for (var i = 0; i < lines.Count && failures.Count < 10; i++)
            {
                var ours = tokenizer.Encode(lines[i]);
                byteTokens += ours.Tokens.Count(t => t.StartsWith("<0x", StringComparison.Ordinal));
                if (!ours.Ids.SequenceEqual(expected[i]))
                {
                    failures.Add($"line {i + 1} {WordPieceParityTests.Show(lines[i])}:\n  ours {string.Join(' ', ours.Ids)} ({string.Join(' ', ours.Tokens)})\n  spm  {string.Join(' ', expected[i])}");
                }
                else if (OffsetInvariants.Check(lines[i], ours, tokenizer, null, string.Empty, "\u2581") is { } problem)
                {
                    failures.Add($"line {i + 1} {WordPieceParityTests.Show(lines[i])}: {problem}");
                }
            }

            Assert.That(failures, Is.Empty, string.Join("\n", failures));
            if (model == "unigram_bytes.model")
            {
                Assert.That(byteTokens, Is.GreaterThan(50), "the adversarial set must exercise byte fallback");
            }
        }
        finally
        {
            File.Delete(input);
        }
    }

    [Test]
    public void TokenizerJsonFormIdenticalToPeer()
    {
        var json = Path.Combine(TestPaths.Fixtures, "unigram.tokenizer.json");
        var tokenizer = TokenizerLoader.FromFile(json);
        var peer = PeerTokenizer.Run(json, _heldOut, jsonStrings: false);
        Assert.That(peer, Has.Count.EqualTo(_lines.Count));
        var unk = tokenizer.TokenToId("<unk>");
        var results = tokenizer.EncodeBatch(_lines);
        var failures = new List<string>();
        for (var i = 0; i < _lines.Count && failures.Count < 10; i++)
        {
            var ours = results[i];
            // The peer spells an unknown piece as the text it covers, not as <unk>; ids decide there.
            var tokensAgree = ours.Tokens.Zip(peer[i].Tokens, ours.Ids).All(t => t.Third == unk || t.First == t.Second);
            if (!ours.Ids.SequenceEqual(peer[i].Ids) || !tokensAgree)
            {
                failures.Add($"line {i + 1} {_lines[i]}:\n  ours {string.Join(' ', ours.Tokens)}\n  peer {string.Join(' ', peer[i].Tokens)}");
            }
            else if (OffsetInvariants.Check(_lines[i], ours, tokenizer, null, string.Empty, "\u2581") is { } problem)
            {
                failures.Add($"line {i + 1} {_lines[i]}: {problem}");
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    [Test]
    public void MalformedModelNamesTheField()
    {
        var bytes = File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "unigram.model"));
        var path = Path.Combine(Path.GetTempPath(), $"na-bad-{Environment.ProcessId}.model");
        try
        {
            File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
            var e = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromFile(path));
            Assert.That(e!.Item, Is.Not.Null);
            File.WriteAllBytes(path, [0x0A, 0xFF, 0xFF, 0xFF, 0x0F]);
            e = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromFile(path));
            Assert.That(e!.Message, Does.Contain("runs past the end"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static List<int[]> RunSentencePiece(string model, string input)
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python))
        {
            Assert.Ignore("/usr/bin/python3 is not installed: the sentencepiece peer cannot run");
        }

        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(TestPaths.PeersDir, "spm_encode.py"));
        psi.ArgumentList.Add(model);
        psi.ArgumentList.Add(input);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var result = new List<int[]>();
        while (process.StandardOutput.ReadLine() is { } line)
        {
            using var doc = JsonDocument.Parse(line);
            result.Add(doc.RootElement.EnumerateArray().Select(e => e.GetInt32()).ToArray());
        }

        process.WaitForExit();
        Assert.That(process.ExitCode, Is.EqualTo(0), () => "sentencepiece peer failed (is python3-sentencepiece installed?): " + stderr.Result);
        return result;
    }
}
