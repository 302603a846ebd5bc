using System.Globalization;
using NativeAlign.Cli.Commands;
using NativeAlign.Tests.Backends.OpenCl;
using NativeAlign.Tests.IO;
using NativeAlign.Tests.Tokenizers;

namespace NativeAlign.Tests.Cli;

/// <summary>
/// Every command that runs an encoder, with <c>--backend opencl</c>, against the same command on the CPU backend (the
/// independent implementation; its own results are checked against peers elsewhere): the same links, the same mined
/// pairs and neighbours, the same accuracies, and the same printed figures within the last printed digit.
/// </summary>
[TestFixture]
public sealed class OpenClCommandTests
{
    private string _dir = null!;
    private string _model = null!;
    private string _src = null!;
    private string _tgt = null!;

    [SetUp]
    public void SetUp()
    {
        OpenClTestDevice.RequireDevice();
        _model = LoadingTestSupport.RequireDefaultModel();
        _dir = Path.Combine(Path.GetTempPath(), "na-opencl-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _src = Path.Combine(_dir, "s.txt");
        _tgt = Path.Combine(_dir, "t.txt");
        File.WriteAllLines(_src, DemoCommand.Pairs.Select(p => p.Left));
        File.WriteAllLines(_tgt, DemoCommand.Shuffle.Select(i => DemoCommand.Pairs[i].Right));
    }

    [TearDown]
    public void TearDown()
    {
        // SetUp may have ignored the test before creating the folder.
        if (_dir is not null && Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [TestCase("itermax")]
    [TestCase("ot")]
    [TestCase("uot")]
    [TestCase("pot")]
    public void Align_OnOpenCl_WritesTheCpuLinks(string method)
    {
        // Line-aligned pairs this time: the same sentences in order.
        File.WriteAllLines(_tgt, DemoCommand.Pairs.Select(p => p.Right));
        var (cpu, device) = BothBackends(output => ["align", "--model", _model, "--src", _src, "--tgt", _tgt, "--method", method, "--output", output]);
        Assert.That(device, Is.EqualTo(cpu));
        Assert.That(cpu.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(DemoCommand.Pairs.Length));
    }

    [Test]
    public void Mine_OnOpenCl_MinesTheCpuPairsWithTheirScores()
    {
        var (cpu, device) = BothBackends(output => ["mine", "--model", _model, "--src", _src, "--tgt", _tgt, "--k", "2", "--output", output]);
        AssertSameFigures(cpu, device, 1e-4);
        Assert.That(cpu.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(DemoCommand.Pairs.Length));
    }

    [Test]
    public void Search_OnOpenCl_FindsTheCpuNeighboursWithTheirScores()
    {
        var (cpu, device) = BothBackends(output => ["search", "--model", _model, "--query", _src, "--corpus", _tgt, "--k", "3", "--output", output]);
        AssertSameFigures(cpu, device, 1e-4);
        Assert.That(cpu.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(3 * DemoCommand.Pairs.Length));
    }

    [Test]
    public void EvalTatoeba_OnOpenCl_GivesTheCpuAccuracies()
    {
        // The first 40 lines of two language pairs of the shared Tatoeba text.
        string data = Path.Combine(_dir, "tatoeba");
        Directory.CreateDirectory(data);
        foreach (var name in new[] { "tatoeba.deu-eng.deu", "tatoeba.deu-eng.eng", "tatoeba.fra-eng.fra", "tatoeba.fra-eng.eng" })
        {
            File.WriteAllLines(Path.Combine(data, name), File.ReadLines(Path.Combine(TestPaths.SharedData, "tatoeba", name)).Take(40));
        }

        // --json writes to the raw standard output; the tab-separated table (the test host's output is redirected)
        // goes through Console.Out, which the test captures.
        var (cpu, device) = BothBackendsPrinting(["eval", "tatoeba", "--model", _model, "--data", data]);
        Assert.That(device, Is.EqualTo(cpu));
        Assert.That(cpu, Does.Contain("deu\t40\t").And.Contain("fra\t40\t"));
    }

    [Test]
    public void Analyze_OnOpenCl_PrintsTheCpuScoresPerLayer()
    {
        File.WriteAllLines(_tgt, DemoCommand.Pairs.Select(p => p.Right));
        var (cpu, device) = BothBackendsPrinting(["analyze", "--model", _model, "--src", _src, "--tgt", _tgt, "--json"]);
        AssertSameFigures(cpu, device, 1e-4);
    }

    [Test]
    public void MapFit_OnOpenCl_PrintsTheCpuPairCosines()
    {
        File.WriteAllLines(_tgt, DemoCommand.Pairs.Select(p => p.Right));
        var (cpu, device) = BothBackendsPrinting(["map", "fit", "--model", _model, "--src", _src, "--tgt", _tgt, "--output", Path.Combine(_dir, "map.npz")]);

        // Printed with four decimals: equal up to one unit of the last digit.
        AssertSameFigures(cpu, device, 1.5e-4);
        Assert.That(cpu, Does.Contain("mean cosine of the pairs"));
    }

    [Test]
    public void Demo_OnOpenCl_PrintsTheCpuTablesAndLinks()
    {
        var (cpu, device) = BothBackendsPrinting(["demo", "--model", _model]);
        AssertSameFigures(cpu, device, 1.5e-3);
        Assert.That(device, Does.Contain($"{DemoCommand.Pairs.Length} of {DemoCommand.Pairs.Length} true pairs recovered"));
    }

    /// <summary>
    /// <c>--verbose</c> names the backend that ran the command, and its counters show top-k and Sinkhorn ran there: on
    /// the OpenCL device, not on the host.
    /// </summary>
    [TestCase("mine", "TopK 2 calls")]
    [TestCase("search", "TopK 1 call ")]
    [TestCase("search-csls", "TopK 3 calls")]
    [TestCase("eval", "TopK 2 calls")]
    [TestCase("align-ot", "Sinkhorn 1 call ")]
    [TestCase("align-uot", "Sinkhorn 1 call ")]
    [TestCase("align-pot", "Sinkhorn 1 call ")]
    public void Verbose_ShowsRetrievalAndTransportRanOnTheDevice(string command, string counted)
    {
        string data = Path.Combine(_dir, "tatoeba");
        Directory.CreateDirectory(data);
        foreach (var name in new[] { "tatoeba.deu-eng.deu", "tatoeba.deu-eng.eng" })
        {
            File.WriteAllLines(Path.Combine(data, name), File.ReadLines(Path.Combine(TestPaths.SharedData, "tatoeba", name)).Take(12));
        }

        string output = Path.Combine(_dir, "out");
        string[] args = command switch
        {
            "mine" => ["mine", "--src", _src, "--tgt", _tgt, "--output", output, "--quiet"],
            "search" => ["search", "--query", _src, "--corpus", _tgt, "--output", output],
            "search-csls" => ["search", "--query", _src, "--corpus", _tgt, "--output", output, "--csls"],
            "eval" => ["eval", "tatoeba", "--data", data],
            _ => ["align", "--src", _src, "--tgt", _tgt, "--output", output, "--method", command["align-".Length..]],
        };
        var (code, stderr) = AlignCommandTests.RunCapturingErrors([.. args, "--model", _model, "--backend", "opencl", "--verbose"]);
        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stderr, Does.Contain("nativealign: backend opencl (").And.Contain(counted), stderr);
        Assert.That(stderr, Does.Not.Contain("on the host"), stderr);
    }

    [TestCase("align")]
    [TestCase("mine")]
    [TestCase("search")]
    [TestCase("eval")]
    [TestCase("analyze")]
    [TestCase("map")]
    [TestCase("demo")]
    [TestCase("embed")]
    public void EncoderCommand_HandsBackendAndDeviceToTheEncoder(string command)
    {
        // Were the options parsed but not passed on, the comparisons above would compare the CPU with itself: a device
        // that does not exist must fail the command with the backend's exit code.
        string output = Path.Combine(_dir, "out");
        string[] args = command switch
        {
            "align" => ["align", "--src", _src, "--tgt", _tgt, "--output", output],
            "mine" => ["mine", "--src", _src, "--tgt", _tgt, "--output", output],
            "search" => ["search", "--query", _src, "--corpus", _tgt],
            "eval" => ["eval", "tatoeba", "--data", Path.Combine(TestPaths.SharedData, "tatoeba"), "--langs", "deu"],
            "analyze" => ["analyze", "--src", _src, "--tgt", _tgt],
            "map" => ["map", "fit", "--src", _src, "--tgt", _tgt, "--output", output],
            "demo" => ["demo"],
            _ => ["embed", "--input", _src, "--output", output],
        };
        var (code, stderr) = AlignCommandTests.RunCapturingErrors([.. args, "--model", _model, "--backend", "opencl", "--device", "99"]);
        Assert.That(code, Is.EqualTo(5), stderr);
        Assert.That(stderr, Does.Contain("OpenCL device 99 does not exist"));
    }

    /// <summary>
    /// Equal word for word, except that numbers may differ by <paramref name="tolerance"/> (the backends agree to
    /// about 1e-7 in cosine, so a printed figure may round the other way in its last digit).
    /// </summary>
    private static void AssertSameFigures(string expected, string actual, double tolerance)
    {
        var separators = new[] { ' ', '\t', '\n', '\r', ',', ':', '[', ']', '{', '}', '"', '(', ')', '|' };
        var e = expected.Split(separators, StringSplitOptions.RemoveEmptyEntries);
        var a = actual.Split(separators, StringSplitOptions.RemoveEmptyEntries);
        Assert.That(a, Has.Length.EqualTo(e.Length), "the same number of words");
        int numbers = 0;
        for (int i = 0; i < e.Length; i++)
        {
            if (double.TryParse(e[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double x)
                && double.TryParse(a[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double y))
            {
                Assert.That(y, Is.EqualTo(x).Within(tolerance), $"word {i}");
                numbers++;
            }
            else
            {
                Assert.That(a[i], Is.EqualTo(e[i]), $"word {i}");
            }
        }

        Assert.That(numbers, Is.GreaterThan(0), "the output holds figures to compare");
    }

    /// <summary>Runs a command writing to its --output file on both backends; returns both files' text.</summary>
    private (string Cpu, string Device) BothBackends(Func<string, string[]> command)
    {
        string Run(string backend)
        {
            string output = Path.Combine(_dir, backend + ".out");
            Assert.That(AlignCommandTests.Run([.. command(output), "--backend", backend]), Is.EqualTo(0), backend);
            return File.ReadAllText(output);
        }

        return (Run("cpu"), Run("opencl"));
    }

    /// <summary>Runs a command printing its result on both backends; returns both standard outputs.</summary>
    private static (string Cpu, string Device) BothBackendsPrinting(string[] command)
    {
        static string Run(string[] args)
        {
            var saved = Console.Out;
            var capture = new StringWriter();
            Console.SetOut(capture);
            try
            {
                Assert.That(AlignCommandTests.Run(args), Is.EqualTo(0), string.Join(' ', args));
            }
            finally
            {
                Console.SetOut(saved);
            }

            return capture.ToString();
        }

        return (Run([.. command, "--backend", "cpu"]), Run([.. command, "--backend", "opencl", "--device", "0"]));
    }
}
