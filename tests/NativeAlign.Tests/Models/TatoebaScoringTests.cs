using NativeAlign.Cli.Commands;

namespace NativeAlign.Tests.Models;

/// <summary>The Tatoeba top-1 scorer on constructed embeddings whose nearest neighbours are known by construction.</summary>
[TestFixture]
public sealed class TatoebaScoringTests
{
    [Test]
    public void CountsQueriesWhoseNearestTargetIsTheirTranslation()
    {
        // Unit vectors on the axes: query i points at target perm[i]; accuracy is the share of fixed points.
        int n = 5, d = 5;
        int[] perm = [0, 2, 1, 3, 3];
        var queries = new float[n * d];
        var targets = new float[n * d];
        for (int i = 0; i < n; i++)
        {
            targets[(i * d) + i] = 1;
            queries[(i * d) + perm[i]] = 1;
        }

        Assert.That(EvalTatoebaCommand.Accuracy(queries, targets, n, d), Is.EqualTo(2.0 / 5));
    }

    [Test]
    public void FindsPairsAndRejectsUnknownLanguages()
    {
        string dir = Path.Combine(Path.GetTempPath(), "na-tatoeba-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "tatoeba.deu-eng.deu"), "a\n");
            File.WriteAllText(Path.Combine(dir, "tatoeba.deu-eng.eng"), "b\n");
            var pairs = EvalTatoebaCommand.FindPairs(dir, []);
            Assert.That(pairs.Select(p => p.Language), Is.EqualTo(new[] { "deu" }));
            var e = Assert.Throws<InputFormatException>(() => EvalTatoebaCommand.FindPairs(dir, ["fra"]));
            Assert.That(e!.Message, Does.Contain("fra"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
