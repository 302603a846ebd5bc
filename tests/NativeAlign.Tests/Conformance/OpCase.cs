using NativeAlign.Backends;
using NativeAlign.Tensors;
using static NativeAlign.Tests.Conformance.TestWeights;

namespace NativeAlign.Tests.Conformance;

/// <summary>
/// One row of the conformance table: an op with its shapes, weight type and epilogue, as data. Inputs are drawn from
/// a generator seeded by the case's name, so a case always sees the same numbers and the oracle and the backend see
/// the same ones. Each op family knows how to call its op and what the float64 oracle says.
/// </summary>
internal abstract record OpCase
{
    public abstract BackendOp Op { get; }

    /// <summary>Unique within the table; the test's display name.</summary>
    public abstract string Name { get; }

    /// <summary>How a model would describe the op to <see cref="IComputeBackend.Unsupported"/>.</summary>
    public abstract OpSpec Spec { get; }

    /// <summary>The op's normalised-MSE bound (<see cref="OpBounds"/>).</summary>
    public virtual double Bound => OpBounds.For(Op);

    /// <summary>Runs the case on a backend that declares it supported and judges the result against the oracle.</summary>
    public abstract Verdict RunAndJudge(IComputeBackend backend);

    /// <summary>Calls the op once with the case's inputs, result unread: how a backend that declares it unsupported must refuse it.</summary>
    public abstract void Attempt(IComputeBackend backend);

    public sealed override string ToString() => Name;

    /// <summary>A generator seeded from the name (FNV-1a), stable across processes, unlike string.GetHashCode.</summary>
    protected Random Inputs()
    {
        uint hash = 2166136261;
        foreach (char ch in Name)
        {
            hash = (hash ^ ch) * 16777619;
        }

        return new Random((int)(hash & 0x7FFF_FFFF));
    }

    protected static string Nan(int at, string what) => at >= 0 ? $"-nan-{what}{at}" : string.Empty;
}

/// <summary>A case whose op writes one activation matrix: judged by <see cref="CaseRunner.RunMatrixCase"/> (sentinels, NaN placement, NMSE).</summary>
internal abstract record MatrixOpCase : OpCase
{
    public abstract int OutputRows { get; }

    public abstract int OutputColumns { get; }

    /// <summary>The float64 oracle's output (row-major), NaN where C# semantics give NaN.</summary>
    public abstract double[] Expected();

    /// <summary>Uploads the inputs, prepares the weights and runs the op into <paramref name="output"/>.</summary>
    public abstract void Execute(CaseSession session, BackendMatrix output);

    public sealed override Verdict RunAndJudge(IComputeBackend backend) => CaseRunner.RunMatrixCase(backend, this);

    public sealed override void Attempt(IComputeBackend backend)
    {
        using var session = new CaseSession(backend);
        Execute(session, session.Track(backend.Allocate(OutputRows, OutputColumns)));
    }
}

/// <summary>An elementwise activation over a rows × columns input (in place when <see cref="InPlace"/>); NaN planted at flat indices <see cref="NaNAt"/>.</summary>
internal sealed record ActivationCase(ActivationKind Kind, int Rows, int Columns) : MatrixOpCase
{
    public bool InPlace { get; init; }

    public int[] NaNAt { get; init; } = [];

    public float Scale { get; init; } = 6;

    public override BackendOp Op => BackendOp.Activation;

    public override string Name => $"activation-{Kind}-{Rows}x{Columns}{(Scale != 6 ? $"-scale{Scale}" : string.Empty)}{(InPlace ? "-inplace" : string.Empty)}{(NaNAt.Length > 0 ? "-nan" : string.Empty)}";

    public override OpSpec Spec => new(BackendOp.Activation, WeightType.F32) { Activation = Kind };

    public override int OutputRows => Rows;

    public override int OutputColumns => Columns;

    private float[] X()
    {
        var x = Uniform(Inputs(), Rows * Columns, Scale);
        foreach (int i in NaNAt)
        {
            x[i] = float.NaN;
        }

        return x;
    }

    public override double[] Expected() => Float64Oracle.Activate(X(), Kind);

    public override void Execute(CaseSession session, BackendMatrix output)
    {
        var input = InPlace ? session.Fill(output, X()) : session.Input(X(), Rows, Columns);
        session.Backend.Activate(input, Kind, output);
    }
}

/// <summary>y = act(x·Wᵀ + b) + residual with W [N, K] of <see cref="Type"/>; a NaN at column K/2 of row <see cref="NaNRow"/> when ≥ 0.</summary>
internal sealed record LinearCase(WeightType Type, int M, int N, int K, bool Bias, ActivationKind Activation, bool Residual) : MatrixOpCase
{
    public int BlockSize { get; init; } = 32;

    public bool ZeroPoints { get; init; } = true;

    public int NaNRow { get; init; } = -1;

    public override BackendOp Op => BackendOp.Linear;

    public override string Name =>
        $"linear-{Type}{(Type == WeightType.Q4 ? $"b{BlockSize}{(ZeroPoints ? string.Empty : "-z8")}" : string.Empty)}-{M}x{N}x{K}" +
        $"{(Bias ? "-bias" : string.Empty)}{(Activation != ActivationKind.None ? "-" + Activation : string.Empty)}{(Residual ? "-residual" : string.Empty)}{Nan(NaNRow, "row")}";

    public override OpSpec Spec => new(BackendOp.Linear, Type, N, K) { BlockSize = Type == WeightType.Q4 ? BlockSize : 0, Activation = Activation };

    public override int OutputRows => M;

    public override int OutputColumns => N;

    private (WeightTensor W, double[] WValues, WeightTensor? B, double[]? BValues, float[] X, float[]? R) Data()
    {
        var rng = Inputs();
        var (w, wv) = Make("w", N, K, Type, rng, 0.5f, BlockSize, ZeroPoints);
        var (b, bv) = Make("b", 1, N, WeightType.F32, rng);
        var x = Uniform(rng, M * K);
        var r = Uniform(rng, M * N);
        if (NaNRow >= 0)
        {
            x[(NaNRow * K) + (K / 2)] = float.NaN;
        }

        return (w, wv, Bias ? b : null, Bias ? bv : null, x, Residual ? r : null);
    }

    public override double[] Expected()
    {
        var d = Data();
        return Float64Oracle.Linear(d.X, M, K, d.WValues, N, d.BValues, Activation, d.R);
    }

    public override void Execute(CaseSession session, BackendMatrix output)
    {
        var d = Data();
        var residual = d.R is null ? null : session.Input(d.R, M, N);
        session.Backend.Linear(session.Input(d.X, M, K), session.Weight(d.W), session.OptionalWeight(d.B), Activation, residual, output);
    }
}

/// <summary>Layer norm of rows × columns values (uniform ±<see cref="Scale"/> around <see cref="Offset"/>) with gains of <see cref="GainType"/>.</summary>
internal sealed record LayerNormCase(int Rows, int Columns, float Epsilon) : MatrixOpCase
{
    public WeightType GainType { get; init; } = WeightType.F32;

    public float Offset { get; init; }

    public float Scale { get; init; } = 3;

    public bool InPlace { get; init; }

    public int NaNRow { get; init; } = -1;

    /// <summary>A row of one repeated value: variance 0, so the output is the bias and only ε keeps 1/√var finite.</summary>
    public int ConstantRow { get; init; } = -1;

    public override BackendOp Op => BackendOp.LayerNorm;

    public override string Name =>
        $"layernorm-{Rows}x{Columns}-eps{Epsilon:0e0}-{GainType}{(Offset != 0 ? $"-offset{Offset}" : string.Empty)}{(InPlace ? "-inplace" : string.Empty)}{Nan(NaNRow, "row")}{(ConstantRow >= 0 ? $"-constant-row{ConstantRow}" : string.Empty)}";

    public override OpSpec Spec => new(BackendOp.LayerNorm, GainType, 1, Columns);

    public override int OutputRows => Rows;

    public override int OutputColumns => Columns;

    private (float[] X, WeightTensor G, double[] Gv, WeightTensor B, double[] Bv) Data()
    {
        var rng = Inputs();
        var x = Uniform(rng, Rows * Columns, Scale, Offset);
        if (ConstantRow >= 0)
        {
            x.AsSpan(ConstantRow * Columns, Columns).Fill(Offset + 0.25f);
        }

        if (NaNRow >= 0)
        {
            x[(NaNRow * Columns) + (Columns / 3)] = float.NaN;
        }

        var (g, gv) = Make("gain", 1, Columns, GainType, rng, 2);
        var (b, bv) = Make("bias", 1, Columns, GainType, rng);
        return (x, g, gv, b, bv);
    }

    public override double[] Expected()
    {
        var d = Data();
        return Float64Oracle.LayerNorm(d.X, Rows, Columns, d.Gv, d.Bv, Epsilon);
    }

    public override void Execute(CaseSession session, BackendMatrix output)
    {
        var d = Data();
        var input = InPlace ? session.Fill(output, d.X) : session.Input(d.X, Rows, Columns);
        session.Backend.LayerNorm(input, session.Weight(d.G), session.Weight(d.B), Epsilon, output);
    }
}

/// <summary>Where an attention case plants a NaN: matrix "q", "k" or "v", a row of the padded batch, a head (column 3 of it).</summary>
internal readonly record struct NaNPlacement(string Matrix, int Row, int Head);

/// <summary>Attention over a padded batch; q and k uniform ±<see cref="Scale"/>, v ±1.</summary>
internal sealed record AttentionCase(int Batch, int SequenceLength, int Heads, int HeadSize, int[] Lengths) : MatrixOpCase
{
    public float Scale { get; init; } = 2;

    public NaNPlacement? NaN { get; init; }

    public override BackendOp Op => BackendOp.Attention;

    public override string Name =>
        $"attention-b{Batch}-t{SequenceLength}-h{Heads}-d{HeadSize}-len{string.Join('.', Lengths)}{(Scale != 2 ? $"-scale{Scale}" : string.Empty)}" +
        (NaN is { } n ? $"-nan-{n.Matrix}-row{n.Row}-head{n.Head}" : string.Empty);

    public override OpSpec Spec => new(BackendOp.Attention, WeightType.F32) { HeadSize = HeadSize };

    public override int OutputRows => Batch * SequenceLength;

    public override int OutputColumns => Heads * HeadSize;

    private AttentionShape Shape => new(Batch, SequenceLength, Heads, HeadSize);

    private (float[] Q, float[] K, float[] V) Data()
    {
        var rng = Inputs();
        int count = OutputRows * OutputColumns;
        var q = Uniform(rng, count, Scale);
        var k = Uniform(rng, count, Scale);
        var v = Uniform(rng, count);
        if (NaN is { } n)
        {
            var target = n.Matrix switch { "q" => q, "k" => k, "v" => v, _ => throw new ArgumentException(n.Matrix) };
            target[(n.Row * OutputColumns) + (n.Head * HeadSize) + Math.Min(3, HeadSize - 1)] = float.NaN;
        }

        return (q, k, v);
    }

    public override double[] Expected()
    {
        var d = Data();
        return Float64Oracle.Attention(d.Q, d.K, d.V, Shape, Lengths);
    }

    public override void Execute(CaseSession session, BackendMatrix output)
    {
        var d = Data();
        int r = OutputRows, c = OutputColumns;
        session.Backend.Attention(session.Input(d.Q, r, c), session.Input(d.K, r, c), session.Input(d.V, r, c), Shape, Lengths, output);
    }
}

/// <summary>Mean pooling of a padded batch; a NaN in row <see cref="NaNRow"/> of the batch when ≥ 0.</summary>
internal sealed record MeanPoolCase(int SequenceLength, int[] Lengths, int Columns) : MatrixOpCase
{
    public int NaNRow { get; init; } = -1;

    public override BackendOp Op => BackendOp.MeanPool;

    public override string Name => $"meanpool-t{SequenceLength}-len{string.Join('.', Lengths)}-w{Columns}{Nan(NaNRow, "row")}";

    public override OpSpec Spec => new(BackendOp.MeanPool, WeightType.F32);

    public override int OutputRows => Lengths.Length;

    public override int OutputColumns => Columns;

    private float[] X()
    {
        var x = Uniform(Inputs(), Lengths.Length * SequenceLength * Columns);
        if (NaNRow >= 0)
        {
            x[(NaNRow * Columns) + (Columns / 2)] = float.NaN;
        }

        return x;
    }

    public override double[] Expected() => Float64Oracle.MeanPool(X(), SequenceLength, Lengths, Columns);

    public override void Execute(CaseSession session, BackendMatrix output) =>
        session.Backend.MeanPool(session.Input(X(), Lengths.Length * SequenceLength, Columns), SequenceLength, Lengths, output);
}

/// <summary>The first row of each sequence: a copy, held to bit equality.</summary>
internal sealed record ClsPoolCase(int Batch, int SequenceLength, int Columns) : MatrixOpCase
{
    public override BackendOp Op => BackendOp.ClsPool;

    public override string Name => $"clspool-b{Batch}-t{SequenceLength}-w{Columns}";

    public override OpSpec Spec => new(BackendOp.ClsPool, WeightType.F32);

    public override int OutputRows => Batch;

    public override int OutputColumns => Columns;

    private float[] X() => Uniform(Inputs(), Batch * SequenceLength * Columns);

    public override double[] Expected() => Float64Oracle.ClsPool(X(), Batch, SequenceLength, Columns);

    public override void Execute(CaseSession session, BackendMatrix output) =>
        session.Backend.ClsPool(session.Input(X(), Batch * SequenceLength, Columns), SequenceLength, output);
}

/// <summary>Row-wise L2 normalisation, optionally with an all-zero row, a row of tiny values (norm below the 1e-12 clamp) and a NaN row.</summary>
internal sealed record L2NormalizeCase(int Rows, int Columns) : MatrixOpCase
{
    public int ZeroRow { get; init; } = -1;

    public int TinyRow { get; init; } = -1;

    public int NaNRow { get; init; } = -1;

    public bool InPlace { get; init; }

    public override BackendOp Op => BackendOp.L2Normalize;

    public override string Name =>
        $"l2norm-{Rows}x{Columns}{(ZeroRow >= 0 ? $"-zero-row{ZeroRow}" : string.Empty)}{(TinyRow >= 0 ? $"-tiny-row{TinyRow}" : string.Empty)}{Nan(NaNRow, "row")}{(InPlace ? "-inplace" : string.Empty)}";

    public override OpSpec Spec => new(BackendOp.L2Normalize, WeightType.F32);

    public override int OutputRows => Rows;

    public override int OutputColumns => Columns;

    private float[] X()
    {
        var x = Uniform(Inputs(), Rows * Columns, 3);
        if (ZeroRow >= 0)
        {
            x.AsSpan(ZeroRow * Columns, Columns).Clear();
        }

        if (TinyRow >= 0)
        {
            // ‖x‖ ≈ 1e-14·√columns: below the clamp, so the row is divided by 1e-12, not by its norm.
            for (int j = 0; j < Columns; j++)
            {
                x[(TinyRow * Columns) + j] *= 1e-14f;
            }
        }

        if (NaNRow >= 0)
        {
            x[(NaNRow * Columns) + (Columns / 2)] = float.NaN;
        }

        return x;
    }

    public override double[] Expected() => Float64Oracle.L2Normalize(X(), Rows, Columns);

    public override void Execute(CaseSession session, BackendMatrix output)
    {
        var input = InPlace ? session.Fill(output, X()) : session.Input(X(), Rows, Columns);
        session.Backend.L2Normalize(input, output);
    }
}

/// <summary>Word + position (+ token type) rows gathered and summed; the word table in <see cref="WordType"/>, 50 × hidden.</summary>
internal sealed record EmbeddingSumCase(WeightType WordType, int Hidden, int Tokens, bool TokenTypes) : MatrixOpCase
{
    private const int Vocabulary = 50, Positions = 20, Types = 2;

    public int BlockSize { get; init; } = 32;

    public override BackendOp Op => BackendOp.EmbeddingSum;

    public override string Name =>
        $"embedding-{WordType}{(WordType == WeightType.Q4 ? $"b{BlockSize}" : string.Empty)}-h{Hidden}-n{Tokens}{(TokenTypes ? "-types" : "-no-types")}";

    public override OpSpec Spec => new(BackendOp.EmbeddingSum, WordType, Vocabulary, Hidden) { BlockSize = WordType == WeightType.Q4 ? BlockSize : 0 };

    public override int OutputRows => Tokens;

    public override int OutputColumns => Hidden;

    private (int[] Ids, int[] Pos, int[] Tt, WeightTensor W, double[] Wv, WeightTensor P, double[] Pv, WeightTensor? T, double[]? Tv) Data()
    {
        var rng = Inputs();
        var (w, wv) = Make("embeddings.word_embeddings.weight", Vocabulary, Hidden, WordType, rng, 1, BlockSize);
        var (p, pv) = Make("embeddings.position_embeddings.weight", Positions, Hidden, WeightType.F32, rng);
        var (t, tv) = Make("embeddings.token_type_embeddings.weight", Types, Hidden, WeightType.F32, rng);

        // The first and last rows of each table are always among the ids: an off-by-one in the gather shows.
        int[] ids = [.. Enumerable.Range(0, Tokens).Select(i => i switch { 0 => Vocabulary - 1, 1 => 0, _ => rng.Next(Vocabulary) })];
        int[] pos = [.. Enumerable.Range(0, Tokens).Select(i => i == 0 ? Positions - 1 : i % Positions)];
        int[] tt = TokenTypes ? [.. Enumerable.Range(0, Tokens).Select(i => (i / 3) % Types)] : [];
        return (ids, pos, tt, w, wv, p, pv, TokenTypes ? t : null, TokenTypes ? tv : null);
    }

    public override double[] Expected()
    {
        var d = Data();
        return Float64Oracle.EmbeddingSum(d.Ids, d.Pos, TokenTypes ? d.Tt : null, d.Wv, d.Pv, d.Tv, Hidden);
    }

    public override void Execute(CaseSession session, BackendMatrix output)
    {
        var d = Data();
        session.Backend.EmbeddingSum(d.Ids, d.Pos, d.Tt, session.Weight(d.W), session.Weight(d.P), session.OptionalWeight(d.T), output);
    }
}
