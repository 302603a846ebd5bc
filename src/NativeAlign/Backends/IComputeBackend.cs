using NativeAlign.Tensors;

namespace NativeAlign.Backends;

/// <summary>The operations an encoder forward pass is built from; a backend says which it supports per weight type.</summary>
public enum BackendOp
{
    /// <summary>Word + position (+ token type) embedding rows gathered and summed.</summary>
    EmbeddingSum,

    /// <summary>y = act(x·Wᵀ + b) + residual with W [out, in].</summary>
    Linear,

    /// <summary>Per-row layer normalisation with gain and bias.</summary>
    LayerNorm,

    /// <summary>An elementwise activation (<see cref="ActivationKind"/>).</summary>
    Activation,

    /// <summary>Multi-head scaled dot-product attention over a padded batch.</summary>
    Attention,

    /// <summary>Mean over the real (unpadded) tokens of each sequence.</summary>
    MeanPool,

    /// <summary>The first token of each sequence.</summary>
    ClsPool,

    /// <summary>Per-row L2 normalisation.</summary>
    L2Normalize,

    /// <summary>Inner-product top-k of query rows against corpus rows (cosine on normalised rows), with a per-row bias.</summary>
    TopK,

    /// <summary>A batch of entropic optimal-transport problems (balanced, unbalanced or partial), log-domain Sinkhorn.</summary>
    Sinkhorn,
}

/// <summary>Elementwise activations.</summary>
public enum ActivationKind
{
    /// <summary>Identity.</summary>
    None,

    /// <summary>Exact GELU: x·Φ(x) = ½x(1 + erf(x/√2)).</summary>
    Gelu,

    /// <summary>The tanh approximation of GELU (<c>gelu_new</c>, <c>gelu_pytorch_tanh</c>).</summary>
    GeluTanh,

    /// <summary>max(x, 0).</summary>
    Relu,

    /// <summary>Hyperbolic tangent (BERT pooler, LaBSE's Dense module).</summary>
    Tanh,

    /// <summary>Logistic sigmoid 1/(1 + e^−x) (a sentence-transformers Dense option).</summary>
    Sigmoid,
}

/// <summary>The shape of a padded attention batch: Batch sequences of SequenceLength rows, Heads heads of HeadSize.</summary>
/// <param name="Batch">Sequences in the batch.</param>
/// <param name="SequenceLength">Padded length: every sequence occupies this many rows.</param>
/// <param name="Heads">Attention heads.</param>
/// <param name="HeadSize">Width of one head; Q, K, V and the output are [Batch·SequenceLength × Heads·HeadSize].</param>
public readonly record struct AttentionShape(int Batch, int SequenceLength, int Heads, int HeadSize);

/// <summary>A weight prepared by a backend (converted, uploaded or kept packed, as the backend prefers).</summary>
public abstract class BackendWeight : IDisposable
{
    /// <summary>Creates the handle.</summary>
    protected BackendWeight(string name, int rows, int columns, WeightType type)
    {
        Name = name;
        Rows = rows;
        Columns = columns;
        Type = type;
    }

    /// <summary>Canonical tensor name, for error messages.</summary>
    public string Name { get; }

    /// <summary>Rows (output features of a linear weight, rows of a table; 1 for a vector).</summary>
    public int Rows { get; }

    /// <summary>Columns (input features of a linear weight; length of a vector).</summary>
    public int Columns { get; }

    /// <summary>Storage type.</summary>
    public WeightType Type { get; }

    /// <inheritdoc />
    public virtual void Dispose() => GC.SuppressFinalize(this);
}

/// <summary>
/// An op as a model will call it, described before any data exists: the op, the storage type of its weight (or table),
/// and the shapes that decide whether a kernel exists for it. A model asks <see cref="IComputeBackend.Unsupported"/>
/// about every op it will run when it binds to a backend, so a backend that cannot run one fails at load, naming op,
/// shape and backend, never mid-run.
/// </summary>
/// <param name="Op">The op.</param>
/// <param name="WeightType">Storage type of the weight or table the op reads (<see cref="WeightType.F32"/> for ops without one).</param>
/// <param name="Rows">Rows of the weight (output features, table rows; 1 for a vector); 0 when the op has no weight.</param>
/// <param name="Columns">Columns of the weight (input features, table width, vector length); 0 when the op has no weight.</param>
public readonly record struct OpSpec(BackendOp Op, WeightType WeightType, int Rows = 0, int Columns = 0)
{
    /// <summary>For <see cref="BackendOp.Attention"/>: the width of one head.</summary>
    public int HeadSize { get; init; }

    /// <summary>For a <see cref="WeightType.Q4"/> weight: values per quantisation block.</summary>
    public int BlockSize { get; init; }

    /// <summary>For <see cref="BackendOp.Linear"/> and <see cref="BackendOp.Activation"/>: the activation applied.</summary>
    public ActivationKind Activation { get; init; }

    /// <summary>For <see cref="BackendOp.TopK"/>: neighbours kept per query.</summary>
    public int K { get; init; }

    /// <summary>For <see cref="BackendOp.Sinkhorn"/>: the problem kind (Rows and Columns then give the largest sides).</summary>
    public TransportKind Transport { get; init; }

    /// <summary>The op and its shape in words, for error messages ("Linear [384, 1536] Q4 (block 32) + Gelu").</summary>
    public override string ToString()
    {
        var text = new System.Text.StringBuilder(Op.ToString());
        if (Rows > 0 || Columns > 0)
        {
            text.Append(" [").Append(Rows).Append(", ").Append(Columns).Append(']');
        }

        text.Append(' ').Append(WeightType);
        if (BlockSize > 0)
        {
            text.Append(" (block ").Append(BlockSize).Append(')');
        }

        if (HeadSize > 0)
        {
            text.Append(", head size ").Append(HeadSize);
        }

        if (Activation != ActivationKind.None)
        {
            text.Append(" + ").Append(Activation);
        }

        if (K > 0)
        {
            text.Append(", k ").Append(K);
        }

        if (Op == BackendOp.Sinkhorn)
        {
            text.Append(", ").Append(Transport);
        }

        return text.ToString();
    }
}

/// <summary>
/// A compute backend: the small set of ops a BERT / XLM-R encoder needs, over row-major float32 activations.
/// Ops are stateless and safe to call from several threads at once on different outputs. Backends that keep
/// activations elsewhere than host memory (OpenCL) translate at <see cref="Upload"/> / <see cref="Download"/>.
/// </summary>
public interface IComputeBackend : IDisposable
{
    /// <summary>Short name ("cpu", "reference").</summary>
    string Name { get; }

    /// <summary>Null when this backend runs <paramref name="op"/> as described, else why not (a kernel's type or shape limit).</summary>
    string? Unsupported(OpSpec op);

    /// <summary>Allocates a zeroed activation matrix owned by this backend; the caller disposes it.</summary>
    BackendMatrix Allocate(int rows, int columns);

    /// <summary>
    /// A rows × columns matrix over the first rows·columns elements of <paramref name="storage"/> (which must hold that
    /// many), sharing its memory: how a workspace reuses one allocation for activations of every shape. Its contents
    /// are whatever the storage holds; disposing the view releases nothing.
    /// </summary>
    BackendMatrix View(BackendMatrix storage, int rows, int columns);

    /// <summary>
    /// A rows × columns matrix holding <paramref name="data"/> (at least rows·columns floats), for ops that only read
    /// it: backends keeping activations in host memory borrow the memory without copying (the caller must not change
    /// it while the matrix is in use), device backends copy it to the device. The caller disposes the matrix.
    /// </summary>
    BackendMatrix Borrow(ReadOnlyMemory<float> data, int rows, int columns);

    /// <summary>Copies rows × columns host floats into <paramref name="destination"/>.</summary>
    void Upload(ReadOnlySpan<float> source, BackendMatrix destination);

    /// <summary>Copies <paramref name="source"/> to host memory.</summary>
    void Download(BackendMatrix source, Span<float> destination);

    /// <summary>Prepares a weight for use; vectors (bias, gain) are given as [1, n] or [n].</summary>
    BackendWeight PrepareWeight(WeightTensor weight);

    /// <summary>output[i] = words[ids[i]] + positions[positionIds[i]] (+ types[typeIds[i]] when <paramref name="types"/> is given).</summary>
    void EmbeddingSum(ReadOnlySpan<int> ids, ReadOnlySpan<int> positionIds, ReadOnlySpan<int> typeIds, BackendWeight words, BackendWeight positions, BackendWeight? types, BackendMatrix output);

    /// <summary>output = act(input·weightᵀ + bias) + residual; bias and residual optional; output must not alias input.</summary>
    void Linear(BackendMatrix input, BackendWeight weight, BackendWeight? bias, ActivationKind activation, BackendMatrix? residual, BackendMatrix output);

    /// <summary>Per-row (x − mean)/√(var + eps)·gain + bias; output may alias input.</summary>
    void LayerNorm(BackendMatrix input, BackendWeight gain, BackendWeight bias, float epsilon, BackendMatrix output);

    /// <summary>Elementwise activation; output may alias input.</summary>
    void Activate(BackendMatrix input, ActivationKind activation, BackendMatrix output);

    /// <summary>
    /// softmax(Q·Kᵀ/√d + mask)·V per sequence and head; keys at positions ≥ lengths[b] are masked out; rows of padding
    /// queries are written as zeros.
    /// </summary>
    void Attention(BackendMatrix q, BackendMatrix k, BackendMatrix v, AttentionShape shape, ReadOnlySpan<int> lengths, BackendMatrix output);

    /// <summary>output[b] = mean of input rows b·T … b·T + lengths[b] − 1 (zeros when the length is 0).</summary>
    void MeanPool(BackendMatrix input, int sequenceLength, ReadOnlySpan<int> lengths, BackendMatrix output);

    /// <summary>output[b] = input row b·T.</summary>
    void ClsPool(BackendMatrix input, int sequenceLength, BackendMatrix output);

    /// <summary>Per-row x/max(‖x‖₂, 1e-12); output may alias input.</summary>
    void L2Normalize(BackendMatrix input, BackendMatrix output);

    /// <summary>
    /// Scores every query row q against every corpus row c as scale·(q·c) − bias[c] (bias empty: none) and merges the
    /// scores into the running top-k lists of the queries: <paramref name="indices"/> and <paramref name="scores"/> hold
    /// queries.Rows lists of k = indices.Length / queries.Rows entries, best first, where corpus row c has index
    /// <paramref name="firstIndex"/> + c. The order is total: higher score first, equal scores keep the lower index
    /// (so merging chunks in corpus order gives the same lists as one pass), NaN scores are never selected, and empty
    /// slots hold index −1 and score −∞. Streaming a corpus is a sequence of calls, one chunk each.
    /// </summary>
    void TopK(BackendMatrix queries, BackendMatrix corpus, long firstIndex, ReadOnlySpan<float> bias, float scale, Span<long> indices, Span<float> scores);

    /// <summary>
    /// Solves every problem of <paramref name="batch"/> (costs and marginals on the host) with <paramref name="options"/>,
    /// writing <see cref="SinkhornBatch.Plans"/> and <see cref="SinkhornBatch.Iterations"/>: POT 0.8.2's iterations and
    /// stopping rules for each <see cref="TransportKind"/>, in the log domain.
    /// </summary>
    void Sinkhorn(SinkhornBatch batch, SinkhornOptions options);

    /// <summary>How many retrieval and transport calls this backend ran, and how many it handed to the host instead.</summary>
    OpCounts Counts { get; }
}

/// <summary>Binding a model's ops to a backend.</summary>
public static class BackendBinding
{
    /// <summary>Whether <paramref name="backend"/> runs <paramref name="op"/> as described.</summary>
    public static bool Supports(this IComputeBackend backend, OpSpec op)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return backend.Unsupported(op) is null;
    }

    /// <summary>
    /// Throws a <see cref="BackendException"/> naming the op, its shape, the backend and the reason when
    /// <paramref name="backend"/> cannot run <paramref name="op"/>; <paramref name="tensor"/> names the weight involved.
    /// </summary>
    public static void Require(this IComputeBackend backend, OpSpec op, string? tensor = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (backend.Unsupported(op) is { } reason)
        {
            string what = tensor is null ? string.Empty : $" ('{tensor}')";
            throw new BackendException($"the {backend.Name} backend cannot run {op}{what}: {reason}");
        }
    }
}
