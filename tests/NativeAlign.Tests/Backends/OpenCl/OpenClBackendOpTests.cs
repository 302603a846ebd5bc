using System.Runtime.InteropServices;
using NativeAlign.Backends;
using NativeAlign.Backends.OpenCl;
using NativeAlign.Backends.Reference;
using NativeAlign.Models;
using NativeAlign.Tensors;

namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>
/// What the conformance suite (Conformance/), which runs every op of <see cref="OpenClBackend"/> against float64,
/// does not check: allocation zeroes, typed errors for bad ids, foreign matrices and a missing device, and the
/// unsupported cases named in the message.
/// </summary>
[TestFixture]
public sealed class OpenClBackendOpTests
{
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

    [Test]
    public void EmbeddingSum_IdOutsideTheTable_IsATypedError()
    {
        var words = Tensor("words", 10, 8, 2);
        using var w = _cl.PrepareWeight(words);
        using var p = _cl.PrepareWeight(Tensor("positions", 4, 8, 3));
        var output = _cl.Allocate(2, 8);
        Assert.Throws<InputFormatException>(() => _cl.EmbeddingSum([1, 10], [0, 1], [], w, p, null, output));
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
