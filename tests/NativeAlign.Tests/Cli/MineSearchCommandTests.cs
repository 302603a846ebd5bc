using System.Globalization;
using NativeAlign.Cli;
using NativeAlign.Cli.Commands;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Cli;

/// <summary>
/// <c>nativealign mine</c> and <c>search</c> on the default model against known ground truth: a permutation of
/// paraphrases that the miner must undo, and corpus lines that must find themselves.
/// </summary>
[TestFixture]
public sealed class MineSearchCommandTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "na-mine-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [TestCase("ratio", "max")]
    [TestCase("distance", "intersection")]
    [TestCase("absolute", "forward")]
    public void MiningRecoversAKnownPermutationOfParaphrasesSortedByScore(string margin, string strategy)
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        var pairs = DemoCommand.Pairs;
        int[] perm = [4, 2, 5, 0, 3, 1];
        string src = Path.Combine(_dir, "s.txt"), tgt = Path.Combine(_dir, "t.txt"), output = Path.Combine(_dir, "o.tsv");
        File.WriteAllLines(src, pairs.Select(p => p.Left));
        File.WriteAllLines(tgt, perm.Select(i => pairs[i].Right));
        int code = AlignCommandTests.Run("mine", "--model", model, "--src", src, "--tgt", tgt, "--output", output, "--k", "2", "--margin", margin, "--strategy", strategy);
        Assert.That(code, Is.EqualTo(0));
        var rows = File.ReadAllLines(output).Select(l => l.Split('\t')).ToList();
        Assert.That(rows, Has.Count.EqualTo(pairs.Length));
        var truth = pairs.ToDictionary(p => p.Left, p => p.Right);
        foreach (var r in rows)
        {
            Assert.That(r, Has.Length.EqualTo(3), "score<TAB>src<TAB>tgt");
            Assert.That(r[2], Is.EqualTo(truth[r[1]]), $"mined pair for '{r[1]}'");
        }

        var scores = rows.Select(r => double.Parse(r[0], CultureInfo.InvariantCulture)).ToList();
        Assert.That(scores, Is.Ordered.Descending);
    }

    [Test]
    public void MiningFromPrecomputedEmbeddingsRecoversTheSamePermutation()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        var pairs = DemoCommand.Pairs;
        int[] perm = [4, 2, 5, 0, 3, 1];
        string src = Path.Combine(_dir, "s.txt"), tgt = Path.Combine(_dir, "t.txt"), output = Path.Combine(_dir, "o.tsv");
        string srcNpy = Path.Combine(_dir, "s.npy"), tgtNpy = Path.Combine(_dir, "t.npy");
        File.WriteAllLines(src, pairs.Select(p => p.Left));
        File.WriteAllLines(tgt, perm.Select(i => pairs[i].Right));
        var embed = new System.CommandLine.RootCommand { EmbedCommand.Create() };
        Assert.That(CommandRunner.Invoke(embed, ["embed", "--model", model, "--input", src, "--output", srcNpy, "--quiet"]), Is.EqualTo(0));
        Assert.That(CommandRunner.Invoke(embed, ["embed", "--model", model, "--input", tgt, "--output", tgtNpy, "--quiet"]), Is.EqualTo(0));

        // Only the target precomputed (the source embedded by mine), then both: no model is needed for the second.
        foreach (var args in new[] { new[] { "--model", model, "--target-embeddings", tgtNpy }, ["--model", Path.Combine(_dir, "no-model"), "--source-embeddings", srcNpy, "--target-embeddings", tgtNpy] })
        {
            int code = AlignCommandTests.Run(["mine", "--src", src, "--tgt", tgt, "--output", output, "--k", "2", "--indices", "--quiet", .. args]);
            Assert.That(code, Is.EqualTo(0), string.Join(' ', args));
            var rows = File.ReadAllLines(output).Select(l => l.Split('\t')).ToList();
            Assert.That(rows, Has.Count.EqualTo(pairs.Length));
            foreach (var r in rows)
            {
                int i = int.Parse(r[3], CultureInfo.InvariantCulture) - 1, j = int.Parse(r[4], CultureInfo.InvariantCulture) - 1;
                Assert.That(perm[j], Is.EqualTo(i), $"target line {j + 1} is the paraphrase of source line {i + 1}");
                Assert.That((r[1], r[2]), Is.EqualTo((pairs[i].Left, pairs[i].Right)), "the sentences are read back from the inputs");
            }
        }

        // Embeddings that do not belong to the text (one row short) are an input error naming the .npy.
        File.WriteAllLines(tgt, perm.Skip(1).Select(i => pairs[i].Right));
        var (failed, stderr) = AlignCommandTests.RunCapturingErrors("mine", "--model", model, "--src", src, "--tgt", tgt, "--output", output, "--target-embeddings", tgtNpy, "--quiet");
        Assert.That(failed, Is.EqualTo(3), stderr);
        Assert.That(stderr, Does.Contain(tgtNpy).And.Contain("6 rows").And.Contain("5 lines"));
    }

    [Test]
    public void ThresholdDropsPairsBelowIt()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        string src = Path.Combine(_dir, "s.txt"), tgt = Path.Combine(_dir, "t.txt"), output = Path.Combine(_dir, "o.tsv");
        File.WriteAllLines(src, DemoCommand.Pairs.Select(p => p.Left));
        File.WriteAllLines(tgt, DemoCommand.Pairs.Select(p => p.Right));

        // Absolute margin = cosine, and no cosine of two sentences exceeds 1.
        Assert.That(AlignCommandTests.Run("mine", "--model", model, "--src", src, "--tgt", tgt, "--output", output, "--margin", "absolute", "--threshold", "1.0001"), Is.EqualTo(0));
        Assert.That(File.ReadAllLines(output), Is.Empty);
    }

    [Test]
    public void SearchFindsEachQueryItselfFirstWithCosineOneAndCslsAgrees()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        string corpus = Path.Combine(_dir, "c.txt"), query = Path.Combine(_dir, "q.txt");
        var lines = DemoCommand.Pairs.SelectMany(p => new[] { p.Left, p.Right }).ToArray();
        File.WriteAllLines(corpus, lines);
        File.WriteAllLines(query, [lines[7], lines[2]]);
        foreach (var csls in new[] { false, true })
        {
            string output = Path.Combine(_dir, $"o{csls}.tsv");
            string[] args = ["search", "--model", model, "--query", query, "--corpus", corpus, "--k", "3", "--output", output, .. csls ? new[] { "--csls" } : []];
            Assert.That(AlignCommandTests.Run(args), Is.EqualTo(0));
            var rows = File.ReadAllLines(output).Select(l => l.Split('\t')).ToList();
            Assert.That(rows, Has.Count.EqualTo(6));
            Assert.That(rows[0][3], Is.EqualTo("8"), "query 1 is corpus line 8");
            Assert.That(rows[3][3], Is.EqualTo("3"), "query 2 is corpus line 3");
            if (!csls)
            {
                Assert.That(double.Parse(rows[0][2], CultureInfo.InvariantCulture), Is.EqualTo(1.0).Within(1e-4));
            }

            // The second hit of each query is its paraphrase partner.
            Assert.That(rows[1][3], Is.EqualTo("7"));
            Assert.That(rows[4][3], Is.EqualTo("4"));
        }
    }

    [Test]
    public void BadKIsAUsageError()
    {
        string src = Path.Combine(_dir, "s.txt");
        File.WriteAllLines(src, ["x"]);
        var (code, stderr) = AlignCommandTests.RunCapturingErrors("mine", "--model", Path.Combine(_dir, "nomodel"), "--src", src, "--tgt", src, "--output", Path.Combine(_dir, "o.tsv"), "--k", "0");
        Assert.That(code, Is.EqualTo((int)ErrorKind.Usage));
        Assert.That(stderr, Does.Contain("--k"));
    }

    [Test]
    public void DemoRecoversAllPairsAndSaysTheModelIsEnglishOnly()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        var saved = Console.Out;
        var capture = new StringWriter();
        Console.SetOut(capture);
        int code;
        try
        {
            code = AlignCommandTests.Run("demo", "--model", model);
        }
        finally
        {
            Console.SetOut(saved);
        }

        Assert.That(code, Is.EqualTo(0));
        string text = capture.ToString();
        Assert.That(text, Does.Contain("English-only"));
        Assert.That(text, Does.Contain($"{DemoCommand.Pairs.Length} of {DemoCommand.Pairs.Length} true pairs recovered"));
    }
}
