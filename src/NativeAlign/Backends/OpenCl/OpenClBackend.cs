using System.Runtime.InteropServices;
using NativeAlign.Kernels;
using NativeAlign.Kernels.Attention;
using NativeAlign.Kernels.Elementwise;
using NativeAlign.Kernels.Embeddings;
using NativeAlign.Kernels.Gemm;
using NativeAlign.Kernels.Rows;
using NativeAlign.Tensors;

namespace NativeAlign.Backends.OpenCl;

/// <summary>
/// The OpenCL backend: every encoder op runs as a generated kernel (<see cref="IKernelDescriptor{TSelf}"/>) on one
/// device. Weights are uploaded once when prepared: float32 as is, f16/bf16 widened to float32 at upload (the kernels
/// read float32 only), 4-bit matrices kept packed on the device and dequantised in registers by the product kernel.
/// Activations stay on the device between ops; only token ids, lengths and the final results cross to the host.
/// Unsupported cases throw <see cref="BackendException"/>; nothing falls back to the CPU.
/// </summary>
/// <remarks>
/// Kernels are enqueued on the context's in-order queue, so ops need no events between them; a download waits for
/// everything enqueued before it. Calls are serialised by the context's lock.
/// </remarks>
public sealed class OpenClBackend : IComputeBackend
{
    private const string BackendName = "opencl";

    private readonly OpenClContext _context;
    private readonly bool _ownsContext;

    // Bound when an optional argument (bias, residual, zero points) is absent; kernels never read it then.
    private readonly OpenClBuffer<float> _noFloats;
    private readonly OpenClBuffer<byte> _noBytes;

    private OpenClBackend(OpenClContext context, bool ownsContext)
    {
        _context = context;
        _ownsContext = ownsContext;
        _noFloats = context.Upload<float>([0f]);
        _noBytes = context.Upload<byte>([0]);
    }

    /// <summary>The device the backend runs on.</summary>
    public OpenClDeviceInfo Device => _context.Device;

    /// <inheritdoc />
    public string Name => BackendName;

    /// <summary>Opens device <paramref name="deviceIndex"/> (the numbering <c>nativealign info</c> shows).</summary>
    /// <exception cref="BackendException">No OpenCL device, the index does not exist, or the driver failed.</exception>
    public static OpenClBackend Create(int deviceIndex = 0) => new(OpenClContext.Create(deviceIndex), ownsContext: true);

    /// <summary>Runs on an existing context, which the caller keeps owning.</summary>
    public static OpenClBackend Create(OpenClContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new OpenClBackend(context, ownsContext: false);
    }

    /// <inheritdoc />
    public string? Unsupported(OpSpec op)
    {
        bool typeOk = op.Op switch
        {
            // Tables and linear weights: f32 as is, f16/bf16 widened at upload; 4-bit linear weights stay packed.
            BackendOp.Linear => op.WeightType is WeightType.F32 or WeightType.F16 or WeightType.BF16 or WeightType.Q4,
            BackendOp.EmbeddingSum or BackendOp.LayerNorm => op.WeightType is WeightType.F32 or WeightType.F16 or WeightType.BF16,
            _ => op.WeightType == WeightType.F32,
        };
        if (!typeOk)
        {
            return $"no {op.Op} kernel reads {op.WeightType} weights";
        }

        if (op.WeightType == WeightType.Q4 && Q4UnsupportedReason(op.BlockSize) is { } q4)
        {
            return q4;
        }

        return op.Op == BackendOp.Attention ? AttentionUnsupportedReason(op.HeadSize) : null;
    }

    /// <summary>
    /// Whether an attention with heads of <paramref name="headSize"/> runs here: each work-item accumulates one head's
    /// output row in <see cref="AttentionKernels.MaxHeadDim"/> floats of local memory, so the head size may not exceed
    /// it; null when supported, else the reason.
    /// </summary>
    private static string? AttentionUnsupportedReason(int headSize) =>
        headSize < 1 || headSize > AttentionKernels.MaxHeadDim
            ? $"head size {headSize} is outside 1..{AttentionKernels.MaxHeadDim} (the kernel's per-query accumulator)"
            : null;

    /// <summary>
    /// Whether a 4-bit weight of <paramref name="blockSize"/> runs here (any power of two ≥ 16 through the generic
    /// kernel; 32, 64 and 128 have specialised variants); null when supported, else the reason.
    /// </summary>
    private static string? Q4UnsupportedReason(int blockSize) =>
        blockSize < 16 || (blockSize & (blockSize - 1)) != 0 ? $"4-bit block size {blockSize} is not a power of two >= 16" : null;

    /// <inheritdoc />
    public BackendMatrix Allocate(int rows, int columns)
    {
        var matrix = new OpenClMatrix(_context.Allocate<float>(checked(rows * columns)), rows, columns, ownsBuffer: true);

        // Buffers are not zeroed by OpenCL; the contract promises a zeroed matrix.
        if (matrix.Length > 0)
        {
            Zero(matrix);
        }

        return matrix;
    }

    /// <inheritdoc />
    public BackendMatrix View(BackendMatrix storage, int rows, int columns)
    {
        var s = M(storage);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if ((long)rows * columns > s.Length)
        {
            throw new ArgumentException($"a {rows}x{columns} view does not fit storage of {s.Length} floats");
        }

        // Every kernel addresses a matrix from element 0 with its own row and column counts, so a view is the same buffer.
        return new OpenClMatrix(s.Buffer, rows, columns, ownsBuffer: false);
    }

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<float> source, BackendMatrix destination)
    {
        var d = M(destination);
        if (source.Length != d.Length)
        {
            throw new ArgumentException($"upload of {source.Length} floats into a {d.Rows}x{d.Columns} matrix");
        }

        d.Buffer.Write(source);
    }

    /// <inheritdoc />
    public void Download(BackendMatrix source, Span<float> destination)
    {
        var s = M(source);
        if (destination.Length < s.Length)
        {
            throw new ArgumentException($"download of a {s.Rows}x{s.Columns} matrix into {destination.Length} floats");
        }

        s.Buffer.Read(destination[..s.Length]);
    }

    /// <inheritdoc />
    public BackendWeight PrepareWeight(WeightTensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var (rows, columns) = HostBackend.MatrixShape(weight);
        switch (weight.Type)
        {
            case WeightType.F32:
                CheckBytes(weight, rows, columns, 4);
                return new OpenClWeight(weight.Name, rows, columns, weight.Type, _context.Upload(MemoryMarshal.Cast<byte, float>(weight.Data.Span)));
            case WeightType.F16:
            case WeightType.BF16:
                // The kernels read float32 only: half and bfloat16 are widened once, here, so the device holds 2x the bytes.
                CheckBytes(weight, rows, columns, 2);
                return new OpenClWeight(weight.Name, rows, columns, weight.Type, _context.Upload<float>(weight.ToFloat32()));
            case WeightType.Q4:
                var q4 = weight.Q4 ?? throw new ModelFormatException(null, weight.Name, "is typed 4-bit but carries no packed matrix");
                if (Q4UnsupportedReason(q4.BlockSize) is { } reason)
                {
                    throw new BackendException($"the opencl backend cannot run '{weight.Name}': {reason}");
                }

                return new OpenClWeight(weight.Name, q4.Rows, q4.Columns, weight.Type, null)
                {
                    Packed = _context.Upload(q4.Packed.Span),
                    Scales = _context.Upload<float>(q4.Scales),
                    ZeroPoints = q4.ZeroPoints is null ? null : _context.Upload<byte>(q4.ZeroPoints),
                    BlockSize = q4.BlockSize,
                };
            default:
                throw new BackendException($"the opencl backend cannot prepare '{weight.Name}' of type {weight.Type}");
        }
    }

    /// <inheritdoc />
    public void EmbeddingSum(ReadOnlySpan<int> ids, ReadOnlySpan<int> positionIds, ReadOnlySpan<int> typeIds, BackendWeight words, BackendWeight positions, BackendWeight? types, BackendMatrix output)
    {
        HostBackend.CheckEmbedding(ids, positionIds, typeIds, words, positions, types, output);
        var o = M(output);
        int tokens = ids.Length, hidden = o.Columns;
        if (tokens == 0)
        {
            return;
        }

        using var scratch = _context.Allocate<float>(o.Length);
        Gather(ids, Dense(words, BackendOp.EmbeddingSum), o.Buffer, tokens, hidden, words.Rows);
        Gather(positionIds, Dense(positions, BackendOp.EmbeddingSum), scratch, tokens, hidden, positions.Rows);
        _context.Run(new ElementwiseKernels.ResidualAddKernel(o.Buffer, scratch, o.Length), new NDRange(o.Length));
        if (types is not null)
        {
            Gather(typeIds, Dense(types, BackendOp.EmbeddingSum), scratch, tokens, hidden, types.Rows);
            _context.Run(new ElementwiseKernels.ResidualAddKernel(o.Buffer, scratch, o.Length), new NDRange(o.Length));
        }
    }

    /// <inheritdoc />
    public void Linear(BackendMatrix input, BackendWeight weight, BackendWeight? bias, ActivationKind activation, BackendMatrix? residual, BackendMatrix output)
    {
        HostBackend.CheckLinear(input, weight, bias, residual, output);
        var x = M(input);
        var y = M(output);
        var w = W(weight);
        int m = x.Rows, n = w.Rows, k = w.Columns;
        if (m == 0 || n == 0)
        {
            return;
        }

        var range = GemmKernels.LaunchRange(m, n);
        if (w.Type == WeightType.Q4)
        {
            _context.Run(
                new GemmKernels.MatMulQ4TransposedBKernel(x.Buffer, w.Packed!, w.Scales!, w.ZeroPoints ?? _noBytes, y.Buffer, m, n, k, w.BlockSize, w.ZeroPoints is null ? 0 : 1),
                range);
        }
        else
        {
            _context.Run(new GemmKernels.MatMulTransposedBKernel(x.Buffer, Dense(weight, BackendOp.Linear), y.Buffer, m, n, k), range);
        }

        var b = bias is null ? null : Dense(bias, BackendOp.Linear);
        var r = residual is null ? null : M(residual);
        if (b is null && r is null && activation == ActivationKind.None)
        {
            return;
        }

        _context.Run(
            new ElementwiseKernels.BiasActivationKernel(y.Buffer, b ?? _noFloats, r?.Buffer ?? _noFloats, m, n, b is null ? 0 : 1, ActivationCode(activation), r is null ? 0 : 1),
            new NDRange(y.Length));
    }

    /// <inheritdoc />
    public void LayerNorm(BackendMatrix input, BackendWeight gain, BackendWeight bias, float epsilon, BackendMatrix output)
    {
        HostBackend.SameShape(input, output, "layer norm");
        var x = M(input);
        var y = M(output);
        if (gain.Rows * gain.Columns != x.Columns || bias.Rows * bias.Columns != x.Columns)
        {
            throw new ArgumentException($"layer norm '{gain.Name}': {gain.Rows * gain.Columns} gains, {bias.Rows * bias.Columns} biases for width {x.Columns}");
        }

        if (x.Rows == 0)
        {
            return;
        }

        _context.Run(
            new RowKernels.LayerNormRowsKernel(x.Buffer, Dense(gain, BackendOp.LayerNorm), Dense(bias, BackendOp.LayerNorm), y.Buffer, RowKernels.GroupSize, x.Rows, x.Columns, epsilon),
            new NDRange(x.Rows * RowKernels.GroupSize));
    }

    /// <inheritdoc />
    public void Activate(BackendMatrix input, ActivationKind activation, BackendMatrix output)
    {
        HostBackend.SameShape(input, output, "activation");
        var x = M(input);
        var y = M(output);
        if (ReferenceEquals(x, y) && activation == ActivationKind.None)
        {
            return;
        }

        _context.Run(new ElementwiseKernels.ActivateKernel(x.Buffer, y.Buffer, x.Length, ActivationCode(activation)), new NDRange(x.Length));
    }

    /// <inheritdoc />
    public void Attention(BackendMatrix q, BackendMatrix k, BackendMatrix v, AttentionShape shape, ReadOnlySpan<int> lengths, BackendMatrix output)
    {
        HostBackend.CheckAttention(q, k, v, shape, lengths, output);
        if (AttentionUnsupportedReason(shape.HeadSize) is { } reason)
        {
            throw new BackendException($"the opencl backend cannot run this attention: {reason}");
        }

        var o = M(output);
        if (ReferenceEquals(o, q) || ReferenceEquals(o, k) || ReferenceEquals(o, v))
        {
            throw new ArgumentException("attention: output must not alias q, k or v");
        }

        if (shape.Batch * shape.SequenceLength == 0 || shape.Heads == 0)
        {
            return;
        }

        // The kernel writes zeros for padding queries itself, as the contract wants.
        using var mask = _context.Upload<int>(TokenMask(lengths, shape.SequenceLength));
        _context.Run(
            new AttentionKernels.AttentionKernel(M(q).Buffer, M(k).Buffer, M(v).Buffer, mask, o.Buffer, shape.SequenceLength, shape.Heads, shape.HeadSize),
            new NDRange(shape.SequenceLength, shape.Batch * shape.Heads));
    }

    /// <inheritdoc />
    public void MeanPool(BackendMatrix input, int sequenceLength, ReadOnlySpan<int> lengths, BackendMatrix output)
    {
        HostBackend.CheckPool(input, sequenceLength, lengths.Length, output);
        foreach (int length in lengths)
        {
            if ((uint)length > (uint)sequenceLength)
            {
                throw new ArgumentException($"mean pool: length {length} outside 0..{sequenceLength}");
            }
        }

        var o = M(output);
        if (o.Length == 0)
        {
            return;
        }

        if (sequenceLength <= 0)
        {
            Zero(o);
            return;
        }

        using var mask = _context.Upload<int>(TokenMask(lengths, sequenceLength));
        _context.Run(new EmbeddingKernels.MeanPoolingKernel(M(input).Buffer, mask, o.Buffer, lengths.Length, sequenceLength, o.Columns), new NDRange(o.Columns, o.Rows));
    }

    /// <inheritdoc />
    public void ClsPool(BackendMatrix input, int sequenceLength, BackendMatrix output)
    {
        HostBackend.CheckPool(input, sequenceLength, output.Rows, output);
        var o = M(output);
        if (o.Length == 0)
        {
            return;
        }

        if (sequenceLength <= 0)
        {
            throw new ArgumentException("cls pool: sequences of length 0 have no first token");
        }

        _context.Run(new EmbeddingKernels.ClsPoolingKernel(M(input).Buffer, o.Buffer, o.Rows, sequenceLength, o.Columns), new NDRange(o.Columns, o.Rows));
    }

    /// <inheritdoc />
    public void L2Normalize(BackendMatrix input, BackendMatrix output)
    {
        HostBackend.SameShape(input, output, "normalize");
        var x = M(input);
        if (x.Rows == 0)
        {
            return;
        }

        _context.Run(new RowKernels.L2NormalizeRowsKernel(x.Buffer, M(output).Buffer, RowKernels.GroupSize, x.Rows, x.Columns), new NDRange(x.Rows * RowKernels.GroupSize));
    }

    /// <summary>Waits until every enqueued kernel has finished (downloads wait by themselves).</summary>
    public void Finish() => _context.Finish();

    /// <inheritdoc />
    public void Dispose()
    {
        _noFloats.Dispose();
        _noBytes.Dispose();
        if (_ownsContext)
        {
            _context.Dispose();
        }
    }

    private static int ActivationCode(ActivationKind activation) => activation switch
    {
        ActivationKind.None => ElementwiseKernels.ActivationNone,
        ActivationKind.Gelu => ElementwiseKernels.ActivationGelu,
        ActivationKind.GeluTanh => ElementwiseKernels.ActivationGeluTanh,
        ActivationKind.Relu => ElementwiseKernels.ActivationRelu,
        ActivationKind.Tanh => ElementwiseKernels.ActivationTanh,
        ActivationKind.Sigmoid => ElementwiseKernels.ActivationSigmoid,
        _ => throw new BackendException($"the opencl backend has no kernel for activation {activation}"),
    };

    private static int[] TokenMask(ReadOnlySpan<int> lengths, int sequenceLength)
    {
        var mask = new int[lengths.Length * sequenceLength];
        for (int b = 0; b < lengths.Length; b++)
        {
            mask.AsSpan(b * sequenceLength, lengths[b]).Fill(1);
        }

        return mask;
    }

    private static void CheckBytes(WeightTensor weight, int rows, int columns, int elementBytes)
    {
        long expected = (long)rows * columns * elementBytes;
        if (weight.Data.Length != expected)
        {
            throw new ModelFormatException(null, weight.Name, $"holds {weight.Data.Length} bytes, expected {expected} for {weight.Type} [{rows}, {columns}]");
        }
    }

    private void Gather(ReadOnlySpan<int> ids, OpenClBuffer<float> table, OpenClBuffer<float> destination, int tokens, int hidden, int vocabulary)
    {
        // The ids were validated on the host (CheckEmbedding), so the kernel's own bound check never fires.
        using var deviceIds = _context.Upload(ids);
        _context.Run(new EmbeddingKernels.EmbeddingGatherKernel(deviceIds, table, destination, tokens, hidden, vocabulary), new NDRange(hidden, tokens));
    }

    private void Zero(OpenClMatrix matrix) =>
        _context.Run(new ElementwiseKernels.FillKernel(matrix.Buffer, matrix.Length, 0f), new NDRange(matrix.Length));

    private OpenClMatrix M(BackendMatrix m) => m as OpenClMatrix is { } matrix && matrix.Buffer.BelongsTo(_context)
        ? matrix
        : throw new BackendException($"the opencl backend got a matrix owned by another backend or device ({m.GetType().Name})");

    private OpenClWeight W(BackendWeight w) => w is OpenClWeight weight && weight.BelongsTo(_context)
        ? weight
        : throw new BackendException($"weight '{w.Name}' was prepared by another backend or device");

    private OpenClBuffer<float> Dense(BackendWeight w, BackendOp op) =>
        W(w).Values ?? throw new BackendException($"the opencl backend cannot run {op} with {w.Type} weight '{w.Name}'");

    /// <summary>An activation matrix in a device buffer, which it owns (released by <see cref="Dispose"/>) unless it is a view.</summary>
    private sealed class OpenClMatrix(OpenClBuffer<float> buffer, int rows, int columns, bool ownsBuffer) : BackendMatrix(rows, columns)
    {
        public OpenClBuffer<float> Buffer { get; } = buffer;

        public int Length => Rows * Columns;

        public override void Dispose()
        {
            if (ownsBuffer)
            {
                Buffer.Dispose();
            }

            base.Dispose();
        }
    }

    /// <summary>A weight on the device: float32 values, or the three buffers of a 4-bit matrix.</summary>
    private sealed class OpenClWeight(string name, int rows, int columns, WeightType type, OpenClBuffer<float>? values)
        : BackendWeight(name, rows, columns, type)
    {
        public OpenClBuffer<float>? Values { get; } = values;

        public OpenClBuffer<byte>? Packed { get; init; }

        public OpenClBuffer<float>? Scales { get; init; }

        public OpenClBuffer<byte>? ZeroPoints { get; init; }

        public int BlockSize { get; init; }

        public bool BelongsTo(OpenClContext context) => (Values ?? (object?)Packed) switch
        {
            OpenClBuffer<float> v => v.BelongsTo(context),
            OpenClBuffer<byte> p => p.BelongsTo(context),
            _ => false,
        };

        public override void Dispose()
        {
            Values?.Dispose();
            Packed?.Dispose();
            Scales?.Dispose();
            ZeroPoints?.Dispose();
            base.Dispose();
        }
    }
}
