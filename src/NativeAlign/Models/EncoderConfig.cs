namespace NativeAlign.Models;

/// <summary>Which encoder family a model belongs to; decides position ids and token types.</summary>
public enum EncoderArchitecture
{
    /// <summary>BERT: absolute positions from 0, token type embeddings (mBERT, LaBSE, MiniLM, E5).</summary>
    Bert,

    /// <summary>XLM-RoBERTa: positions start past the padding index, one token type.</summary>
    XlmRoberta,
}

/// <summary>The shape of an encoder, read from <c>config.json</c>; nothing is assumed that the file does not say.</summary>
/// <param name="Architecture">The family.</param>
/// <param name="VocabularySize">Rows of the word embedding table.</param>
/// <param name="HiddenSize">Model width.</param>
/// <param name="LayerCount">Number of transformer layers.</param>
/// <param name="HeadCount">Attention heads per layer.</param>
/// <param name="IntermediateSize">Width of the feed-forward layer.</param>
/// <param name="MaxPositions">Rows of the position table.</param>
/// <param name="TypeVocabularySize">Rows of the token type table (1 for XLM-R).</param>
/// <param name="LayerNormEpsilon">Layer-norm epsilon.</param>
/// <param name="HiddenActivation">"gelu" (exact, erf), "gelu_new"/"gelu_pytorch_tanh" (tanh approximation) or "relu".</param>
/// <param name="PadTokenId">Padding id; XLM-R positions start at PadTokenId + 1.</param>
public sealed record EncoderConfig(
    EncoderArchitecture Architecture,
    int VocabularySize,
    int HiddenSize,
    int LayerCount,
    int HeadCount,
    int IntermediateSize,
    int MaxPositions,
    int TypeVocabularySize,
    float LayerNormEpsilon,
    string HiddenActivation,
    int PadTokenId)
{
    /// <summary>Width of one attention head.</summary>
    public int HeadSize => HiddenSize / HeadCount;

    /// <summary>Longest input in tokens the position table allows (XLM-R loses PadTokenId + 1 rows to the offset).</summary>
    public int MaxSequenceLength => Architecture == EncoderArchitecture.XlmRoberta ? MaxPositions - PadTokenId - 1 : MaxPositions;
}
