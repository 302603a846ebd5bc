using System.Runtime.InteropServices;
using NativeAlign.Backends;
using NativeAlign.Backends.OpenCl;
using NativeAlign.Backends.Reference;
using NativeAlign.Models;
using NativeAlign.Tensors;

namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>
/// Every op of <see cref="OpenClBackend"/> on the test device (PoCL in CI) against the float64
/// <see cref="ReferenceBackend"/> on the same inputs, with the project's per-op bounds: normalised MSE 1e-7 for
/// elementwise and row-wise ops, 5e-4 for products and attention. Plus the unsupported cases, which must throw.
/// </summary>
[TestFixture]
public sealed class OpenClBackendOpTests
{
    private const double ElementwiseBound = 1e-7;
    private const double GemmBound = 5e-4;

    private OpenClTestDevice _device = null!;
    private OpenClBackend _cl = null!;
    private ReferenceBackend _reference = null!;

    [OneTimeSetUp]
    public void OpenDevice()
    {
        _device = OpenClTestDevice.Open();
        _cl = OpenClBackend.Create(_device.Context);
        _reference = new ReferenceBackend();
    }

    [OneTimeTearDown]
    public void CloseDevice()
    {
        _cl?.Dispose();
        _reference?.Dispose();
        _device?.Dispose();
    }

    [Test]
    public void Allocate_IsZeroed_AndRoundTripsThroughUploadDownload()
    {
        var m = _cl.Allocate(7, 13);
        Assert.That(Download(_cl, m), Is.All.EqualTo(0f));
        var data = Random(7 * 13, 1);
        _cl.Upload(data, m);
        Assert.That(Download(_cl, m), Is.EqualTo(data));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void EmbeddingSum_MatchesReference(bool withTypes)
    {
        const int vocabulary = 50, positionsCount = 20, hidden = 48, tokens = 17;
        var words = Tensor("words", vocabulary, hidden, 2);
        var positions = Tensor("positions", positionsCount, hidden, 3);
        var types = withTypes ? Tensor("types", 2, hidden, 4) : null;
        var random = new Random(5);
        int[] ids = [.. Enumerable.Range(0, tokens).Select(_ => random.Next(vocabulary))];
        int[] positionIds = [.. Enumerable.Range(0, tokens).Select(i => i % positionsCount)];
        int[] typeIds = [.. Enumerable.Range(0, tokens).Select(i => i % 2)];
        float[] Run(IComputeBackend b)
        {
            var output = b.Allocate(tokens, hidden);
            using var w = b.PrepareWeight(words);
            using var p = b.PrepareWeight(positions);
            using var t = types is null ? null : b.PrepareWeight(types);
            b.EmbeddingSum(ids, positionIds, typeIds, w, p, t, output);
            return Download(b, output);
        }

        AssertClose(Run(_cl), Run(_reference), ElementwiseBound, "embedding sum");
    }

    [Test]
    public void EmbeddingSum_IdOutsideTheTable_IsATypedError()
    {
        var words = Tensor("words", 10, 8, 2);
        using var w = _cl.PrepareWeight(words);
        using var p = _cl.PrepareWeight(Tensor("positions", 4, 8, 3));
        var output = _cl.Allocate(2, 8);
        Assert.Throws<InputFormatException>(() => _cl.EmbeddingSum([1, 10], [0, 1], [], w, p, null, output));
    }

    [TestCase(WeightType.F32, ActivationKind.None, false, false)]
    [TestCase(WeightType.F32, ActivationKind.Gelu, true, false)]
    [TestCase(WeightType.F32, ActivationKind.None, true, true)]
    [TestCase(WeightType.F32, ActivationKind.GeluTanh, true, true)]
    [TestCase(WeightType.F32, ActivationKind.Relu, true, false)]
    [TestCase(WeightType.F32, ActivationKind.Tanh, true, false)]
    [TestCase(WeightType.F32, ActivationKind.Sigmoid, false, true)]
    [TestCase(WeightType.F16, ActivationKind.Gelu, true, true)]
    [TestCase(WeightType.BF16, ActivationKind.None, true, false)]
    [TestCase(WeightType.Q4, ActivationKind.None, true, true)]
    [TestCase(WeightType.Q4, ActivationKind.Gelu, true, false)]
    public void Linear_MatchesReference(WeightType type, ActivationKind activation, bool withBias, bool withResidual)
    {
        // Odd sizes, so that the 16 × 16 tiles and the 4-bit blocks (32) both have ragged edges.
        const int m = 37, n = 45, k = 70;
        var weight = type switch
        {
            WeightType.Q4 => Q4Tensor("w", n, k, 32, 7),
            _ => Tensor("w", n, k, 7, type),
        };
        var bias = withBias ? Tensor("b", 1, n, 8) : null;
        var x = Random(m * k, 9);
        var residual = withResidual ? Random(m * n, 10) : null;
        float[] Run(IComputeBackend b)
        {
            var input = b.Allocate(m, k);
            b.Upload(x, input);
            BackendMatrix? r = null;
            if (residual is not null)
            {
                r = b.Allocate(m, n);
                b.Upload(residual, r);
            }

            var output = b.Allocate(m, n);
            using var w = b.PrepareWeight(weight);
            using var bb = bias is null ? null : b.PrepareWeight(bias);
            b.Linear(input, w, bb, activation, r, output);
            return Download(b, output);
        }

        Assert.That(_cl.Supports(new OpSpec(BackendOp.Linear, type, 8, 64) { BlockSize = type == WeightType.Q4 ? 32 : 0 }), Is.True);
        AssertClose(Run(_cl), Run(_reference), GemmBound, $"linear {type} {activation}");
    }

    [TestCase(384, false)]
    [TestCase(100, false)]
    [TestCase(384, true)]
    public void LayerNorm_MatchesReference(int width, bool inPlace)
    {
        const int rows = 9;
        var gain = Tensor("gain", 1, width, 11);
        var bias = Tensor("bias", 1, width, 12);
        var x = Random(rows * width, 13, scale: 4, offset: 1.5f);
        float[] Run(IComputeBackend b)
        {
            var input = b.Allocate(rows, width);
            b.Upload(x, input);
            var output = inPlace ? input : b.Allocate(rows, width);
            using var g = b.PrepareWeight(gain);
            using var bb = b.PrepareWeight(bias);
            b.LayerNorm(input, g, bb, 1e-12f, output);
            return Download(b, output);
        }

        AssertClose(Run(_cl), Run(_reference), ElementwiseBound, "layer norm");
    }

    [TestCase(ActivationKind.None)]
    [TestCase(ActivationKind.Gelu)]
    [TestCase(ActivationKind.GeluTanh)]
    [TestCase(ActivationKind.Relu)]
    [TestCase(ActivationKind.Tanh)]
    [TestCase(ActivationKind.Sigmoid)]
    public void Activate_MatchesReference(ActivationKind activation)
    {
        var x = Random(33 * 31, 14, scale: 4);
        float[] Run(IComputeBackend b)
        {
            var input = b.Allocate(33, 31);
            b.Upload(x, input);
            var output = b.Allocate(33, 31);
            b.Activate(input, activation, output);
            return Download(b, output);
        }

        AssertClose(Run(_cl), Run(_reference), ElementwiseBound, activation.ToString());
    }

    [TestCase(3, 19, 12, 32)]
    [TestCase(2, 140, 2, 64)]
    [TestCase(2, 9, 3, 48)]
    public void Attention_MatchesReference_WithPaddingRowsZero(int batch, int sequence, int heads, int headSize)
    {
        var shape = new AttentionShape(batch, sequence, heads, headSize);
        int rows = batch * sequence, width = heads * headSize;
        var q = Random(rows * width, 18);
        var k = Random(rows * width, 19);
        var v = Random(rows * width, 20);
        int[] lengths = [.. Enumerable.Range(0, batch).Select(b => Math.Max(1, sequence - (5 * b)))];
        float[] Run(IComputeBackend b)
        {
            var mq = b.Allocate(rows, width);
            var mk = b.Allocate(rows, width);
            var mv = b.Allocate(rows, width);
            b.Upload(q, mq);
            b.Upload(k, mk);
            b.Upload(v, mv);
            var output = b.Allocate(rows, width);
            b.Upload(Random(rows * width, 21), output); // stale values must not survive in padding rows
            b.Attention(mq, mk, mv, shape, lengths, output);
            return Download(b, output);
        }

        var actual = Run(_cl);
        AssertClose(actual, Run(_reference), GemmBound, "attention");
        for (int b = 0; b < batch; b++)
        {
            for (int i = lengths[b]; i < sequence; i++)
            {
                Assert.That(actual.AsSpan(((b * sequence) + i) * width, width).ToArray(), Is.All.EqualTo(0f), $"padding row {i} of sequence {b}");
            }
        }
    }

    [Test]
    public void MeanPool_And_ClsPool_MatchReference()
    {
        const int batch = 4, sequence = 11, hidden = 70;
        var x = Random(batch * sequence * hidden, 22);
        int[] lengths = [11, 1, 6, 0];
        (float[] Mean, float[] Cls) Run(IComputeBackend b)
        {
            var input = b.Allocate(batch * sequence, hidden);
            b.Upload(x, input);
            var mean = b.Allocate(batch, hidden);
            var cls = b.Allocate(batch, hidden);
            b.MeanPool(input, sequence, lengths, mean);
            b.ClsPool(input, sequence, cls);
            return (Download(b, mean), Download(b, cls));
        }

        var (clMean, clCls) = Run(_cl);
        var (refMean, refCls) = Run(_reference);
        AssertClose(clMean, refMean, ElementwiseBound, "mean pool");
        AssertClose(clCls, refCls, ElementwiseBound, "cls pool");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void L2Normalize_MatchesReference(bool inPlace)
    {
        var x = Random(10 * 384, 23, scale: 3);
        x.AsSpan(384, 384).Clear(); // an all-zero row stays zero (norm clamped at 1e-12)
        float[] Run(IComputeBackend b)
        {
            var input = b.Allocate(10, 384);
            b.Upload(x, input);
            var output = inPlace ? input : b.Allocate(10, 384);
            b.L2Normalize(input, output);
            return Download(b, output);
        }

        AssertClose(Run(_cl), Run(_reference), ElementwiseBound, "l2 normalize");
    }

    [Test]
    public void Attention_HeadSizeAboveTheWorkGroup_IsABackendException()
    {
        var shape = new AttentionShape(1, 2, 1, 256);
        Assert.That(_cl.Supports(new OpSpec(BackendOp.Attention, WeightType.F32) { HeadSize = shape.HeadSize }), Is.False);
        Assert.That(_cl.Supports(new OpSpec(BackendOp.Attention, WeightType.F32) { HeadSize = 128 }), Is.True);
        var m = _cl.Allocate(2, 256);
        var o = _cl.Allocate(2, 256);
        var e = Assert.Throws<BackendException>(() => _cl.Attention(m, m, m, shape, [2], o));
        Assert.That(e!.Message, Does.Contain("head size 256"));
    }

    [Test]
    public void UnsupportedTypes_AreDeclared_AndThrowInsteadOfFallingBack()
    {
        Assert.That(_cl.Supports(new OpSpec(BackendOp.Linear, WeightType.Q4, 8, 64) { BlockSize = 32 }), Is.True);
        Assert.That(_cl.Supports(new OpSpec(BackendOp.EmbeddingSum, WeightType.Q4, 8, 32) { BlockSize = 32 }), Is.False);
        Assert.That(_cl.Supports(new OpSpec(BackendOp.LayerNorm, WeightType.Q4, 1, 32) { BlockSize = 32 }), Is.False);

        // A 4-bit table kept packed cannot be gathered by the f32 kernel: a typed error, not a CPU detour.
        using var table = _cl.PrepareWeight(Q4Tensor("table", 8, 32, 32, 3));
        using var positions = _cl.PrepareWeight(Tensor("positions", 4, 32, 3));
        var output = _cl.Allocate(1, 32);
        Assert.Throws<BackendException>(() => _cl.EmbeddingSum([1], [0], [], table, positions, null, output));
    }

    [Test]
    public void ForeignMatricesAndWeights_AreBackendExceptions()
    {
        var host = _reference.Allocate(2, 2);
        Assert.Throws<BackendException>(() => _cl.Activate(host, ActivationKind.None, host));
        using var foreign = _reference.PrepareWeight(Tensor("w", 2, 2, 1));
        var x = _cl.Allocate(2, 2);
        var y = _cl.Allocate(2, 2);
        Assert.Throws<BackendException>(() => _cl.Linear(x, foreign, null, ActivationKind.None, null, y));
    }

    [Test]
    public void MissingDevice_IsABackendException_NamingTheRange()
    {
        var e = Assert.Throws<BackendException>(() => OpenClBackend.Create(1000));
        Assert.That(e!.Message, Does.Contain("1000"));
    }

    private static float[] Download(IComputeBackend backend, BackendMatrix m)
    {
        var host = new float[m.Rows * m.Columns];
        backend.Download(m, host);
        return host;
    }

    private static void AssertClose(float[] actual, float[] reference, double bound, string what) =>
        ErrorMetrics.AssertClose(actual, reference.Select(v => (double)v).ToArray(), bound, what);

    private static float[] Random(int count, int seed, float scale = 1, float offset = 0)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = offset + (scale * (float)((random.NextDouble() * 2) - 1));
        }

        return values;
    }

    private static WeightTensor Tensor(string name, int rows, int columns, int seed, WeightType type = WeightType.F32)
    {
        var values = Random(rows * columns, seed);
        int[] shape = rows == 1 ? [columns] : [rows, columns];
        byte[] bytes = type switch
        {
            WeightType.F32 => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
            WeightType.F16 => MemoryMarshal.AsBytes(values.Select(v => (Half)v).ToArray().AsSpan()).ToArray(),
            WeightType.BF16 => MemoryMarshal.AsBytes(values.Select(v => (ushort)(BitConverter.SingleToInt32Bits(v) >> 16)).ToArray().AsSpan()).ToArray(),
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
        return new WeightTensor(name, shape, type, bytes);
    }

    private static WeightTensor Q4Tensor(string name, int rows, int columns, int blockSize, int seed)
    {
        var random = new Random(seed);
        int blocks = (columns + blockSize - 1) / blockSize;
        var packed = new byte[rows * blocks * (blockSize / 2)];
        random.NextBytes(packed);
        var scales = Enumerable.Range(0, rows * blocks).Select(_ => (float)(random.NextDouble() * 0.1)).ToArray();
        var zeros = new byte[rows * ((blocks + 1) / 2)];
        random.NextBytes(zeros);
        return new WeightTensor(name, new Q4Matrix(rows, columns, blockSize, packed, scales, zeros, name));
    }
}
