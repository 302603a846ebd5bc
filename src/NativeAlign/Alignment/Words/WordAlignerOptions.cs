using NativeAlign.Alignment.Transport;
using NativeAlign.Tensors;

namespace NativeAlign.Alignment.Words;

/// <summary>How words are linked from a similarity matrix.</summary>
public enum WordAlignmentMethod
{
    /// <summary>SimAlign ArgMax: links (i, j) where j is i's best target and i is j's best source.</summary>
    ArgMax,

    /// <summary>SimAlign IterMax: ArgMax, then repeated ArgMax on the similarity of still-unaligned words, down-weighted by α.</summary>
    IterMax,

    /// <summary>SimAlign Match: maximum-weight bipartite matching.</summary>
    Match,

    /// <summary>awesome-align extraction: softmax over rows and over columns, both above a threshold.</summary>
    Softmax,

    /// <summary>OTAlign balanced entropic optimal transport, links where the min-max scaled plan exceeds a threshold.</summary>
    Ot,

    /// <summary>OTAlign unbalanced (KL-relaxed) optimal transport, thresholded like <see cref="Ot"/>.</summary>
    Uot,

    /// <summary>OTAlign partial optimal transport, thresholded like <see cref="Ot"/>.</summary>
    Pot,
}

/// <summary>Mass given to each word by the transport methods (OTAlign's <c>weight_type</c>).</summary>
public enum WordMassKind
{
    /// <summary>Every word weighs 1 (normalised to sum 1 for balanced transport).</summary>
    Uniform,

    /// <summary>Each word weighs the L2 norm of its embedding (pass the norms to <see cref="WordAligner.Align"/>).</summary>
    Norm,
}

/// <summary>Parameters of <see cref="WordAligner"/>. Defaults follow the papers where they give one.</summary>
public sealed record WordAlignerOptions
{
    /// <summary>The extraction method.</summary>
    public WordAlignmentMethod Method { get; init; } = WordAlignmentMethod.ArgMax;

    /// <summary>
    /// Distortion ratio κ: similarities are multiplied by 1 − κ·(j/(m−1) − i/(n−1))², favouring links near the diagonal
    /// (SimAlign's and OTAlign's <c>apply_distortion</c>); 0 turns it off (SimAlign's default).
    /// </summary>
    public float Distortion { get; init; }

    /// <summary>IterMax: α, the factor on similarities of words of which one side is already aligned (SimAlign: 0.9).</summary>
    public float IterMaxAlpha { get; init; } = 0.9f;

    /// <summary>IterMax: number of ArgMax rounds including the first (SimAlign: 2).</summary>
    public int IterMaxIterations { get; init; } = 2;

    /// <summary>Softmax: probability threshold for both directions (awesome-align: 0.001).</summary>
    public float SoftmaxThreshold { get; init; } = 1e-3f;

    /// <summary>Transport methods: threshold on the min-max scaled plan (OTAlign tunes it on development data).</summary>
    public float TransportThreshold { get; init; } = 0.1f;

    /// <summary>Transport methods: word masses.</summary>
    public WordMassKind Mass { get; init; } = WordMassKind.Uniform;

    /// <summary>Transport methods: entropic regularisation ε.</summary>
    public float Epsilon { get; init; } = 0.1f;

    /// <summary>Transport methods: Sinkhorn iteration cap.</summary>
    public int MaxIterations { get; init; } = 1000;

    /// <summary>Transport methods: Sinkhorn stopping threshold (POT's stopThr meaning, see <see cref="SinkhornOptions.Tolerance"/>).</summary>
    public float Tolerance { get; init; } = 1e-6f;

    /// <summary>Uot: KL marginal relaxation τ (OTAlign's <c>ot_hyp</c> for uot).</summary>
    public float MarginalRelaxation { get; init; } = 1f;

    /// <summary>Pot: fraction of min(Σa, Σb) transported (OTAlign's <c>ot_hyp</c> for pot), in (0, 1].</summary>
    public float PartialMassFraction { get; init; } = 0.8f;

    /// <summary>The Sinkhorn options the transport methods use.</summary>
    public SinkhornOptions ToSinkhornOptions() => new()
    {
        Kind = Method switch
        {
            WordAlignmentMethod.Uot => TransportKind.Unbalanced,
            WordAlignmentMethod.Pot => TransportKind.Partial,
            _ => TransportKind.Balanced,
        },
        Epsilon = Epsilon,
        MaxIterations = MaxIterations,
        Tolerance = Tolerance,
        MarginalRelaxation = MarginalRelaxation,
    };
}

/// <summary>One link between source word <see cref="Source"/> and target word <see cref="Target"/> (0-based).</summary>
/// <param name="Source">Source word index.</param>
/// <param name="Target">Target word index.</param>
/// <param name="Score">The method's score for the link (similarity, probability product or scaled plan value).</param>
public readonly record struct WordLink(int Source, int Target, float Score);
