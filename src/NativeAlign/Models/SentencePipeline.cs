using NativeAlign.Tensors;

namespace NativeAlign.Models;

/// <summary>How token vectors become one sentence vector (sentence-transformers' <c>pooling_mode_*</c> flags).</summary>
public enum SentencePoolingMode
{
    /// <summary>The first token's vector (<c>pooling_mode_cls_token</c>).</summary>
    Cls,

    /// <summary>Element-wise maximum over real tokens (<c>pooling_mode_max_tokens</c>).</summary>
    Max,

    /// <summary>Mean over real (non-padding) tokens (<c>pooling_mode_mean_tokens</c>).</summary>
    Mean,

    /// <summary>Sum over real tokens divided by the square root of their count (<c>pooling_mode_mean_sqrt_len_tokens</c>).</summary>
    MeanSqrtLength,

    /// <summary>Mean weighted by position 1..n (<c>pooling_mode_weightedmean_tokens</c>).</summary>
    WeightedMean,

    /// <summary>The last real token's vector (<c>pooling_mode_lasttoken</c>).</summary>
    LastToken,
}

/// <summary>The activation after a sentence-transformers Dense layer.</summary>
public enum SentenceDenseActivation
{
    /// <summary>None (<c>torch.nn.modules.linear.Identity</c>).</summary>
    Identity,

    /// <summary>Hyperbolic tangent (<c>torch.nn.modules.activation.Tanh</c>; LaBSE's <c>2_Dense</c>).</summary>
    Tanh,

    /// <summary>max(0, x) (<c>torch.nn.modules.activation.ReLU</c>).</summary>
    Relu,

    /// <summary>Logistic sigmoid (<c>torch.nn.modules.activation.Sigmoid</c>).</summary>
    Sigmoid,

    /// <summary>Exact (erf) GELU (<c>torch.nn.modules.activation.GELU</c>).</summary>
    Gelu,
}

/// <summary>One step of a sentence-embedding pipeline, applied in order after the encoder.</summary>
public abstract record SentencePipelineStep;

/// <summary>The encoder itself (sentence-transformers <c>Transformer</c>); <see cref="MaxSequenceLength"/> caps input tokens when set.</summary>
/// <param name="MaxSequenceLength">From <c>sentence_bert_config.json</c> <c>max_seq_length</c>, or null when not stated.</param>
/// <param name="DoLowerCase">From <c>sentence_bert_config.json</c> <c>do_lower_case</c> (lower-case the text before tokenising).</param>
public sealed record TransformerStep(int? MaxSequenceLength, bool DoLowerCase) : SentencePipelineStep;

/// <summary>
/// Pooling; when several modes are set their results are concatenated in the order listed (sentence-transformers' order:
/// cls, max, mean, mean-sqrt-length, weighted-mean, last-token), giving <c>Modes.Count × hidden</c> values.
/// </summary>
/// <param name="Modes">The modes, at least one.</param>
/// <param name="IncludePrompt">Whether prompt tokens count in the pooling (sentence-transformers' <c>include_prompt</c>, true by default).</param>
public sealed record PoolingStep(IReadOnlyList<SentencePoolingMode> Modes, bool IncludePrompt = true) : SentencePipelineStep;

/// <summary>A linear layer y = activation(W x + b) over the pooled vector; <see cref="Weight"/> is [out, in].</summary>
/// <param name="InFeatures">Input width.</param>
/// <param name="OutFeatures">Output width.</param>
/// <param name="Weight">The weight, [OutFeatures, InFeatures].</param>
/// <param name="Bias">The bias [OutFeatures], or null when the layer has none.</param>
/// <param name="Activation">The activation after the product.</param>
public sealed record DenseStep(int InFeatures, int OutFeatures, WeightTensor Weight, WeightTensor? Bias, SentenceDenseActivation Activation) : SentencePipelineStep;

/// <summary>L2 normalisation of the sentence vector.</summary>
public sealed record NormalizeStep : SentencePipelineStep;

/// <summary>
/// What turns encoder outputs into the sentence embedding a model's authors meant: the steps of sentence-transformers'
/// <c>modules.json</c>, or, for a folder without one, the same default sentence-transformers itself falls back to
/// (the encoder, then mean pooling, no normalisation) with <see cref="IsDeclared"/> false.
/// </summary>
/// <param name="Steps">The steps in order; the first is always a <see cref="TransformerStep"/>.</param>
/// <param name="IsDeclared">True when the folder's <c>modules.json</c> declared the steps.</param>
public sealed record SentencePipeline(IReadOnlyList<SentencePipelineStep> Steps, bool IsDeclared)
{
    /// <summary>The fallback for folders without <c>modules.json</c>: encoder then mean pooling.</summary>
    public static SentencePipeline Undeclared { get; } = new([new TransformerStep(null, false), new PoolingStep([SentencePoolingMode.Mean])], false);

    /// <summary>The pooling step, if any.</summary>
    public PoolingStep? Pooling => Steps.OfType<PoolingStep>().FirstOrDefault();

    /// <summary>True when a <see cref="NormalizeStep"/> is present.</summary>
    public bool Normalizes => Steps.OfType<NormalizeStep>().Any();

    /// <summary>A one-line description such as <c>Transformer → Pooling(Cls) → Dense(768→768, Tanh) → Normalize</c>.</summary>
    public override string ToString() => string.Join(" → ", Steps.Select(s => s switch
    {
        TransformerStep t => t.MaxSequenceLength is { } m ? $"Transformer(max {m})" : "Transformer",
        PoolingStep p => $"Pooling({string.Join("+", p.Modes)})",
        DenseStep d => $"Dense({d.InFeatures}→{d.OutFeatures}, {d.Activation})",
        NormalizeStep => "Normalize",
        _ => s.GetType().Name,
    })) + (IsDeclared ? "" : " (default: no modules.json)");
}
