using System.Text.Json;
using NativeAlign.Tests.Alignment;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Cli;

/// <summary>
/// <c>nativealign map</c> and <c>analyze</c> against NumPy (tests/NativeAlign.Tests/Cli/peers/spaces_cli.py): the
/// map file is read by np.load, W is compared with numpy's SVD Procrustes, the preprocessing with numpy's means and
/// ZCA, <c>map apply</c> with the numpy formula, and the per-layer CKA / neuron correlation with a numpy transcription
/// on the layer embeddings written by <c>embed</c>.
/// </summary>
[TestFixture]
public sealed class MapAnalyzeCommandTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "na-map-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [TestCase("none", false)]
    [TestCase("center", true)]
    [TestCase("whiten", false)]
    public void FitMatchesNumPyProcrustesAndApplyMatchesTheFormula(string preprocessing, bool removeOutliers)
    {
        string x = Path.Combine(_dir, "x.npy"), y = Path.Combine(_dir, "y.npy"), map = Path.Combine(_dir, "m.npz"), mapped = Path.Combine(_dir, "xm.npy");
        Peer("make", x, y, "11", "300", "24");
        string[] args = ["map", "fit", "--src-emb", x, "--tgt-emb", y, "--output", map];
        if (preprocessing != "none")
        {
            args = [.. args, "--" + preprocessing];
        }

        if (removeOutliers)
        {
            args = [.. args, "--remove-outliers"];
        }

        Assert.That(AlignCommandTests.Run(args), Is.EqualTo(0));
        using (var fit = Peer("procrustes", x, y, map, preprocessing, removeOutliers ? "outliers" : "keep"))
        {
            var r = fit.RootElement;
            Assert.That(r.GetProperty("keep_equal").GetBoolean(), Is.True, "kept dimensions");
            Assert.That(r.GetProperty("w").GetDouble(), Is.LessThan(1e-6), "W vs numpy SVD");
            Assert.That(r.GetProperty("orthogonality").GetDouble(), Is.LessThan(1e-9));
            foreach (var field in new[] { "src_mean", "tgt_mean", "src_transform", "tgt_transform" })
            {
                Assert.That(r.GetProperty(field).GetDouble(), Is.LessThan(preprocessing == "whiten" ? 1e-5 : 1e-9), field);
            }
        }

        Assert.That(AlignCommandTests.Run("map", "apply", "--map", map, "--input", x, "--output", mapped), Is.EqualTo(0));
        using var apply = Peer("apply", map, x, mapped);
        Assert.That(apply.RootElement.GetProperty("shape_equal").GetBoolean(), Is.True);
        Assert.That(apply.RootElement.GetProperty("max_abs").GetDouble(), Is.LessThan(1e-5 * Math.Max(1, apply.RootElement.GetProperty("scale").GetDouble())));
    }

    [Test]
    public void MismatchedEmbeddingShapesAreInputErrors()
    {
        string x = Path.Combine(_dir, "x.npy"), y = Path.Combine(_dir, "y.npy"), z = Path.Combine(_dir, "z.npy");
        Peer("make", x, y, "1", "20", "8");
        Peer("make", z, Path.Combine(_dir, "unused.npy"), "2", "21", "8");
        var (code, stderr) = AlignCommandTests.RunCapturingErrors("map", "fit", "--src-emb", x, "--tgt-emb", z, "--output", Path.Combine(_dir, "m.npz"));
        Assert.That(code, Is.EqualTo((int)ErrorKind.Input));
        Assert.That(stderr, Does.Contain("shape"));
        File.WriteAllText(Path.Combine(_dir, "bad.npy"), "not numpy");
        (code, stderr) = AlignCommandTests.RunCapturingErrors("map", "fit", "--src-emb", Path.Combine(_dir, "bad.npy"), "--tgt-emb", y, "--output", Path.Combine(_dir, "m.npz"));
        Assert.That(code, Is.EqualTo((int)ErrorKind.Input));
        Assert.That(stderr, Does.Contain("bad.npy"));
    }

    [Test]
    public void AnalyzeMatchesNumPyOnEachLayersEmbeddings()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        string src = Path.Combine(_dir, "s.txt"), tgt = Path.Combine(_dir, "t.txt");
        var pairs = NativeAlign.Cli.Commands.DemoCommand.Pairs;
        File.WriteAllLines(src, pairs.Select(p => p.Left));
        File.WriteAllLines(tgt, pairs.Select(p => p.Right));
        var saved = Console.Out;
        var capture = new StringWriter();
        Console.SetOut(capture);
        int code;
        try
        {
            code = AlignCommandTests.Run("analyze", "--model", model, "--src", src, "--tgt", tgt, "--json");
        }
        finally
        {
            Console.SetOut(saved);
        }

        Assert.That(code, Is.EqualTo(0));
        using var ours = JsonDocument.Parse(capture.ToString());
        var table = ours.RootElement.GetProperty("layers").EnumerateArray().ToList();
        Assert.That(table, Has.Count.EqualTo(7), "layers 0…6 of the default model");

        var files = new List<string>();
        for (int layer = 0; layer <= 6; layer++)
        {
            foreach (var (name, input) in new[] { ("a", src), ("b", tgt) })
            {
                string npy = Path.Combine(_dir, $"{name}{layer}.npy");
                Assert.That(new System.CommandLine.RootCommand { NativeAlign.Cli.Commands.EmbedCommand.Create() }
                    .Parse(["embed", "--model", model, "--input", input, "--output", npy, "--layer", layer.ToString(), "--pooling", "mean"]).Invoke(), Is.EqualTo(0));
                files.Add(npy);
            }
        }

        using var peer = Peer(["analyze", .. files]);
        var rows = peer.RootElement.EnumerateArray().ToList();
        for (int layer = 0; layer <= 6; layer++)
        {
            double cka = table[layer].GetProperty("linearCka").GetDouble();
            double corr = table[layer].GetProperty("neuronCorrelation").GetDouble();
            Assert.That(cka, Is.EqualTo(rows[layer].GetProperty("cka").GetDouble()).Within(1e-4), $"CKA, layer {layer}");
            Assert.That(corr, Is.EqualTo(rows[layer].GetProperty("corr").GetDouble()).Within(1e-4), $"neuron correlation, layer {layer}");
        }
    }

    private static JsonDocument Peer(params string[] args)
    {
        string script = Path.Combine(PythonPeer.RepoRoot, "tests", "NativeAlign.Tests", "Cli", "peers", "spaces_cli.py");
        string output = LoadingTestSupport.RunPython(script, args).Trim();
        return JsonDocument.Parse(output.Length == 0 ? "{}" : output);
    }
}
