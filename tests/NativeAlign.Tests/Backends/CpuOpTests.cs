using NativeAlign.Backends;
using NativeAlign.Backends.Cpu;
using NativeAlign.Backends.Reference;
using NativeAlign.Models;
using NativeAlign.Tensors;
using static NativeAlign.Tests.Backends.OpTestSupport;

namespace NativeAlign.Tests.Backends;

/// <summary>Every CPU op against the float64 reference backend, over sizes that exercise every vector tail.</summary>
[TestFixture]
public sealed class CpuOpTests
{
    private const double Elementwise = 1e-7;
    private const double Products = 5e-4;

    private static readonly int[] Widths = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257];

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

    [TestCase(ActivationKind.None)]
    [TestCase(ActivationKind.Gelu)]
    [TestCase(ActivationKind.GeluTanh)]
    [TestCase(ActivationKind.Relu)]
    [TestCase(ActivationKind.Tanh)]
    [TestCase(ActivationKind.Sigmoid)]
    public void Activation(ActivationKind kind)
    {
        var rng = new Random(1);
        foreach (int w in Widths)
        {
            var x = Random(rng, 3 * w, 6);
            var (got, storage) = Guarded(3, w);
            var want = new HostMatrix(3, w);
            _cpu.Activate(Matrix(3, w, x), kind, got);
            _reference.Activate(Matrix(3, w, x), kind, want);
            AssertClose(got.Span, want.Span, Elementwise, $"{kind} width {w}");
            AssertGuardIntact(storage, 3 * w, $"{kind} width {w}");
        }
    }

    [Test]
    public void ActivationPropagatesNaN()
    {
        foreach (var kind in new[] { ActivationKind.Gelu, ActivationKind.GeluTanh, ActivationKind.Tanh, ActivationKind.Relu, ActivationKind.Sigmoid })
        {
            var x = new float[17];
            x[3] = float.NaN;
            x[12] = float.NaN;
            var y = new HostMatrix(1, 17);
            _cpu.Activate(Matrix(1, 17, x), kind, y);
            Assert.That(float.IsNaN(y.Span[3]) && float.IsNaN(y.Span[12]), $"{kind} must keep NaN visible");
        }
    }

    [Test]
    public void LayerNormAndNormalize()
    {
        var rng = new Random(2);
        foreach (int w in Widths)
        {
            int rows = 5;
            var a = Random(rng, rows * w, 3);
            Check("normalize", w, rows, (o, be) => be.L2Normalize(Matrix(rows, w, a), o));
            if (w > 0)
            {
                var g = Random(rng, w, 2);
                var beta = Random(rng, w, 1);
                var offset = a.Select(v => v + 40f).ToArray(); // a large mean must not cancel the variance
                foreach (var input in new[] { a, offset })
                {
                    Check("layer norm", w, rows, (o, be) => be.LayerNorm(Matrix(rows, w, input), be.PrepareWeight(F32Weight("g", 1, w, g)), be.PrepareWeight(F32Weight("b", 1, w, beta)), 1e-12f, o));
                }
            }
        }
    }

    [Test]
    public void OpsAliasingInputAndOutput()
    {
        var rng = new Random(3);
        var a = Random(rng, 4 * 33, 2);
        var want = new HostMatrix(4, 33);
        _reference.L2Normalize(Matrix(4, 33, a), want);
        var inPlace = Matrix(4, 33, (float[])a.Clone());
        _cpu.L2Normalize(inPlace, inPlace);
        AssertClose(inPlace.Span, want.Span, Elementwise, "in-place L2 normalisation");
    }

    [TestCase(WeightType.F32)]
    [TestCase(WeightType.F16)]
    [TestCase(WeightType.BF16)]
    [TestCase(WeightType.Q4)]
    public void Linear(WeightType type)
    {
        var rng = new Random(4);
        int[] ms = [1, 2, 3, 4, 5, 9, 33];
        int[] ns = [1, 7, 15, 16, 17, 33, 64, 257];
        int[] ks = [1, 3, 16, 31, 32, 33, 64, 129, 257];
        foreach (int m in ms)
        {
            foreach (int n in ns)
            {
                foreach (int k in ks)
                {
                    if ((m * n * k) % 3 != 0 && m != 1 && k != 257)
                    {
                        continue; // a thinned grid: every size still appears in each position
                    }

                    var w = Weight("w", n, k, Random(rng, n * k, 0.5f), type, rng);
                    var bias = F32Weight("b", 1, n, Random(rng, n));
                    var x = Random(rng, m * k);
                    var residual = Random(rng, m * n);
                    foreach (var act in new[] { ActivationKind.None, ActivationKind.Gelu, ActivationKind.Tanh })
                    {
                        bool withResidual = act != ActivationKind.None;
                        string what = $"{type} linear {m}x{n}x{k} {act}";
                        Check(what, n, m, (o, be) => be.Linear(Matrix(m, k, x), be.PrepareWeight(w), be.PrepareWeight(bias), act, withResidual ? Matrix(m, n, residual) : null, o), Products);
                    }
                }
            }
        }
    }

    [TestCase(WeightType.F32)]
    [TestCase(WeightType.BF16)]
    [TestCase(WeightType.Q4)]
    public void EmbeddingSum(WeightType type)
    {
        var rng = new Random(5);
        foreach (int h in new[] { 1, 17, 64, 129 })
        {
            var words = Weight("words", 50, h, Random(rng, 50 * h), type, rng);
            var positions = F32Weight("pos", 20, h, Random(rng, 20 * h));
            var types = F32Weight("types", 2, h, Random(rng, 2 * h));
            int[] ids = [0, 49, 3, 3, 17, 8, 1];
            int[] pos = [0, 1, 2, 3, 4, 19, 5];
            int[] tt = [0, 1, 0, 1, 1, 0, 0];
            Check($"{type} embedding {h}", h, ids.Length, (o, be) => be.EmbeddingSum(ids, pos, tt, be.PrepareWeight(words), be.PrepareWeight(positions), be.PrepareWeight(types), o));
            Check($"{type} embedding {h} no types", h, ids.Length, (o, be) => be.EmbeddingSum(ids, pos, tt, be.PrepareWeight(words), be.PrepareWeight(positions), null, o));
        }
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
    public void Attention()
    {
        var rng = new Random(6);
        int[] headSizes = [1, 7, 8, 16, 17, 32, 64];
        int[] seqLens = [1, 2, 5, 63, 64, 65, 130];
        foreach (int d in headSizes)
        {
            foreach (int t in seqLens)
            {
                if (d * t > 64 * 65 && t != 130)
                {
                    continue;
                }

                int batch = 3, heads = 2, width = heads * d, rows = batch * t;
                var shape = new AttentionShape(batch, t, heads, d);
                int[] lengths = [t, Math.Max(0, t / 2), Math.Min(t, 1)];
                var q = Random(rng, rows * width, 2);
                var k = Random(rng, rows * width, 2);
                var v = Random(rng, rows * width);
                Check($"attention d={d} t={t}", width, rows, (o, be) => be.Attention(Matrix(rows, width, q), Matrix(rows, width, k), Matrix(rows, width, v), shape, lengths, o), Products);
            }
        }
    }

    [Test]
    public void AttentionWithLargeScoresStaysFinite()
    {
        // Scores of several hundred: the online softmax must rescale instead of overflowing exp.
        var rng = new Random(7);
        int t = 150, d = 16;
        var q = Random(rng, t * d, 30);
        var k = Random(rng, t * d, 30);
        var v = Random(rng, t * d);
        Check("attention large scores", d, t, (o, be) => be.Attention(Matrix(t, d, q), Matrix(t, d, k), Matrix(t, d, v), new AttentionShape(1, t, 1, d), [t], o), Products);
    }

    [Test]
    public void Pooling()
    {
        var rng = new Random(8);
        foreach (int h in new[] { 1, 8, 17, 129 })
        {
            int t = 6;
            int[] lengths = [6, 3, 1, 0];
            var x = Random(rng, lengths.Length * t * h);
            Check($"mean pool {h}", h, lengths.Length, (o, be) => be.MeanPool(Matrix(lengths.Length * t, h, x), t, lengths, o));
            Check($"cls pool {h}", h, lengths.Length, (o, be) => be.ClsPool(Matrix(lengths.Length * t, h, x), t, o));
        }
    }

    [Test]
    public void SupportsIsExplicit()
    {
        Assert.That(_cpu.Supports(new OpSpec(BackendOp.Linear, WeightType.Q4, 8, 64) { BlockSize = 32 }), Is.True);
        Assert.That(_cpu.Supports(new OpSpec(BackendOp.Linear, WeightType.BF16, 8, 64)), Is.True);
        Assert.That(_cpu.Supports(new OpSpec(BackendOp.LayerNorm, WeightType.Q4, 1, 64)), Is.False);
        Assert.That(_reference.Supports(new OpSpec(BackendOp.Attention, WeightType.F32) { HeadSize = 32 }), Is.True);
    }

    /// <summary>Runs <paramref name="op"/> on both backends into [rows × columns] outputs (the CPU one guarded) and compares.</summary>
    private void Check(string what, int columns, int rows, Action<HostMatrix, IComputeBackend> op, double bound = Elementwise)
    {
        var (got, storage) = Guarded(rows, columns);
        var want = new HostMatrix(rows, columns);
        op(got, _cpu);
        op(want, _reference);
        AssertClose(got.Span, want.Span, bound, what);
        AssertGuardIntact(storage, rows * columns, what);
    }
}
