using System.Text.Json;
using NativeAlign.Cli.Commands;
using NativeAlign.Tests.IO;
using NativeAlign.Tests.Models;
using NativeAlign.Tests.Tokenizers;

namespace NativeAlign.Tests.Cli;

/// <summary>
/// <c>--backend ilgpu</c> on the command line: every command that runs an encoder takes it with <c>--device</c>, an
/// unknown accelerator is a usage error listing what is present, <c>embed</c> on ILGPU's CPU accelerator writes the CPU
/// backend's embeddings (cosine ≥ 0.9999), and <c>info --json</c> lists the accelerators.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ILGpuCommandTests
{
    private string _dir = null!;
    private string _model = null!;
    private string _src = null!;

    [SetUp]
    public void SetUp()
    {
        _model = LoadingTestSupport.RequireDefaultModel();
        _dir = Path.Combine(Path.GetTempPath(), "na-ilgpu-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _src = Path.Combine(_dir, "s.txt");
        File.WriteAllLines(_src, DemoCommand.Pairs.Take(3).Select(p => p.Left));
    }

    [TearDown]
    public void TearDown()
    {
        if (_dir is not null && Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [TestCase("embed")]
    [TestCase("align")]
    [TestCase("mine")]
    [TestCase("search")]
    [TestCase("eval")]
    [TestCase("analyze")]
    [TestCase("map")]
    [TestCase("demo")]
    public void EveryEncoderCommand_TakesIlgpu_AndAnUnknownAcceleratorIsAUsageError(string command)
    {
        string output = Path.Combine(_dir, "out");
        string[] args = command switch
        {
            "align" => ["align", "--src", _src, "--tgt", _src, "--output", output],
            "mine" => ["mine", "--src", _src, "--tgt", _src, "--output", output],
            "search" => ["search", "--query", _src, "--corpus", _src],
            "eval" => ["eval", "tatoeba", "--data", Path.Combine(TestPaths.SharedData, "tatoeba"), "--langs", "deu"],
            "analyze" => ["analyze", "--src", _src, "--tgt", _src],
            "map" => ["map", "fit", "--src", _src, "--tgt", _src, "--output", output],
            "demo" => ["demo"],
            _ => ["embed", "--input", _src, "--output", output],
        };
        var (code, stderr) = AlignCommandTests.RunCapturingErrors([.. args, "--model", _model, "--backend", "ilgpu", "--device", "cuda:99"]);
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.Contain("no ILGPU device 'cuda:99'").And.Contain("cpu"));
    }

    [Test]
    public void Embed_OnTheCpuAccelerator_WritesTheCpuBackendsEmbeddings()
    {
        float[][] Embed(params string[] backend)
        {
            string output = Path.Combine(_dir, backend[0] + ".jsonl");
            Assert.That(AlignCommandTests.Run(["embed", "--model", _model, "--input", _src, "--output", output, "--format", "jsonl", .. backend]), Is.EqualTo(0), backend[0]);
            return [.. File.ReadAllLines(output).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray())];
        }

        var cpu = Embed("--backend", "cpu");
        var ilgpu = Embed("--backend", "ilgpu", "--device", "cpu");
        Assert.That(ilgpu, Has.Length.EqualTo(3));
        for (int i = 0; i < cpu.Length; i++)
        {
            Assert.That(EmbeddingComparison.Cosine(cpu[i], ilgpu[i]), Is.GreaterThanOrEqualTo(0.9999), $"line {i}");
        }
    }

    [Test]
    public void InfoJson_ListsTheIlgpuAccelerators()
    {
        var report = NativeAlign.Platform.SystemReport.Current();
        using var stream = new MemoryStream();
        InfoCommand.WriteJson(report, stream, ILGpuSupport.Accelerators());
        var ilgpu = JsonDocument.Parse(stream.ToArray()).RootElement.GetProperty("ilgpu");
        Assert.That(ilgpu.GetProperty("available").GetBoolean(), Is.True, "tests run under a JIT");
        var ids = ilgpu.GetProperty("devices").EnumerateArray().Select(d => d.GetProperty("id").GetString()).ToArray();
        Assert.That(ids, Does.Contain("cpu"), "ILGPU's CPU accelerator is always there");
    }
}
