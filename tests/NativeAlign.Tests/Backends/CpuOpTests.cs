using NativeAlign.Backends;
using NativeAlign.Backends.Cpu;
using NativeAlign.Backends.Reference;
using NativeAlign.Models;
using NativeAlign.Tensors;
using static NativeAlign.Tests.Backends.OpTestSupport;

namespace NativeAlign.Tests.Backends;

/// <summary>
/// What the conformance suite (Conformance/) does not check about the CPU backend: the erf the reference backend uses
/// against a published table, the vector GELU kernel at 1e-6 per element over a dense sweep, typed errors and declared
/// support. Op results against float64 on every backend are the suite's.
/// </summary>
[TestFixture]
public sealed class CpuOpTests
{
    private readonly CpuBackend _cpu = new();
    private readonly ReferenceBackend _reference = new();

    [Test]
    public void ErfMatchesPublishedValues()
    {
        // Abramowitz & Stegun, Table 7.1.
        (double X, double Erf)[] table = [(0.1, 0.1124629160), (0.5, 0.5204998778), (1.0, 0.8427007929), (1.5, 0.9661051465), (2.0, 0.9953222650), (2.5, 0.9995930480), (3.0, 0.9999779095)];
        foreach (var (x, erf) in table)
        {
            Assert.That(ReferenceBackend.Erf(x), Is.EqualTo(erf).Within(1e-9), $"erf({x})");
            Assert.That(ReferenceBackend.Erf(-x), Is.EqualTo(-erf).Within(1e-9), $"erf({-x})");
        }
    }

    [Test]
    public void GeluIsExactTo1e6()
    {
        var xs = Enumerable.Range(-20000, 40001).Select(i => i * 0.001f).ToArray();
        var ys = new float[xs.Length];
        CpuKernels.Gelu(xs, ys);
        double worst = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            double exact = ReferenceBackend.Activate(xs[i], ActivationKind.Gelu);
            worst = Math.Max(worst, Math.Abs(ys[i] - exact) / Math.Max(1, Math.Abs(exact)));
            Assert.That(Math.Abs(CpuKernels.GeluScalar(xs[i]) - exact), Is.LessThanOrEqualTo(1e-6 * Math.Max(1, Math.Abs(exact))), $"scalar gelu({xs[i]})");
        }

        Assert.That(worst, Is.LessThanOrEqualTo(1e-6), "vector gelu");
    }

    [Test]
    public void EmbeddingIdOutsideTableIsATypedError()
    {
        var words = _cpu.PrepareWeight(F32Weight("embeddings.word_embeddings.weight", 4, 3, new float[12]));
        var positions = _cpu.PrepareWeight(F32Weight("pos", 4, 3, new float[12]));
        var e = Assert.Throws<InputFormatException>(() => _cpu.EmbeddingSum([7], [0], [0], words, positions, null, new HostMatrix(1, 3)));
        Assert.That(e!.Message, Does.Contain("embeddings.word_embeddings.weight"));
    }

    [Test]
    public void SupportsIsExplicit()
    {
        Assert.That(_cpu.Supports(new OpSpec(BackendOp.Linear, WeightType.Q4, 8, 64) { BlockSize = 32 }), Is.True);
        Assert.That(_cpu.Supports(new OpSpec(BackendOp.Linear, WeightType.BF16, 8, 64)), Is.True);
        Assert.That(_cpu.Supports(new OpSpec(BackendOp.LayerNorm, WeightType.Q4, 1, 64)), Is.False);
        Assert.That(_reference.Supports(new OpSpec(BackendOp.Attention, WeightType.F32) { HeadSize = 32 }), Is.True);
    }
}
