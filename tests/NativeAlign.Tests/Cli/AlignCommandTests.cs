using System.CommandLine;
using System.Xml.Linq;
using NativeAlign.Alignment.Formats;
using NativeAlign.Alignment.Words;
using NativeAlign.Cli;
using NativeAlign.Cli.Commands;
using NativeAlign.Models;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Cli;

/// <summary>
/// <c>nativealign align</c> end to end on the default model. The reference is built here without the command's code
/// path: token states from <see cref="SentenceEncoder.EncodeTokens"/>, words pooled by character offsets and cosines
/// taken in float64 by the test, then <see cref="WordAligner.Align"/> (checked against SimAlign / awesome-align / POT
/// transcriptions in the Alignment tests) pair by pair.
/// </summary>
[TestFixture]
public sealed class AlignCommandTests
{
    private static readonly string[] Sources =
    [
        "The mayor opened the new bridge .",
        "",
        "She plays the piano every evening .",
        "Heavy rain caused flooding in the city .",
    ];

    private static readonly string[] Targets =
    [
        "The new bridge was opened by the mayor .",
        "Nothing on this side .",
        "Every evening she practises the piano .",
        "The city was flooded after heavy rain .",
    ];

    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "na-align-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [TestCase("argmax", WordAlignmentMethod.ArgMax)]
    [TestCase("itermax", WordAlignmentMethod.IterMax)]
    [TestCase("match", WordAlignmentMethod.Match)]
    [TestCase("ot", WordAlignmentMethod.Ot)]
    public void OutputEqualsTheAlignerOnIndependentlyPooledWordVectors(string method, WordAlignmentMethod kind)
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        var (src, tgt) = WriteParallel();
        string output = Path.Combine(_dir, "out.txt");
        int code = Run("align", "--model", model, "--src", src, "--tgt", tgt, "--method", method, "--layer", "3", "--output", output);
        Assert.That(code, Is.EqualTo(0));
        var lines = File.ReadAllLines(output);
        Assert.That(lines, Has.Length.EqualTo(Sources.Length), "one output line per input line");
        Assert.That(lines[1], Is.Empty, "an empty sentence has no links");

        using var encoder = SentenceEncoder.Load(model);
        for (int p = 0; p < Sources.Length; p++)
        {
            var (a, n) = WordVectors(encoder, Sources[p]);
            var (b, m) = WordVectors(encoder, Targets[p]);
            var cos = Cosine(a, n, b, m);
            var expected = WordAligner.Align(cos, n, m, new WordAlignerOptions { Method = kind });
            Assert.That(lines[p], Is.EqualTo(PharaohFormat.FormatLine(expected)), $"line {p + 1}");
        }
    }

    [Test]
    public void JoinedInputGivesTheSameLinksAsTwoFiles()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        var (src, tgt) = WriteParallel();
        string joined = Path.Combine(_dir, "joined.txt");
        File.WriteAllLines(joined, Sources.Zip(Targets, (s, t) => $"{s} ||| {t}"));
        string a = Path.Combine(_dir, "a.txt"), b = Path.Combine(_dir, "b.txt");
        Assert.That(Run("align", "--model", model, "--src", src, "--tgt", tgt, "--method", "softmax", "--output", a), Is.EqualTo(0));
        Assert.That(Run("align", "--model", model, "--input", joined, "--method", "softmax", "--output", b), Is.EqualTo(0));
        Assert.That(File.ReadAllLines(b), Is.EqualTo(File.ReadAllLines(a)));
    }

    [Test]
    public void DifferentLineCountsFailAsInputErrorsBeforeTheModelIsOpened()
    {
        string src = Path.Combine(_dir, "s.txt"), tgt = Path.Combine(_dir, "t.txt"), output = Path.Combine(_dir, "o.txt");
        File.WriteAllLines(src, ["one", "two", "three"]);
        File.WriteAllLines(tgt, ["un", "deux"]);

        // The model path does not exist: had the command loaded it first, the error would be a model error (4).
        var (code, stderr) = RunCapturingErrors("align", "--model", Path.Combine(_dir, "no-model"), "--src", src, "--tgt", tgt, "--output", output);
        Assert.That(code, Is.EqualTo((int)ErrorKind.Input));
        Assert.That(stderr, Does.Contain("has 2 lines").And.Contain("3"));
        Assert.That(File.Exists(output), Is.False);
    }

    [Test]
    public void MalformedJoinedLineNamesTheLine()
    {
        string joined = Path.Combine(_dir, "j.txt");
        File.WriteAllLines(joined, ["a b ||| c d", "no separator here"]);
        var (code, stderr) = RunCapturingErrors("align", "--model", Path.Combine(_dir, "no-model"), "--input", joined, "--output", Path.Combine(_dir, "o.txt"));
        Assert.That(code, Is.EqualTo((int)ErrorKind.Input));
        Assert.That(stderr, Does.Contain(":2").Or.Contain("line 2"));
    }

    [Test]
    public void OverlongSentenceIsTruncatedReportedAndItsTailLeftUnlinked()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        string src = Path.Combine(_dir, "s.txt"), tgt = Path.Combine(_dir, "t.txt"), output = Path.Combine(_dir, "o.txt");
        var words = Enumerable.Range(0, 700).Select(i => $"w{i}").ToArray();
        File.WriteAllLines(src, [string.Join(' ', words), "a short one"]);
        File.WriteAllLines(tgt, [string.Join(' ', words), "a short one"]);
        var (code, stderr) = RunCapturingErrors("align", "--model", model, "--src", src, "--tgt", tgt, "--method", "argmax", "--output", output);
        Assert.That(code, Is.EqualTo(0));
        Assert.That(stderr, Does.Contain("1 of 2 sentence pairs").And.Contain("truncated"));
        var links = PharaohFormat.ParseLine(File.ReadAllLines(output)[0], oneIndexed: false);
        Assert.That(links.Links, Is.Not.Empty);

        // 700 words of 2+ tokens each cannot fit 512 positions, so the last word must be unlinked.
        Assert.That(links.Links.Max(l => l.Source), Is.LessThan(words.Length - 1));
    }

    [Test]
    public void SvgHasOneCellPerWordPairTheWordsAndOneMarkPerLink()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        var (src, tgt) = WriteParallel();
        string output = Path.Combine(_dir, "o.txt"), svg = Path.Combine(_dir, "m.svg");
        Assert.That(Run("align", "--model", model, "--src", src, "--tgt", tgt, "--method", "itermax", "--output", output, "--svg", svg, "--svg-line", "3"), Is.EqualTo(0));
        var doc = XDocument.Load(svg);
        XNamespace ns = "http://www.w3.org/2000/svg";
        int n = Sources[2].Split(' ').Length, m = Targets[2].Split(' ').Length;
        int links = PharaohFormat.ParseLine(File.ReadAllLines(output)[2], oneIndexed: false).Links.Count;
        var rects = doc.Descendants(ns + "rect").ToList();
        Assert.That(rects.Count(r => r.Element(ns + "title") is not null), Is.EqualTo(n * m));
        Assert.That(rects.Count(r => (string?)r.Attribute("fill") == "none"), Is.EqualTo(links));
        var texts = doc.Descendants(ns + "text").Select(t => t.Value).ToList();
        foreach (var w in Sources[2].Split(' ').Concat(Targets[2].Split(' ')))
        {
            Assert.That(texts, Does.Contain(w));
        }
    }

    internal static int Run(params string[] args) => CommandRunner.Invoke(Root(), args);

    internal static (int Code, string Stderr) RunCapturingErrors(params string[] args)
    {
        var saved = Console.Error;
        var capture = new StringWriter();
        Console.SetError(capture);
        try
        {
            return (CommandRunner.Invoke(Root(), args), capture.ToString());
        }
        finally
        {
            Console.SetError(saved);
        }
    }

    private static RootCommand Root() => new() { EmbedCommand.Create(), EvalCommand.Create(), AlignCommand.Create(), MineCommand.Create(), SearchCommand.Create(), DemoCommand.Create(), MapCommand.Create(), AnalyzeCommand.Create() };

    private (string Src, string Tgt) WriteParallel()
    {
        string src = Path.Combine(_dir, "src.txt"), tgt = Path.Combine(_dir, "tgt.txt");
        File.WriteAllLines(src, Sources);
        File.WriteAllLines(tgt, Targets);
        return (src, tgt);
    }

    /// <summary>Average of the token states whose span starts inside each whitespace word (float64).</summary>
    private static (double[][] Vectors, int Words) WordVectors(SentenceEncoder encoder, string text)
    {
        var words = new List<(int Start, int End)>();
        for (int i = 0; i < text.Length;)
        {
            if (text[i] == ' ')
            {
                i++;
                continue;
            }

            int start = i;
            while (i < text.Length && text[i] != ' ')
            {
                i++;
            }

            words.Add((start, i));
        }

        if (words.Count == 0)
        {
            return ([], 0);
        }

        var states = encoder.EncodeTokens(text, 3);
        var sums = new double[words.Count][];
        var counts = new int[words.Count];
        for (int w = 0; w < words.Count; w++)
        {
            sums[w] = new double[states.Dimension];
        }

        for (int t = 0; t < states.Tokens.Count; t++)
        {
            var span = states.Tokens.Offsets[t];
            if (span.Length == 0)
            {
                continue;
            }

            int w = words.FindIndex(x => x.Start <= span.Start && span.Start < x.End);
            for (int d = 0; d < states.Dimension; d++)
            {
                sums[w][d] += states[t][d];
            }

            counts[w]++;
        }

        for (int w = 0; w < words.Count; w++)
        {
            for (int d = 0; d < states.Dimension; d++)
            {
                sums[w][d] /= counts[w];
            }
        }

        return (sums, words.Count);
    }

    private static float[] Cosine(double[][] a, int n, double[][] b, int m)
    {
        var result = new float[n * m];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < m; j++)
            {
                double dot = 0, na = 0, nb = 0;
                for (int d = 0; d < a[i].Length; d++)
                {
                    dot += a[i][d] * b[j][d];
                    na += a[i][d] * a[i][d];
                    nb += b[j][d] * b[j][d];
                }

                result[(i * m) + j] = (float)(dot / Math.Sqrt(na * nb));
            }
        }

        return result;
    }
}
