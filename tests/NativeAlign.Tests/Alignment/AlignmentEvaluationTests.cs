using NativeAlign.Alignment.Evaluation;
using NativeAlign.Alignment.Formats;
using NativeAlign.Cli.Commands;

namespace NativeAlign.Tests.Alignment;

/// <summary>AER and friends: hand-made cases from the Och &amp; Ney definition, and the shared gold against peers/aer.py.</summary>
public sealed class AlignmentEvaluationTests
{
    private static readonly string SharedData = Path.Combine(NativeAlign.Tests.Tokenizers.TestPaths.SharedData, "word-alignment");
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("na-aer-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, params string[] lines)
    {
        var p = Path.Combine(_dir, name);
        File.WriteAllText(p, string.Join("\n", lines) + "\n");
        return p;
    }

    [Test]
    public void HandMadeCaseFollowsTheDefinition()
    {
        // Sentence 1: S = {0-0, 1-1}, P = S ∪ {1-2}; A = {0-0, 1-2, 2-2}.
        // Sentence 2: S = {0-1}, P = S; A = {} .
        // |A| = 3, |S| = 3, |A∩S| = 1, |A∩P| = 2 → precision 2/3, recall 1/3, AER = 1 − 3/6 = 0.5, F1 = 2·(2/9)/(1) = 4/9.
        var gold = new List<SentenceAlignment> { PharaohFormat.ParseLine("0-0 1-1 1p2", false), PharaohFormat.ParseLine("0-1", false) };
        var pred = new List<SentenceAlignment> { PharaohFormat.ParseLine("0-0 1-2 2-2", false), PharaohFormat.ParseLine(string.Empty, false) };
        var s = AlignmentEvaluator.Evaluate(gold, pred);
        Assert.That(s.Precision, Is.EqualTo(2.0 / 3).Within(1e-15));
        Assert.That(s.Recall, Is.EqualTo(1.0 / 3).Within(1e-15));
        Assert.That(s.Aer, Is.EqualTo(0.5).Within(1e-15));
        Assert.That(s.F1, Is.EqualTo(4.0 / 9).Within(1e-15));

        // Perfect prediction of the sure links: AER 0 even though possible links are not predicted.
        var perfect = AlignmentEvaluator.Evaluate(gold, [PharaohFormat.ParseLine("0-0 1-1", false), PharaohFormat.ParseLine("0-1", false)]);
        Assert.That(perfect.Aer, Is.EqualTo(0).Within(1e-15));

        // One-indexed gold with '?' marks: "1-1 2?3" is S = {0-0}, P = {0-0, 1-2}.
        var one = PharaohFormat.ParseLine("1-1 2?3", oneIndexed: true);
        Assert.That(one.Sure, Is.EquivalentTo(new[] { (0, 0) }));
        Assert.That(one.Possible, Is.EquivalentTo(new[] { (0, 0), (1, 2) }));
    }

    private static string Perturb(SentenceAlignment gold, Random rng)
    {
        // Keep ~80% of the gold links (sure and possible), add ~15% links to a target word just left of a gold one (still inside the sentence).
        var links = new List<string>();
        foreach (var (i, j) in gold.Possible.OrderBy(p => p))
        {
            if (rng.NextDouble() < 0.8)
            {
                links.Add($"{i}-{j}");
            }

            if (rng.NextDouble() < 0.15)
            {
                links.Add($"{i}-{Math.Max(0, j + rng.Next(-2, 1))}");
            }
        }

        return string.Join(' ', links.Distinct());
    }

    [TestCase("enfr.gold", true, false)]
    [TestCase("roen.gold", true, false)]
    [TestCase("mtref-dev.tsv", false, false)]
    [TestCase("mtref-dev.tsv", false, true)]
    [TestCase("wiki-dev.tsv", false, false)]
    public void SharedGoldScoresMatchTheAerPyTranscription(string goldName, bool oneIndexed, bool possibleAsSure)
    {
        var goldPath = Path.Combine(SharedData, goldName);
        if (!File.Exists(goldPath))
        {
            Assert.Ignore($"shared gold {goldPath} is absent on this machine");
        }

        var gold = goldName.EndsWith(".tsv", StringComparison.Ordinal)
            ? MultiMwaReader.Read(goldPath).Select(p => p.Gold).ToList()
            : PharaohFormat.Read(goldPath, oneIndexed);
        var rng = new Random(goldName.Length);
        var predPath = Write("pred.txt", [.. gold.Select(g => Perturb(g, rng))]);
        var text = goldName.EndsWith(".gold", StringComparison.Ordinal) ? Path.Combine(SharedData, goldName.Replace(".gold", ".src-tgt", StringComparison.Ordinal)) : null;
        var ours = EvalAerCommand.Run(goldPath, predPath, oneIndexed, text, possibleAsSure);
        var args = new List<string> { goldPath, predPath };
        if (oneIndexed)
        {
            args.Add("--one-indexed");
        }

        if (possibleAsSure)
        {
            args.Add("--possible-as-sure");
        }

        using var peer = PythonPeer.Run("aer.py", string.Empty, [.. args]);
        var r = peer.RootElement;
        Assert.That(ours.Predicted, Is.EqualTo(r.GetProperty("a").GetInt64()));
        Assert.That(ours.Sure, Is.EqualTo(r.GetProperty("s").GetInt64()));
        Assert.That(ours.Precision, Is.EqualTo(r.GetProperty("precision").GetDouble()).Within(1e-12));
        Assert.That(ours.Recall, Is.EqualTo(r.GetProperty("recall").GetDouble()).Within(1e-12));
        Assert.That(ours.F1, Is.EqualTo(r.GetProperty("f1").GetDouble()).Within(1e-12));
        Assert.That(ours.Aer, Is.EqualTo(r.GetProperty("aer").GetDouble()).Within(1e-12));
        Assert.That(ours.Aer, Is.InRange(0.05, 0.6), "the perturbed prediction must be neither perfect nor empty");
    }

    [Test]
    public void MalformedLinksAreReportedWithFileAndLine()
    {
        var bad = Write("bad.txt", "0-0 1-1", "0-0 x-1");
        var e = Assert.Throws<InputFormatException>(() => PharaohFormat.Read(bad))!;
        Assert.That(e.Path, Is.EqualTo(bad));
        Assert.That(e.Line, Is.EqualTo(2));

        var zero = Write("zero.txt", "1-1", "0-1");
        e = Assert.Throws<InputFormatException>(() => PharaohFormat.Read(zero, oneIndexed: true))!;
        Assert.That(e.Line, Is.EqualTo(2));

        var score = Write("score.txt", "0-0:0.5 1-1:abc");
        e = Assert.Throws<InputFormatException>(() => PharaohFormat.Read(score))!;
        Assert.That(e.Line, Is.EqualTo(1));
        Assert.That(PharaohFormat.ParseLine("0-0:0.25", false).Links[0].Score, Is.EqualTo(0.25f));
    }

    [Test]
    public void LinksOutOfRangeAreReportedPerLine()
    {
        var text = Write("text.txt", "a b ||| c d", "a ||| b", "x y z ||| u");
        var gold = Write("gold.txt", "0-0 1-1", "0-1", "2-0 3-0");
        var pred = Write("pred.txt", "0-0", "0-0", "0-0");
        var e = Assert.Throws<InputFormatException>(() => EvalAerCommand.Run(gold, pred, false, text, false))!;
        Assert.That(e.Path, Is.EqualTo(gold));
        Assert.That(e.Message, Does.Contain("line 2:").And.Contain("line 3:").And.Contain("2 line(s)"));

        var tsv = Write("g.tsv", "0:0\ta b\tN/A\tc\tN/A\t1\t1\t0-0 1-1\t");
        var t = Assert.Throws<InputFormatException>(() => MultiMwaReader.Read(tsv))!;
        Assert.That(t.Line, Is.EqualTo(1));
    }

    [Test]
    public void SentenceCountMismatchesAreTypedErrors()
    {
        var gold = Write("gold.txt", "0-0", "0-0");
        var pred = Write("pred.txt", "0-0");
        Assert.Throws<InputFormatException>(() => EvalAerCommand.Run(gold, pred, false, null, false));

        var src = Write("src.txt", "a", "b", "c");
        var tgt = Write("tgt.txt", "a", "b");
        var e = Assert.Throws<InputFormatException>(() => ParallelText.ReadPair(src, tgt))!;
        Assert.That(e.Message, Does.Contain("2 lines").And.Contain("3"));

        var joined = Write("j.txt", "a ||| b", "no separator");
        Assert.That(Assert.Throws<InputFormatException>(() => ParallelText.ReadJoined(joined))!.Line, Is.EqualTo(2));
        var ok = ParallelText.ReadJoined(Write("k.txt", "a b ||| c", " ||| "));
        Assert.That(ok.SourceWordCounts, Is.EqualTo(new[] { 2, 0 }));

        var dict = Write("d.tsv", "cat\tchat", "dog chien");
        Assert.That(Assert.Throws<InputFormatException>(() => TsvDictionary.Read(dict))!.Line, Is.EqualTo(2));
    }

    [Test]
    public void CommandLineMapsInputErrorsToExitCode3()
    {
        var root = new System.CommandLine.RootCommand { EvalCommand.Create() };
        var gold = Write("gold.txt", "0-0 z");
        var pred = Write("pred.txt", "0-0");
        var err = new StringWriter();
        var old = Console.Error;
        Console.SetError(err);
        try
        {
            int code = NativeAlign.Cli.CommandRunner.Invoke(root, ["eval", "aer", "--gold", gold, "--pred", pred]);
            Assert.That(code, Is.EqualTo(3));
            Assert.That(err.ToString(), Does.Contain($"{gold}:1:"));
        }
        finally
        {
            Console.SetError(old);
        }
    }
}
