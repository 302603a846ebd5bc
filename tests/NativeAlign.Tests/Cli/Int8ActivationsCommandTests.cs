using NativeAlign.Cli.Commands;
using NativeAlign.Cli.IO;
using NativeAlign.Tests.IO;
using NativeAlign.Tests.Models;

namespace NativeAlign.Tests.Cli;

/// <summary>
/// <c>--int8-activations</c> on the command line: embeddings within the error of int8 activations of the float32
/// ones (which DefaultModelOrtParityTests holds to ONNX Runtime), and a clear refusal off the cpu backend.
/// </summary>
[TestFixture]
public sealed class Int8ActivationsCommandTests
{
    private string _dir = null!;
    private string _model = null!;

    [SetUp]
    public void SetUp()
    {
        _model = LoadingTestSupport.RequireDefaultModel();
        _dir = Path.Combine(Path.GetTempPath(), "na-int8-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        if (_dir is not null && Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Test]
    public void Embed_WithInt8Activations_StaysWithinTheirErrorOfFloat32()
    {
        string input = Path.Combine(_dir, "in.txt"), f32 = Path.Combine(_dir, "f32.npy"), int8 = Path.Combine(_dir, "int8.npy");
        File.WriteAllLines(input, DemoCommand.Pairs.SelectMany(p => new[] { p.Left, p.Right }));
        Assert.That(AlignCommandTests.Run("embed", "--model", _model, "--input", input, "--output", f32, "--quiet"), Is.Zero);
        Assert.That(AlignCommandTests.Run("embed", "--model", _model, "--input", input, "--output", int8, "--quiet", "--int8-activations"), Is.Zero);
        var a = NpyFile.Read(f32);
        var b = NpyFile.Read(int8);
        Assert.That(b.Shape, Is.EqualTo(a.Shape));
        float[] x = a.ToSingle(), y = b.ToSingle();
        double worst = Enumerable.Range(0, a.Rows).Min(i => EmbeddingComparison.Cosine(x.AsSpan(i * a.Columns, a.Columns), y.AsSpan(i * a.Columns, a.Columns)));
        double differs = x.Zip(y, (p, q) => Math.Abs(p - q)).Max();

        // ORT's own int8 activations reach cosine 0.9983 of its float32 result on the worst of 12,000 Tatoeba lines.
        Assert.That(worst, Is.GreaterThanOrEqualTo(0.998), "worst cosine of int8-activation embeddings to float32 ones");
        Assert.That(differs, Is.GreaterThan(0), "the option changed the arithmetic");
    }

    [Test]
    public void Int8Activations_OffTheCpuBackend_IsAUsageError()
    {
        string input = Path.Combine(_dir, "in.txt");
        File.WriteAllLines(input, ["a sentence"]);
        var (code, stderr) = AlignCommandTests.RunCapturingErrors("embed", "--model", _model, "--input", input, "--output", Path.Combine(_dir, "o.npy"), "--backend", "reference", "--int8-activations");
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.Contain("int8 activations run on the cpu backend only"));
        Assert.That(File.Exists(Path.Combine(_dir, "o.npy")), Is.False, "nothing written");
    }
}
