using System.Text;
using NativeAlign.Alignment.Evaluation;
using NativeAlign.Alignment.Formats;
using NativeAlign.Cli.Commands;
using NativeAlign.Tests.Tokenizers;

namespace NativeAlign.Tests.Hardening;

/// <summary>
/// Fuzz-style tests of the alignment input formats — Pharaoh gold/predictions (with the parallel text they refer to),
/// MultiMWA TSV gold, TSV dictionaries — seeded from slices of the shared gold standards, with the conventions of
/// <see cref="FuzzSupport"/>. Each input goes the whole way: read, checked against the text, scored by
/// <c>eval aer</c>'s own code path.
/// </summary>
public sealed class AlignmentFormatFuzzTests
{
    private static readonly string[] HostileTokens =
    [
        "99999999999-1", "2147483647-0", "0-2147483648", "1048576-0", "1048575-1048575", "-1-2", "1--2", "1?", "?1", "p", "1p2p3",
        "0-0:NaN", "0-0:Infinity", "0-0:1e999", "0-0:", ":", "0-0:0.5:0.5", "٣-٤", "１-２", "0\u00a0-1", "0-0\u0000", "+1-2", "1-+2",
        "0x1-2", "1_000-2", "0-0:-0", "00000000000000000000001-1", "\uFFFD-\uFFFD", "1-2-3", "0-0:1e-45",
    ];

    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("na-fuzz-align-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static string Shared(string name)
    {
        var path = Path.Combine(TestPaths.SharedData, "word-alignment", name);
        if (!File.Exists(path))
        {
            Assert.Ignore($"{path} (the shared word-alignment gold the fuzz inputs are seeded from) is absent");
        }

        return path;
    }

    /// <summary>One mutation of a line-oriented text file: bytes, a hostile token, a column or line dropped or added, line-ending and BOM changes.</summary>
    private static byte[] MutateLines(string[] lines, Random random, FuzzSupport.Tally tally, char columnSeparator)
    {
        var mutated = new List<string>(lines);
        switch (random.Next(7))
        {
            case 0:
            case 1:
                tally.Fault("bytes (flips, truncation, junk, huge lengths)");
                return FuzzSupport.MutateBytes(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"), random, protobuf: false);
            case 2:
            {
                tally.Fault("hostile link or field token");
                int at = random.Next(mutated.Count);
                var parts = mutated[at].Split(' ').ToList();
                parts.Insert(random.Next(parts.Count + 1), HostileTokens[random.Next(HostileTokens.Length)]);
                mutated[at] = string.Join(' ', parts);
                break;
            }

            case 3:
            {
                tally.Fault("column separator dropped or added");
                int at = random.Next(mutated.Count);
                int sep = mutated[at].IndexOf(columnSeparator, StringComparison.Ordinal);
                mutated[at] = random.Next(2) == 0 && sep >= 0 ? mutated[at].Remove(sep, 1) : mutated[at].Insert(random.Next(mutated[at].Length + 1), columnSeparator.ToString());
                break;
            }

            case 4:
                tally.Fault("lines dropped, duplicated or emptied");
                for (int k = 1 + random.Next(3); k > 0 && mutated.Count > 0; k--)
                {
                    int at = random.Next(mutated.Count);
                    switch (random.Next(3))
                    {
                        case 0: mutated.RemoveAt(at); break;
                        case 1: mutated.Insert(at, mutated[at]); break;
                        default: mutated[at] = string.Empty; break;
                    }
                }

                break;
            case 5:
            {
                tally.Fault("huge line (100,000 links or 1 MB field)");
                int at = random.Next(mutated.Count);
                mutated[at] = random.Next(2) == 0
                    ? string.Join(' ', Enumerable.Range(0, 100_000).Select(i => $"{i % 50}-{i % 70}"))
                    : mutated[at] + new string('w', 1 << 20);
                break;
            }

            default:
                tally.Fault("CRLF, BOM, no final newline");
                return Encoding.UTF8.GetBytes((random.Next(2) == 0 ? "\uFEFF" : string.Empty) + string.Join(random.Next(2) == 0 ? "\r\n" : "\n", mutated));
        }

        return Encoding.UTF8.GetBytes(string.Join('\n', mutated) + "\n");
    }

    /// <summary>Pharaoh gold (1-indexed Ro-En) and its parallel text, each mutated in turn, through eval aer's code path.</summary>
    [Test]
    public void PharaohAndParallelText()
    {
        var gold = File.ReadLines(Shared("roen.gold")).Take(60).ToArray();
        var text = File.ReadLines(Shared("roen.src-tgt")).Take(60).ToArray();
        var goldPath = Path.Combine(_dir, "gold.txt");
        var predPath = Path.Combine(_dir, "pred.txt");
        var textPath = Path.Combine(_dir, "text.txt");
        File.WriteAllLines(goldPath, gold);
        File.WriteAllLines(textPath, text);
        // A 0-indexed prediction from the gold, so the unmutated run scores a perfect match.
        File.WriteAllLines(predPath, gold.Select(l => PharaohFormat.FormatLine(PharaohFormat.ParseLine(l, oneIndexed: true).Links.Select(k => new NativeAlign.Alignment.Words.WordLink(k.Source, k.Target, 1f)))));
        var clean = EvalAerCommand.Run(goldPath, predPath, oneIndexed: true, textPath, possibleAsSure: false);
        Assert.That(clean.Aer, Is.EqualTo(0), "the unmutated inputs must score as a perfect match");
        var predLines = File.ReadAllLines(predPath);

        var random = new Random(FuzzSupport.Seed);
        var tally = new FuzzSupport.Tally("Pharaoh alignments + parallel text");
        int n = FuzzSupport.Iterations(1500);
        for (int i = 0; i < n; i++)
        {
            File.WriteAllLines(goldPath, gold);
            File.WriteAllLines(predPath, predLines);
            File.WriteAllLines(textPath, text);
            (string target, string[] lines, char separator) = (i % 3) switch
            {
                0 => (goldPath, gold, ' '),
                1 => (predPath, predLines, ' '),
                _ => (textPath, text, '|'),
            };
            var bytes = MutateLines(lines, random, tally, separator);
            File.WriteAllBytes(target, bytes);
            FuzzSupport.Run(tally, i, bytes.Length, () =>
            {
                var scores = EvalAerCommand.Run(goldPath, predPath, oneIndexed: true, textPath, possibleAsSure: random.Next(2) == 0);
                Assert.That(double.IsFinite(scores.Aer) && double.IsFinite(scores.F1), Is.True, "scores are finite");
            });
        }

        FuzzSupport.Report(n, tally);
    }

    [Test]
    public void MultiMwaGold()
    {
        var lines = File.ReadLines(Shared("mtref-dev.tsv")).Take(60).ToArray();
        var path = Path.Combine(_dir, "gold.tsv");
        var predPath = Path.Combine(_dir, "pred.txt");
        File.WriteAllLines(path, lines);
        File.WriteAllLines(predPath, lines.Select(l => l.Split('\t')[7]));
        Assert.That(MultiMwaReader.Read(path), Has.Count.EqualTo(60));
        var random = new Random(FuzzSupport.Seed);
        var tally = new FuzzSupport.Tally("MultiMWA TSV gold");
        int n = FuzzSupport.Iterations(1000);
        for (int i = 0; i < n; i++)
        {
            var bytes = MutateLines(lines, random, tally, '\t');
            File.WriteAllBytes(path, bytes);
            FuzzSupport.Run(tally, i, bytes.Length, () =>
            {
                var scores = EvalAerCommand.Run(path, predPath, oneIndexed: false, textPath: null, possibleAsSure: true);
                Assert.That(double.IsFinite(scores.Aer), Is.True, "AER is finite");
            });
        }

        FuzzSupport.Report(n, tally);
    }

    [Test]
    public void TsvDictionaryFile()
    {
        string[] lines =
        [
            "casa\thouse", "perro\tdog", "gato\tcat", "árbol\ttree", "agua\twater", "fuego\tfire", "libro\tbook", "libro\tvolume",
            "ciudad\tcity", "niño\tchild", "東京\tTokyo", "año\tyear", "mañana\ttomorrow", "mañana\tmorning", "sí\tyes", "no\tno",
        ];
        var path = Path.Combine(_dir, "dict.tsv");
        File.WriteAllLines(path, lines);
        Assert.That(TsvDictionary.Read(path), Has.Count.EqualTo(lines.Length));
        var random = new Random(FuzzSupport.Seed);
        var tally = new FuzzSupport.Tally("TSV dictionary");
        int n = FuzzSupport.Iterations(1000);
        for (int i = 0; i < n; i++)
        {
            var bytes = MutateLines(lines, random, tally, '\t');
            File.WriteAllBytes(path, bytes);
            FuzzSupport.Run(tally, i, bytes.Length, () => TsvDictionary.Read(path));
        }

        FuzzSupport.Report(n, tally);
    }

    /// <summary>Scores of degenerate but legal inputs are finite (numerics: nothing predicted, nothing sure, both empty).</summary>
    [Test]
    public void EmptyAlignmentsScoreFinite()
    {
        var empty = new SentenceAlignment([]);
        var one = new SentenceAlignment([new AlignmentLink(0, 0)]);
        foreach (var (g, p) in new[] { (empty, one), (one, empty) })
        {
            var s = AlignmentEvaluator.Evaluate([g], [p]);
            Assert.That(new[] { s.Precision, s.Recall, s.F1, s.Aer }.All(double.IsFinite), Is.True);
        }

        // No link on either side scores nothing at all: an input error, never a perfect AER of 0.
        Assert.Throws<InputFormatException>(() => AlignmentEvaluator.Evaluate([empty], [empty]));
    }
}
