using System.Runtime.InteropServices;
using NativeAlign.Backends.Cpu;
using NativeAlign.Kernels;
using NativeAlign.Kernels.Alignment;
using NativeAlign.Kernels.Attention;
using NativeAlign.Kernels.Elementwise;
using NativeAlign.Kernels.Embeddings;
using NativeAlign.Kernels.Gemm;
using NativeAlign.Kernels.Retrieval;
using NativeAlign.Kernels.Rows;
using NativeAlign.Tensors;

namespace NativeAlign.Backends.OpenCl;

/// <summary>
/// The OpenCL backend: every encoder op runs as a generated kernel (<see cref="IKernelDescriptor{TSelf}"/>) on one
/// device. Weights are uploaded once when prepared: float32 as is, f16/bf16 widened to float32 at upload (the kernels
/// read float32 only), 4-bit matrices kept packed on the device and dequantised in registers by the product kernel.
/// Activations stay on the device between ops; only token ids, lengths and the final results cross to the host.
/// Top-k and Sinkhorn run on the device too (the host merges streamed chunks' lists). Unsupported cases throw
/// <see cref="BackendException"/>; the one fallback is explicit: transport problems with a side longer than
/// <see cref="SinkhornKernels.MaxLength"/> are solved by the CPU solver and counted in <see cref="Counts"/>.
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

    /// <inheritdoc />
    public OpCounts Counts { get; } = new();

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

        return op.Op switch
        {
            BackendOp.Attention => AttentionUnsupportedReason(op.HeadSize),
            BackendOp.TopK when op.K > RetrievalKernels.MaxK => $"k {op.K} exceeds the {RetrievalKernels.MaxK} neighbours the top-k kernel keeps per query",
            _ => null,
        };
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
    public BackendMatrix Borrow(ReadOnlyMemory<float> data, int rows, int columns)
    {
        long length = (long)rows * columns;
        if (rows < 0 || columns < 0 || data.Length < length)
        {
            throw new ArgumentException($"a {rows}x{columns} matrix needs {length} floats, got {data.Length}");
        }

        return new OpenClMatrix(_context.Upload(data.Span[..(int)length]), rows, columns, ownsBuffer: true);
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

    /// <inheritdoc />
    public void TopK(BackendMatrix queries, BackendMatrix corpus, long firstIndex, ReadOnlySpan<float> bias, float scale, Span<long> indices, Span<float> scores)
    {
        var q = M(queries);
        var c = M(corpus);
        int k = TopKLists.Check(q, c, bias, indices, scores, BackendName);
        if (k == 0 || c.Rows == 0)
        {
            return;
        }

        if (k > RetrievalKernels.MaxK)
        {
            throw new BackendException($"the opencl backend cannot run top-k with k {k}: the kernel keeps at most {RetrievalKernels.MaxK} neighbours per query");
        }

        using var deviceBias = bias.IsEmpty ? null : _context.Upload(bias);
        using var chunkIndices = _context.Allocate<int>(q.Rows * k);
        using var chunkScores = _context.Allocate<float>(q.Rows * k);
        _context.Run(
            new RetrievalKernels.InnerProductTopKKernel(q.Buffer, c.Buffer, deviceBias ?? _noFloats, chunkIndices, chunkScores, q.Rows, c.Rows, q.Columns, k, scale, bias.IsEmpty ? 0 : 1),
            new NDRange(q.Rows * RetrievalKernels.GroupSize));
        var hostIndices = new int[q.Rows * k];
        var hostScores = new float[q.Rows * k];
        chunkIndices.Read(hostIndices);
        chunkScores.Read(hostScores);
        for (int i = 0; i < q.Rows; i++)
        {
            TopKLists.MergeList(hostIndices.AsSpan(i * k, k), hostScores.AsSpan(i * k, k), firstIndex, indices.Slice(i * k, k), scores.Slice(i * k, k));
        }

        Counts.Add(BackendOp.TopK, (long)q.Rows * c.Rows);
    }

    /// <inheritdoc />
    public void Sinkhorn(SinkhornBatch batch, SinkhornOptions options)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Validate(options);
        int count = batch.Count;
        if (count == 0)
        {
            return;
        }

        // Problems with a side beyond the kernel's local-memory potentials go to the CPU solver, counted as a fallback.
        var rows = new int[count];
        var columns = new int[count];
        var cellOffsets = new int[count];
        var rowOffsets = new int[count];
        var columnOffsets = new int[count];
        var masses = new float[count];
        var onHost = new List<int>();
        for (int p = 0; p < count; p++)
        {
            bool fits = batch.Rows[p] <= SinkhornKernels.MaxLength && batch.Cols[p] <= SinkhornKernels.MaxLength;
            if (!fits)
            {
                onHost.Add(p);
            }

            rows[p] = fits ? batch.Rows[p] : 0;
            columns[p] = fits ? batch.Cols[p] : 0;
            cellOffsets[p] = checked((int)batch.CellOffset(p));
            rowOffsets[p] = checked((int)batch.RowOffset(p));
            columnOffsets[p] = checked((int)batch.ColumnOffset(p));
            masses[p] = options.Kind == TransportKind.Partial && fits && rows[p] > 0 && columns[p] > 0 ? (float)batch.PartialMass(p, options) : 1f;
        }

        // OpenCL refuses zero-length buffers: an all-empty batch still binds one element.
        using var costs = _context.Upload<float>(batch.Costs.Length == 0 ? [0f] : batch.Costs);
        using var sources = _context.Upload<float>(batch.SourceWeights.Length == 0 ? [0f] : batch.SourceWeights);
        using var targets = _context.Upload<float>(batch.TargetWeights.Length == 0 ? [0f] : batch.TargetWeights);
        using var deviceRows = _context.Upload<int>(rows);
        using var deviceColumns = _context.Upload<int>(columns);
        using var deviceCells = _context.Upload<int>(cellOffsets);
        using var deviceRowOffsets = _context.Upload<int>(rowOffsets);
        using var deviceColumnOffsets = _context.Upload<int>(columnOffsets);
        using var deviceMasses = _context.Upload<float>(masses);
        using var plans = _context.Allocate<float>(Math.Max(1, batch.Plans.Length));
        using var iterations = _context.Allocate<int>(count);
        var global = new NDRange(count * SinkhornKernels.GroupSize);
        switch (options.Kind)
        {
            case TransportKind.Balanced:
                _context.Run(
                    new SinkhornKernels.SinkhornBalancedKernel(
                        costs, sources, targets, deviceRows, deviceColumns, deviceCells, deviceRowOffsets, deviceColumnOffsets, plans, iterations,
                        count, options.Epsilon, options.MaxIterations, options.Tolerance),
                    global);
                break;
            case TransportKind.Unbalanced:
                _context.Run(
                    new SinkhornKernels.SinkhornUnbalancedKernel(
                        costs, sources, targets, deviceRows, deviceColumns, deviceCells, deviceRowOffsets, deviceColumnOffsets, plans, iterations,
                        count, options.Epsilon, options.MaxIterations, options.Tolerance, options.MarginalRelaxation),
                    global);
                break;
            default:
                _context.Run(
                    new SinkhornKernels.SinkhornPartialKernel(
                        costs, sources, targets, deviceRows, deviceColumns, deviceCells, deviceRowOffsets, deviceColumnOffsets, deviceMasses, plans, iterations,
                        count, options.Epsilon, options.MaxIterations, options.Tolerance),
                    global);
                break;
        }

        if (batch.Plans.Length > 0)
        {
            plans.Read(batch.Plans);
        }

        iterations.Read(batch.Iterations);
        if (onHost.Count > 0)
        {
            SolveOnHost(batch, options, onHost);
        }

        Counts.Add(BackendOp.Sinkhorn, count - onHost.Count);
    }

    /// <summary>Solves the listed problems of <paramref name="batch"/> with the CPU solver (the explicit fallback for long sides).</summary>
    private void SolveOnHost(SinkhornBatch batch, SinkhornOptions options, List<int> problems)
    {
        var part = new SinkhornBatch([.. problems.Select(p => batch.Rows[p])], [.. problems.Select(p => batch.Cols[p])]);
        for (int t = 0; t < problems.Count; t++)
        {
            int p = problems[t];
            batch.Cost(p).CopyTo(part.Cost(t));
            batch.Source(p).CopyTo(part.Source(t));
            batch.Target(p).CopyTo(part.Target(t));
            part.TransportedMasses[t] = batch.TransportedMasses[p];
        }

        CpuSinkhorn.SolveBatch(part, options);
        for (int t = 0; t < problems.Count; t++)
        {
            part.Plan(t).CopyTo(batch.Plan(problems[t]));
            batch.Iterations[problems[t]] = part.Iterations[t];
        }

        Counts.AddFallback(BackendOp.Sinkhorn, problems.Count);
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
