using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NativeAlign.Tensors;

namespace NativeAlign.Backends.Cpu;

/// <summary>
/// The CPU backend: SIMD kernels (<see cref="CpuKernels"/>), f32 products through <see cref="GemmF32"/>, 4-bit through
/// <see cref="GemmQ4"/>, f16/bf16 widened panel by panel; row blocks and batch × heads spread over the cores.
/// </summary>
public sealed class CpuBackend : IComputeBackend
{
    private const string BackendName = "cpu";

    // Keys per online-softmax step: scores for one block live on the stack, never a T×T matrix.
    private const int KeyBlock = 64;

    // Rows per parallel work item for row-wise ops; small enough to balance, large enough to amortise scheduling.
    private const int RowsPerTask = 32;

    // Below this many multiply-adds (QKᵀ and ×V together, all heads) attention stays on the calling thread.
    private const long SerialAttentionWork = 1L << 14;

    // Head sizes up to this keep the attention accumulator on the stack.
    private const int MaxStackHead = 256;

    /// <inheritdoc />
    public string Name => BackendName;

    /// <summary>
    /// Quantise activations to int8 in products with 4-bit weights, as ONNX Runtime does for a MatMulNBits node of
    /// accuracy level 4 (what the default model declares): per row and chunk of 32 values, a symmetric scale; the
    /// weights' nibbles then multiply as bytes. About twice the speed of float activations on few-token inputs; each
    /// product is within (scale / 2) · Σ|w| per chunk of the float one. Off by default: float32 activations.
    /// </summary>
    public bool Int8Activations { get; init; }

    /// <summary>The instruction-set path of the attention tiles: tests and benchmarks force each one, callers keep Auto.</summary>
    internal GemmKernelPath AttentionPath { get; init; } = GemmKernelPath.Auto;

    /// <summary>
    /// The instruction-set path of the products behind <see cref="Linear"/> (f32 and 4-bit weights): the conformance
    /// suite forces each one, callers keep Auto. The row kernels (activations, norms) follow the runtime's vector width
    /// and cannot be forced inside one process.
    /// </summary>
    internal GemmKernelPath GemmPath { get; init; } = GemmKernelPath.Auto;

    /// <summary>Whether attention may use the generated register tiles; benchmarks turn them off to measure the generic path.</summary>
    internal bool AttentionTiles { get; init; } = true;

    /// <inheritdoc />
    public string? Unsupported(OpSpec op) => op.Op switch
    {
        // Every weight type multiplies and gathers (4-bit blocks of any size the format allows); the attention and
        // pooling code is generic over the head size (generated tiles for 32/64/128, a plain loop otherwise).
        BackendOp.Linear or BackendOp.EmbeddingSum => null,

        // Gains and biases are vectors, widened to float32 once when prepared.
        BackendOp.LayerNorm => op.WeightType is WeightType.F32 or WeightType.F16 or WeightType.BF16 ? null : $"layer norm cannot read {op.WeightType} gains",
        _ => op.WeightType == WeightType.F32 ? null : $"{op.Op} takes no {op.WeightType} operand",
    };

    /// <inheritdoc />
    public BackendMatrix Allocate(int rows, int columns) => HostBackend.Allocate(rows, columns);

    /// <summary>Threads the retrieval and transport ops use (0, the default: every core).</summary>
    public int Threads { get; init; }

    /// <inheritdoc />
    public OpCounts Counts { get; } = new();

    /// <inheritdoc />
    public BackendMatrix View(BackendMatrix storage, int rows, int columns) => HostBackend.View(storage, rows, columns, BackendName);

    /// <inheritdoc />
    public BackendMatrix Borrow(ReadOnlyMemory<float> data, int rows, int columns) => HostBackend.Borrow(data, rows, columns);

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<float> source, BackendMatrix destination) => HostBackend.Upload(source, destination, BackendName);

    /// <inheritdoc />
    public void Download(BackendMatrix source, Span<float> destination) => HostBackend.Download(source, destination, BackendName);

    /// <inheritdoc />
    public BackendWeight PrepareWeight(WeightTensor weight)
    {
        var (rows, columns) = HostBackend.MatrixShape(weight);
        long expectedBytes = weight.Type switch
        {
            WeightType.F32 => (long)rows * columns * 4,
            WeightType.F16 or WeightType.BF16 => (long)rows * columns * 2,
            _ => 0,
        };
        if (weight.Type != WeightType.Q4 && weight.Data.Length != expectedBytes)
        {
            throw new ModelFormatException(null, weight.Name, $"holds {weight.Data.Length} bytes, expected {expectedBytes} for {weight.Type} [{rows}, {columns}]");
        }

        // Vectors (bias, gain) are tiny and used on every row: widen them once. Matrices stay as stored.
        float[]? widened = rows == 1 ? weight.ToFloat32() : null;

        // A 4-bit matrix is also re-laid out for few-row products (a single sentence), or for every product with int8
        // activations: same 4 bits per weight.
        Q4Panels? panels = weight.Type == WeightType.Q4 ? Q4Panels.From(weight.Q4!, Int8Activations ? Q4PanelLayout.Octets : Q4PanelLayout.Pairs) : null;
        return new CpuWeight(weight, rows, columns, widened, panels);
    }

    /// <inheritdoc />
    public void EmbeddingSum(ReadOnlySpan<int> ids, ReadOnlySpan<int> positionIds, ReadOnlySpan<int> typeIds, BackendWeight words, BackendWeight positions, BackendWeight? types, BackendMatrix output)
    {
        HostBackend.CheckEmbedding(ids, positionIds, typeIds, words, positions, types, output);
        var o = Host(output);
        var scratch = new float[o.Columns];
        for (int i = 0; i < ids.Length; i++)
        {
            var row = o.Row(i);
            W(words).ReadRow(ids[i], row);
            W(positions).ReadRow(positionIds[i], scratch);
            CpuKernels.Add(row, scratch, row);
            if (types is not null)
            {
                W(types).ReadRow(typeIds[i], scratch);
                CpuKernels.Add(row, scratch, row);
            }
        }
    }

    /// <inheritdoc />
    public void Linear(BackendMatrix input, BackendWeight weight, BackendWeight? bias, ActivationKind activation, BackendMatrix? residual, BackendMatrix output)
    {
        HostBackend.CheckLinear(input, weight, bias, residual, output);
        var x = Host(input);
        var y = Host(output);
        var w = W(weight);
        int m = x.Rows, n = w.Rows, k = w.Columns;
        if (m == 0)
        {
            return;
        }

        // The GEMM epilogue knows exact GELU only; other activations run after it, and then the residual.
        bool fused = activation is ActivationKind.None or ActivationKind.Gelu;
        var epilogue = new GemmEpilogue
        {
            Bias = bias is null ? default : W(bias).Vector,
            Activation = fused && activation == ActivationKind.Gelu ? GemmActivation.Gelu : GemmActivation.None,
            Residual = fused && residual is not null ? Host(residual).Span : default,
        };
        switch (w.Tensor.Type)
        {
            case WeightType.F32:
                GemmF32.Compute(GemmPath, 0, m, n, k, x.Span, k, MemoryMarshal.Cast<byte, float>(w.Tensor.Data.Span), k, transposeB: true, y.Span, n, epilogue);
                break;
            case WeightType.Q4 when w.Panels is not null && (Int8Activations || m <= GemmQ4Rows.MaxRows):
                GemmQ4Rows.Compute(GemmPath, 0, m, x.Span, k, w.Panels, y.Span, n, epilogue);
                break;
            case WeightType.Q4:
                GemmQ4.Compute(GemmPath, 0, m, x.Span, k, w.Tensor.Q4!, y.Span, n, epilogue);
                break;
            case WeightType.F16:
                PanelGemm.Compute(m, x.Span, k, new HalfPanelSource(w.Tensor.Data, n, k), y.Span, n);
                PanelGemm.ApplyEpilogue(m, n, y.Span, n, epilogue);
                break;
            case WeightType.BF16:
                PanelGemm.Compute(m, x.Span, k, new BFloat16PanelSource(w.Tensor.Data, n, k), y.Span, n);
                PanelGemm.ApplyEpilogue(m, n, y.Span, n, epilogue);
                break;
            default:
                throw new BackendException($"linear '{weight.Name}': unsupported weight type {w.Tensor.Type}");
        }

        if (!fused)
        {
            Activate(y, activation, y);
            if (residual is not null)
            {
                Add(y, residual, y);
            }
        }
    }

    /// <inheritdoc />
    public void LayerNorm(BackendMatrix input, BackendWeight gain, BackendWeight bias, float epsilon, BackendMatrix output)
    {
        HostBackend.SameShape(input, output, "layer norm");
        var x = Host(input);
        var y = Host(output);
        var g = W(gain);
        var b = W(bias);
        if (g.Vector.Length != x.Columns || b.Vector.Length != x.Columns)
        {
            throw new ArgumentException($"layer norm '{gain.Name}': {g.Vector.Length} gains for width {x.Columns}");
        }

        ForRowBlocks(x.Rows, (r0, r1) =>
        {
            for (int i = r0; i < r1; i++)
            {
                CpuKernels.LayerNorm(x.Row(i), g.Vector, b.Vector, epsilon, y.Row(i));
            }
        });
    }

    /// <inheritdoc />
    public void Activate(BackendMatrix input, ActivationKind activation, BackendMatrix output)
    {
        HostBackend.SameShape(input, output, "activation");
        var x = Host(input);
        var y = Host(output);
        ForRowBlocks(x.Rows, (r0, r1) =>
        {
            int c = x.Columns;
            CpuKernels.Activate(x.Span[(r0 * c)..(r1 * c)], activation, y.Span[(r0 * c)..(r1 * c)]);
        });
    }

    /// <summary>output = a + b, for the activations the GEMM epilogue does not fuse.</summary>
    private static void Add(BackendMatrix a, BackendMatrix b, BackendMatrix output)
    {
        HostBackend.SameShape(a, b, "add");
        HostBackend.SameShape(a, output, "add");
        CpuKernels.Add(Host(a).Span, Host(b).Span, Host(output).Span);
    }

    /// <inheritdoc />
    public void Attention(BackendMatrix q, BackendMatrix k, BackendMatrix v, AttentionShape shape, ReadOnlySpan<int> lengths, BackendMatrix output)
    {
        HostBackend.CheckAttention(q, k, v, shape, lengths, output);
        var qs = Host(q);
        var ks = Host(k);
        var vs = Host(v);
        var o = Host(output);
        int[] lens = lengths.ToArray();
        GemmKernelPath path = AttentionTiles ? GemmPaths.Resolve(AttentionPath) : GemmKernelPath.Auto;
        int d = shape.HeadSize;
        float scale = 1 / MathF.Sqrt(d);
        long work = 0;
        foreach (int len in lens)
        {
            work += (long)len * len;
        }

        // A single short sentence is a few hundred thousand multiply-adds over all heads: too little to hand to the
        // thread pool, but worth splitting over the worker team, whose helpers are already spinning between products.
        work *= 2L * shape.Heads * d;
        var run = new AttentionRun(path, qs, ks, vs, o, shape, lens, scale);
        int tasks = shape.Batch * shape.Heads;
        if (work < SerialAttentionWork)
        {
            for (int task = 0; task < tasks; task++)
            {
                AttendTask(ref run, task);
            }

            return;
        }

        unsafe
        {
            WorkerTeam.Shared.Run(&AttendTask, Unsafe.AsPointer(ref run), tasks);
        }
    }

    private static unsafe void AttendTask(void* context, int task) => AttendTask(ref Unsafe.AsRef<AttentionRun>(context), task);

    private static void AttendTask(ref AttentionRun run, int task)
    {
        int heads = run.Shape.Heads;
        AttendHead(run.Path, run.Q, run.K, run.V, run.Output, run.Shape, run.Lengths[task / heads], task / heads, task % heads, run.Scale);
    }

    /// <summary>One attention call's operands, shared by its (sequence, head) tasks.</summary>
    private readonly record struct AttentionRun(
        GemmKernelPath Path, HostMatrix Q, HostMatrix K, HostMatrix V, HostMatrix Output, AttentionShape Shape, int[] Lengths, float Scale);

    /// <summary>
    /// Fused attention of one head of one sequence: QKᵀ, padding mask, online softmax and ×V, row by row; through the
    /// generated register tile for the path and head size when there is one (<see cref="IAttentionMicroKernel"/>), else
    /// through the generic row kernels. <see cref="GemmKernelPath.Auto"/> (tiles turned off) always runs the generic code.
    /// </summary>
    private static void AttendHead(GemmKernelPath path, HostMatrix qs, HostMatrix ks, HostMatrix vs, HostMatrix o, AttentionShape shape, int len, int b, int h, float scale)
    {
        switch (path, shape.HeadSize)
        {
            case (GemmKernelPath.Vector512, 32): AttendHeadTile<Attention512x32>(qs, ks, vs, o, shape, len, b, h, scale); return;
            case (GemmKernelPath.Vector512, 64): AttendHeadTile<Attention512x64>(qs, ks, vs, o, shape, len, b, h, scale); return;
            case (GemmKernelPath.Vector512, 128): AttendHeadTile<Attention512x128>(qs, ks, vs, o, shape, len, b, h, scale); return;
            case (GemmKernelPath.Vector256, 32): AttendHeadTile<Attention256x32>(qs, ks, vs, o, shape, len, b, h, scale); return;
            case (GemmKernelPath.Scalar, 32): AttendHeadTile<AttentionScalar32>(qs, ks, vs, o, shape, len, b, h, scale); return;
            case (GemmKernelPath.Scalar, 64): AttendHeadTile<AttentionScalar64>(qs, ks, vs, o, shape, len, b, h, scale); return;
            case (GemmKernelPath.Scalar, 128): AttendHeadTile<AttentionScalar128>(qs, ks, vs, o, shape, len, b, h, scale); return;
        }

        AttendHeadGeneric(qs, ks, vs, o, shape, len, b, h, scale);
    }

    /// <summary>One head through a register tile: the tile runs each valid query row, padded rows are zeroed.</summary>
    private static unsafe void AttendHeadTile<TTile>(HostMatrix qs, HostMatrix ks, HostMatrix vs, HostMatrix o, AttentionShape shape, int len, int b, int h, float scale)
        where TTile : struct, IAttentionMicroKernel
    {
        int t = shape.SequenceLength, d = TTile.HeadSize, width = shape.Heads * d;
        float* scores = stackalloc float[TTile.KeyBlock];
        fixed (float* qm = qs.Span, km = ks.Span, vm = vs.Span, om = o.Span)
        {
            // Offset of this sequence's first row in this head; the tile walks the key and value rows from there.
            nint head = ((nint)b * t * width) + ((nint)h * d);
            for (int i = 0; i < t; i++)
            {
                float* outRow = om + head + ((nint)i * width);
                if (i >= len)
                {
                    new Span<float>(outRow, d).Clear();
                    continue;
                }

                TTile.AttendRow(qm + head + ((nint)i * width), km + head, vm + head, width, len, scale, scores, outRow);
            }
        }
    }

    /// <summary>Any head size, through the span row kernels of <see cref="CpuKernels"/>.</summary>
    private static void AttendHeadGeneric(HostMatrix qs, HostMatrix ks, HostMatrix vs, HostMatrix o, AttentionShape shape, int len, int b, int h, float scale)
    {
        int t = shape.SequenceLength, d = shape.HeadSize, width = shape.Heads * d;
        Span<float> scores = stackalloc float[KeyBlock];

        // Head sizes are 32…128 in practice: the accumulator lives on the stack, no pool round trip per task.
        float[]? rented = d > MaxStackHead ? ArrayPool<float>.Shared.Rent(d) : null;
        Span<float> accRow = rented is null ? stackalloc float[MaxStackHead] : rented;
        accRow = accRow[..d];
        try
        {
            var qm = qs.Span;
            var km = ks.Span;
            var vm = vs.Span;
            var om = o.Span;
            for (int i = 0; i < t; i++)
            {
                var outRow = om.Slice(((b * t) + i) * width + (h * d), d);
                if (i >= len)
                {
                    outRow.Clear();
                    continue;
                }

                var qRow = qm.Slice(((b * t) + i) * width + (h * d), d);
                accRow.Clear();
                float runningMax = float.NegativeInfinity, runningSum = 0;

                // Online softmax: each key block rescales what was accumulated so far by exp(oldMax − newMax).
                for (int j0 = 0; j0 < len; j0 += KeyBlock)
                {
                    int count = Math.Min(KeyBlock, len - j0);
                    var s = scores[..count];
                    for (int j = 0; j < count; j++)
                    {
                        s[j] = CpuKernels.Dot(qRow, km.Slice(((b * t) + j0 + j) * width + (h * d), d)) * scale;
                    }

                    float blockMax = CpuKernels.Max(s);
                    float newMax = float.IsNaN(blockMax) ? float.NaN : Math.Max(runningMax, blockMax);
                    if (runningSum != 0)
                    {
                        float correction = MathF.Exp(runningMax - newMax);
                        runningSum *= correction;
                        CpuKernels.Scale(accRow, correction);
                    }

                    runningSum += CpuKernels.ExpShifted(s, newMax, s);
                    for (int j = 0; j < count; j++)
                    {
                        CpuKernels.Axpy(s[j], vm.Slice(((b * t) + j0 + j) * width + (h * d), d), accRow);
                    }

                    runningMax = newMax;
                }

                float inv = 1 / runningSum;
                for (int c = 0; c < d; c++)
                {
                    outRow[c] = accRow[c] * inv;
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<float>.Shared.Return(rented);
            }
        }
    }

    /// <inheritdoc />
    public void MeanPool(BackendMatrix input, int sequenceLength, ReadOnlySpan<int> lengths, BackendMatrix output)
    {
        HostBackend.CheckPool(input, sequenceLength, lengths.Length, output);
        var x = Host(input);
        var y = Host(output);
        for (int b = 0; b < lengths.Length; b++)
        {
            var row = y.Row(b);
            row.Clear();
            if ((uint)lengths[b] > (uint)sequenceLength)
            {
                throw new ArgumentException($"mean pool: length {lengths[b]} outside 0..{sequenceLength}");
            }

            for (int i = 0; i < lengths[b]; i++)
            {
                CpuKernels.Add(row, x.Row((b * sequenceLength) + i), row);
            }

            if (lengths[b] > 0)
            {
                CpuKernels.Scale(row, 1f / lengths[b]);
            }
        }
    }

    /// <inheritdoc />
    public void ClsPool(BackendMatrix input, int sequenceLength, BackendMatrix output)
    {
        HostBackend.CheckPool(input, sequenceLength, output.Rows, output);
        var x = Host(input);
        var y = Host(output);
        for (int b = 0; b < output.Rows; b++)
        {
            x.Row(b * sequenceLength).CopyTo(y.Row(b));
        }
    }

    /// <inheritdoc />
    public void L2Normalize(BackendMatrix input, BackendMatrix output)
    {
        HostBackend.SameShape(input, output, "normalize");
        var x = Host(input);
        var y = Host(output);
        for (int i = 0; i < x.Rows; i++)
        {
            var row = x.Row(i);
            float norm = MathF.Sqrt(CpuKernels.Dot(row, row));
            if (!ReferenceEquals(x, y))
            {
                row.CopyTo(y.Row(i));
            }

            CpuKernels.Scale(y.Row(i), 1 / Math.Max(norm, 1e-12f));
        }
    }

    /// <inheritdoc />
    public void TopK(BackendMatrix queries, BackendMatrix corpus, long firstIndex, ReadOnlySpan<float> bias, float scale, Span<long> indices, Span<float> scores)
    {
        CpuTopK.Run(Host(queries), Host(corpus), firstIndex, bias, scale, indices, scores, Threads);
        Counts.Add(BackendOp.TopK, (long)queries.Rows * corpus.Rows);
    }

    /// <inheritdoc />
    public void Sinkhorn(SinkhornBatch batch, SinkhornOptions options)
    {
        ArgumentNullException.ThrowIfNull(batch);
        CpuSinkhorn.SolveBatch(batch, options, Threads);
        Counts.Add(BackendOp.Sinkhorn, batch.Count);
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private static readonly ParallelOptions RowParallelism = new() { MaxDegreeOfParallelism = GemmPaths.MaxThreads };

    private static void ForRowBlocks(int rows, Action<int, int> body)
    {
        int blocks = (rows + RowsPerTask - 1) / RowsPerTask;
        if (blocks <= 1)
        {
            body(0, rows);
            return;
        }

        Parallel.For(0, blocks, RowParallelism, blk => body(blk * RowsPerTask, Math.Min(rows, (blk + 1) * RowsPerTask)));
    }

    private static HostMatrix Host(BackendMatrix m) => HostBackend.Host(m, BackendName);

    private static CpuWeight W(BackendWeight w) =>
        w as CpuWeight ?? throw new BackendException($"weight '{w.Name}' was prepared by another backend");

    private sealed class CpuWeight(WeightTensor tensor, int rows, int columns, float[]? widened, Q4Panels? panels)
        : BackendWeight(tensor.Name, rows, columns, tensor.Type)
    {
        public WeightTensor Tensor { get; } = tensor;

        /// <summary>A 4-bit matrix in the layout of few-row products, or null.</summary>
        public Q4Panels? Panels { get; } = panels;

        /// <summary>The widened values of a vector weight.</summary>
        public ReadOnlySpan<float> Vector => widened ?? throw new BackendException($"'{Name}' is a matrix, not a vector");

        /// <summary>Widens (or dequantises) one row into <paramref name="destination"/>.</summary>
        public void ReadRow(int row, Span<float> destination)
        {
            int c = Columns;
            switch (Tensor.Type)
            {
                case WeightType.F32:
                    MemoryMarshal.Cast<byte, float>(Tensor.Data.Span).Slice(row * c, c).CopyTo(destination);
                    break;
                case WeightType.F16:
                    var halves = MemoryMarshal.Cast<byte, Half>(Tensor.Data.Span).Slice(row * c, c);
                    for (int i = 0; i < c; i++)
                    {
                        destination[i] = (float)halves[i];
                    }

                    break;
                case WeightType.BF16:
                    var raw = MemoryMarshal.Cast<byte, ushort>(Tensor.Data.Span).Slice(row * c, c);
                    for (int i = 0; i < c; i++)
                    {
                        destination[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                    }

                    break;
                case WeightType.Q4:
                    var panel = new float[c * PanelGemm.NR];
                    new Q4PanelSource(Tensor.Q4!).Pack(row, 1, panel);
                    for (int i = 0; i < c; i++)
                    {
                        destination[i] = panel[i * PanelGemm.NR];
                    }

                    break;
                default:
                    throw new BackendException($"'{Name}': unsupported type {Tensor.Type}");
            }
        }
    }
}
