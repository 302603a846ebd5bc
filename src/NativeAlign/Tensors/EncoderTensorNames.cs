namespace NativeAlign.Tensors;

/// <summary>
/// The canonical Hugging Face BERT tensor names (no model prefix) that BERT and XLM-R encoders use: the one list that
/// the file readers map checkpoints onto and the encoder binds from.
/// </summary>
public static class EncoderTensorNames
{
    /// <summary>Word embedding table [vocab, hidden].</summary>
    public const string WordEmbeddings = "embeddings.word_embeddings.weight";

    /// <summary>Position embedding table [max_positions, hidden].</summary>
    public const string PositionEmbeddings = "embeddings.position_embeddings.weight";

    /// <summary>Token type embedding table [type_vocab, hidden] (optional: absent from some checkpoints).</summary>
    public const string TokenTypeEmbeddings = "embeddings.token_type_embeddings.weight";

    /// <summary>Embedding layer-norm scale [hidden].</summary>
    public const string EmbeddingsNormWeight = "embeddings.LayerNorm.weight";

    /// <summary>Embedding layer-norm shift [hidden].</summary>
    public const string EmbeddingsNormBias = "embeddings.LayerNorm.bias";

    /// <summary>Pooler dense weight [hidden, hidden] (optional in a checkpoint).</summary>
    public const string PoolerWeight = "pooler.dense.weight";

    /// <summary>Pooler dense bias [hidden] (optional in a checkpoint).</summary>
    public const string PoolerBias = "pooler.dense.bias";

    /// <summary>The name of a tensor in layer <paramref name="layer"/>: <paramref name="suffix"/> such as <see cref="LayerSuffix.QueryWeight"/>.</summary>
    public static string Layer(int layer, string suffix) => $"encoder.layer.{layer}.{suffix}";

    /// <summary>The per-layer tensor suffixes, in the order a layer uses them.</summary>
    public static class LayerSuffix
    {
        /// <summary>Query projection weight [hidden, hidden].</summary>
        public const string QueryWeight = "attention.self.query.weight";

        /// <summary>Query projection bias [hidden].</summary>
        public const string QueryBias = "attention.self.query.bias";

        /// <summary>Key projection weight [hidden, hidden].</summary>
        public const string KeyWeight = "attention.self.key.weight";

        /// <summary>Key projection bias [hidden].</summary>
        public const string KeyBias = "attention.self.key.bias";

        /// <summary>Value projection weight [hidden, hidden].</summary>
        public const string ValueWeight = "attention.self.value.weight";

        /// <summary>Value projection bias [hidden].</summary>
        public const string ValueBias = "attention.self.value.bias";

        /// <summary>Attention output projection weight [hidden, hidden].</summary>
        public const string AttentionOutputWeight = "attention.output.dense.weight";

        /// <summary>Attention output projection bias [hidden].</summary>
        public const string AttentionOutputBias = "attention.output.dense.bias";

        /// <summary>Post-attention layer-norm scale [hidden].</summary>
        public const string AttentionNormWeight = "attention.output.LayerNorm.weight";

        /// <summary>Post-attention layer-norm shift [hidden].</summary>
        public const string AttentionNormBias = "attention.output.LayerNorm.bias";

        /// <summary>Feed-forward up projection weight [intermediate, hidden].</summary>
        public const string IntermediateWeight = "intermediate.dense.weight";

        /// <summary>Feed-forward up projection bias [intermediate].</summary>
        public const string IntermediateBias = "intermediate.dense.bias";

        /// <summary>Feed-forward down projection weight [hidden, intermediate].</summary>
        public const string OutputWeight = "output.dense.weight";

        /// <summary>Feed-forward down projection bias [hidden].</summary>
        public const string OutputBias = "output.dense.bias";

        /// <summary>Post-feed-forward layer-norm scale [hidden].</summary>
        public const string OutputNormWeight = "output.LayerNorm.weight";

        /// <summary>Post-feed-forward layer-norm shift [hidden].</summary>
        public const string OutputNormBias = "output.LayerNorm.bias";
    }
}
