using System.Runtime.InteropServices;
using NativeAlign.Backends;
using NativeAlign.Backends.ILGpu;
using NativeAlign.Backends.Reference;
using NativeAlign.Tensors;
using NativeAlign.Tests.Backends.OpenCl;

namespace NativeAlign.Tests.Backends.ILGpu;

/// <summary>
/// Every op of <see cref="ILGpuBackend"/> on ILGPU's CPU accelerator against the float64 <see cref="ReferenceBackend"/>
/// on the same inputs, with the project's per-op bounds (normalised MSE 1e-7 elementwise and row-wise, 5e-4 for
/// products and attention), plus what must throw. The CPU accelerator emulates a GPU and a launch costs on the order
/// of a second here, so shapes are tiny and each test runs as few launches as it can.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ILGpuBackendOpTests
{
    private const double ElementwiseBound = 1e-7;
    private const double GemmBound = 5e-4;

    private ILGpuBackend _gpu = null!;
    private ReferenceBackend _reference = null!;

    [OneTimeSetUp]
    public void OpenAccelerator()
    {
        _gpu = ILGpuBackend.Create("cpu");
        _reference = new ReferenceBackend();
    }

    [OneTimeTearDown]
    public void CloseAccelerator()
    {
        _gpu?.Dispose();
        _reference?.Dispose();
    }

    [Test]
    public void Allocate_IsZeroed_ViewsShareStorage_AndUploadDownloadRoundTrip()
    {
        using var m = _gpu.Allocate(7, 13);
        Assert.That(Download(_gpu, m), Is.All.EqualTo(0f));
        var data = Random(7 * 13, 1);
        _gpu.Upload(data, m);
        Assert.That(Download(_gpu, m), Is.EqualTo(data));

        // A view is the first rows·columns floats of its storage, and disposing it leaves the storage alive.
        using (var view = _gpu.View(m, 3, 5))
        {
            Assert.That(Download(_gpu, view), Is.EqualTo(data.Take(15).ToArray()));
            _gpu.Upload(Enumerable.Repeat(2f, 15).ToArray(), view);
        }

        Assert.That(Download(_gpu, m), Is.EqualTo(Enumerable.Repeat(2f, 15).Concat(data.Skip(15)).ToArray()));
        Assert.Throws<ArgumentException>(() => _gpu.View(m, 8, 13));
        Assert.Throws<ArgumentException>(() => _gpu.Upload(new float[3], m));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void EmbeddingSum_MatchesReference(bool withTypes)
    {
        const int vocabulary = 50, positionsCount = 20, hidden = 24, tokens = 9;
        var words = Tensor("words", vocabulary, hidden, 2, WeightType.F16);
        var positions = Tensor("positions", positionsCount, hidden, 3);
        var types = withTypes ? Tensor("types", 2, hidden, 4, WeightType.BF16) : null;
        var random = new Random(5);
        int[] ids = [.. Enumerable.Range(0, tokens).Select(_ => random.Next(vocabulary))];
        int[] positionIds = [.. Enumerable.Range(0, tokens).Select(i => i % positionsCount)];
        int[] typeIds = [.. Enumerable.Range(0, tokens).Select(i => i % 2)];
        float[] Run(IComputeBackend b)
        {
            using var output = b.Allocate(tokens, hidden);
            using var w = b.PrepareWeight(words);
            using var p = b.PrepareWeight(positions);
            using var t = types is null ? null : b.PrepareWeight(types);
            b.EmbeddingSum(ids, positionIds, typeIds, w, p, t, output);
            return Download(b, output);
        }

        AssertClose(Run(_gpu), Run(_reference), ElementwiseBound, "embedding sum");
    }

    [TestCase(WeightType.F32, ActivationKind.None, false, false, 32)]
    [TestCase(WeightType.F32, ActivationKind.Gelu, true, true, 32)]
    [TestCase(WeightType.F16, ActivationKind.GeluTanh, true, false, 32)]
    [TestCase(WeightType.BF16, ActivationKind.Relu, false, true, 32)]
    [TestCase(WeightType.Q4, ActivationKind.Gelu, true, true, 32)]
    [TestCase(WeightType.Q4, ActivationKind.Tanh, true, false, 16)]
    [TestCase(WeightType.Q4, ActivationKind.Sigmoid, false, true, 64)]
    public void Linear_MatchesReference(WeightType type, ActivationKind activation, bool withBias, bool withResidual, int blockSize)
    {
        // Odd sizes: the 4-bit blocks have a ragged last block, Q4 runs with and without zero points, and the 600
        // outputs exceed the 512 threads launched on the CPU accelerator, so the grid-stride loop takes a second turn.
        const int m = 8, n = 75, k = 70;
        var weight = type == WeightType.Q4
            ? new WeightTensor("w", OpTestSupport.RandomQ4("w", n, k, blockSize, new Random(7), zeroPoints: blockSize != 64))
            : Tensor("w", n, k, 7, type);
        var bias = withBias ? Tensor("b", 1, n, 8) : null;
        var x = Random(m * k, 9);
        var residual = withResidual ? Random(m * n, 10) : null;
        float[] Run(IComputeBackend b)
        {
            using var input = b.Allocate(m, k);
            b.Upload(x, input);
            using var r = residual is null ? null : b.Allocate(m, n);
            if (r is not null)
            {
                b.Upload(residual, r);
            }

            using var output = b.Allocate(m, n);
            using var w = b.PrepareWeight(weight);
            using var bb = bias is null ? null : b.PrepareWeight(bias);
            b.Linear(input, w, bb, activation, r, output);
            return Download(b, output);
        }

        Assert.That(_gpu.Supports(new OpSpec(BackendOp.Linear, type, n, k) { BlockSize = type == WeightType.Q4 ? blockSize : 0, Activation = activation }), Is.True);
        AssertClose(Run(_gpu), Run(_reference), GemmBound, $"linear {type} {activation}");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void LayerNorm_MatchesReference(bool inPlace)
    {
        const int rows = 6, width = 100;
        var gain = Tensor("gain", 1, width, 11);
        var bias = Tensor("bias", 1, width, 12);
        var x = Random(rows * width, 13, scale: 4, offset: 1.5f);
        float[] Run(IComputeBackend b)
        {
            using var input = b.Allocate(rows, width);
            b.Upload(x, input);
            using var separate = inPlace ? null : b.Allocate(rows, width);
            var output = separate ?? input;
            using var g = b.PrepareWeight(gain);
            using var bb = b.PrepareWeight(bias);
            b.LayerNorm(input, g, bb, 1e-12f, output);
            return Download(b, output);
        }

        AssertClose(Run(_gpu), Run(_reference), ElementwiseBound, "layer norm");
    }

    [Test]
    public void Activate_EveryKind_MatchesReference()
    {
        // Inputs over [-6, 6], so erf's and tanh's tails and the sigmoid's saturation are all exercised; 1,271 elements
        // for 512 threads, so every thread strides.
        var x = Random(41 * 31, 14, scale: 6);
        foreach (var activation in Enum.GetValues<ActivationKind>())
        {
            float[] Run(IComputeBackend b)
            {
                using var input = b.Allocate(41, 31);
                b.Upload(x, input);
                using var output = b.Allocate(41, 31);
                b.Activate(input, activation, output);
                return Download(b, output);
            }

            AssertClose(Run(_gpu), Run(_reference), ElementwiseBound, activation.ToString());
        }
    }

    [TestCase(3, 7, 2, 8)]
    [TestCase(2, 5, 3, 20)]
    public void Attention_MatchesReference_WithPaddingRowsZero(int batch, int sequence, int heads, int headSize)
    {
        var shape = new AttentionShape(batch, sequence, heads, headSize);
        int rows = batch * sequence, width = heads * headSize;
        var q = Random(rows * width, 18, scale: 3);
        var k = Random(rows * width, 19, scale: 3);
        var v = Random(rows * width, 20);
        int[] lengths = [.. Enumerable.Range(0, batch).Select(b => Math.Max(1, sequence - (3 * b)))];
        float[] Run(IComputeBackend b)
        {
            using var mq = b.Allocate(rows, width);
            using var mk = b.Allocate(rows, width);
            using var mv = b.Allocate(rows, width);
            b.Upload(q, mq);
            b.Upload(k, mk);
            b.Upload(v, mv);
            using var output = b.Allocate(rows, width);
            b.Upload(Random(rows * width, 21), output); // stale values must not survive anywhere
            b.Attention(mq, mk, mv, shape, lengths, output);
            return Download(b, output);
        }

        var actual = Run(_gpu);
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
    public void MeanPool_ClsPool_And_L2Normalize_MatchReference()
    {
        const int batch = 4, sequence = 5, hidden = 30;
        var x = Random(batch * sequence * hidden, 22, scale: 3);
        x.AsSpan(hidden * sequence, hidden).Clear(); // sequence 1's first row is zero: CLS then normalises a zero row
        int[] lengths = [5, 1, 3, 0];
        (float[] Mean, float[] Cls, float[] Normal) Run(IComputeBackend b)
        {
            using var input = b.Allocate(batch * sequence, hidden);
            b.Upload(x, input);
            using var mean = b.Allocate(batch, hidden);
            using var cls = b.Allocate(batch, hidden);
            b.MeanPool(input, sequence, lengths, mean);
            b.ClsPool(input, sequence, cls);
            var clsHost = Download(b, cls);
            b.L2Normalize(cls, cls);
            return (Download(b, mean), clsHost, Download(b, cls));
        }

        var (gpuMean, gpuCls, gpuNormal) = Run(_gpu);
        var (refMean, refCls, refNormal) = Run(_reference);
        AssertClose(gpuMean, refMean, ElementwiseBound, "mean pool");
        Assert.That(gpuMean.AsSpan(3 * hidden, hidden).ToArray(), Is.All.EqualTo(0f), "an empty sequence pools to zeros");
        Assert.That(gpuCls, Is.EqualTo(refCls), "cls pool copies rows exactly");
        AssertClose(gpuNormal, refNormal, ElementwiseBound, "l2 normalize");
        Assert.That(gpuNormal.AsSpan(hidden, hidden).ToArray(), Is.All.EqualTo(0f), "a zero row stays zero");
    }

    [Test]
    public void RowKernels_StrideOverMoreRowsThanThreads()
    {
        // 700 rows for the 512 threads the CPU accelerator gets: rows 512.. are the second turn of each thread's loop.
        const int rows = 700, width = 3;
        var x = Random(rows * width, 24, scale: 2);
        var gain = Tensor("gain", 1, width, 25);
        var bias = Tensor("bias", 1, width, 26);
        (float[] Norm, float[] Unit) Run(IComputeBackend b)
        {
            using var input = b.Allocate(rows, width);
            b.Upload(x, input);
            using var norm = b.Allocate(rows, width);
            using var unit = b.Allocate(rows, width);
            using var g = b.PrepareWeight(gain);
            using var bb = b.PrepareWeight(bias);
            b.LayerNorm(input, g, bb, 1e-5f, norm);
            b.L2Normalize(input, unit);
            return (Download(b, norm), Download(b, unit));
        }

        var (gpuNorm, gpuUnit) = Run(_gpu);
        var (refNorm, refUnit) = Run(_reference);
        AssertClose(gpuNorm, refNorm, ElementwiseBound, "layer norm, 700 rows");
        AssertClose(gpuUnit, refUnit, ElementwiseBound, "l2 normalize, 700 rows");
    }

    [Test]
    public void UnsupportedTypes_AreDeclared_AndThrowInsteadOfFallingBack()
    {
        Assert.That(_gpu.Supports(new OpSpec(BackendOp.EmbeddingSum, WeightType.Q4, 8, 32) { BlockSize = 32 }), Is.False);
        Assert.That(_gpu.Supports(new OpSpec(BackendOp.LayerNorm, WeightType.Q4, 1, 32) { BlockSize = 32 }), Is.False);
        Assert.That(_gpu.Supports(new OpSpec(BackendOp.Attention, WeightType.F32) { HeadSize = 512 }), Is.True, "any head size runs");
        Assert.That(_gpu.Supports(new OpSpec(BackendOp.Attention, WeightType.F32) { HeadSize = 0 }), Is.False);

        // A 4-bit table kept packed cannot be gathered: a typed error, not a CPU detour.
        using var table = _gpu.PrepareWeight(new WeightTensor("table", OpTestSupport.RandomQ4("table", 8, 32, 32, new Random(3))));
        using var positions = _gpu.PrepareWeight(Tensor("positions", 4, 32, 3));
        using var output = _gpu.Allocate(1, 32);
        Assert.Throws<BackendException>(() => _gpu.EmbeddingSum([1], [0], [], table, positions, null, output));
        Assert.Throws<InputFormatException>(() => _gpu.EmbeddingSum([1], [9], [], positions, positions, null, output));
    }

    [Test]
    public void ForeignMatricesAndWeights_AreBackendExceptions()
    {
        var host = _reference.Allocate(2, 2);
        Assert.Throws<BackendException>(() => _gpu.Activate(host, ActivationKind.None, host));
        using var foreign = _reference.PrepareWeight(Tensor("w", 2, 2, 1));
        using var x = _gpu.Allocate(2, 2);
        using var y = _gpu.Allocate(2, 2);
        Assert.Throws<BackendException>(() => _gpu.Linear(x, foreign, null, ActivationKind.None, null, y));
    }

    [Test]
    public void UnknownDevice_IsAUsageError_ListingWhatIsPresent()
    {
        var e = Assert.Throws<NativeAlignException>(() => ILGpuBackend.Create("cuda:99"));
        Assert.That(e!.Kind, Is.EqualTo(ErrorKind.Usage));
        Assert.That(e.Message, Does.Contain("cuda:99").And.Contain("cpu"));
        Assert.That(ILGpuDevices.List().Select(d => d.Id), Does.Contain("cpu"));
    }

    [Test]
    public void NativeResolver_FindsTheVersionedOpenClLoader()
    {
        // ILGPU imports "OpenCL" and "cuda"; Debian installs only libOpenCL.so.1 (ocl-icd-libopencl1, a test dependency here).
        var assembly = typeof(global::ILGPU.Context).Assembly;
        Assert.That(ILGpuDevices.Resolve("OpenCL", assembly, null), Is.Not.EqualTo(IntPtr.Zero), "libOpenCL.so.1 is installed on test machines");
        Assert.That(ILGpuDevices.Resolve("unrelated", assembly, null), Is.EqualTo(IntPtr.Zero), "other imports keep the default search");
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
}
