namespace NativeAlign.Kernels.Embeddings;

/// <summary>The ends of the encoder: token embedding lookup in, sentence pooling out.</summary>
public static partial class EmbeddingKernels
{
    /// <summary>
    /// <c>y[t, h] = table[ids[t], h]</c> for a 2-D range of (hidden, tokens) work-items. An id outside
    /// [0, vocabulary) yields a zero row instead of a read out of bounds; callers validate ids on the host first and
    /// report them, this only keeps a bad id from touching foreign memory.
    /// </summary>
    /// <param name="ids">Token ids, tokens.</param>
    /// <param name="table">Embedding table, vocabulary × hidden.</param>
    /// <param name="y">Output, tokens × hidden.</param>
    /// <param name="tokens">Number of tokens.</param>
    /// <param name="hidden">Embedding width.</param>
    /// <param name="vocabulary">Rows of the table.</param>
    [Kernel(LocalSizeX = 64)]
    public static void EmbeddingGather(ReadOnlyGlobalBuffer<int> ids, ReadOnlyGlobalBuffer<float> table, GlobalBuffer<float> y, int tokens, int hidden, int vocabulary)
    {
        int h = WorkItem.GlobalId(0);
        int t = WorkItem.GlobalId(1);
        if (h < hidden && t < tokens)
        {
            int id = ids[t];
            y[(t * hidden) + h] = id >= 0 && id < vocabulary ? table[(id * hidden) + h] : 0f;
        }
    }

    /// <summary>
    /// Masked mean over tokens: <c>pooled[s, h] = Σ_t mask[s, t] · x[s, t, h] / max(1, Σ_t mask[s, t])</c>, for a 2-D
    /// range of (hidden, sentences) work-items; a sentence with no unmasked token pools to zeros.
    /// </summary>
    /// <param name="x">Hidden states, sentences × sequence × hidden.</param>
    /// <param name="mask">Attention mask (1 = token, 0 = padding), sentences × sequence.</param>
    /// <param name="pooled">Output, sentences × hidden.</param>
    /// <param name="sentences">Number of sentences.</param>
    /// <param name="sequence">Padded sequence length.</param>
    /// <param name="hidden">Hidden size.</param>
    [Kernel(LocalSizeX = 64)]
    public static void MeanPooling(ReadOnlyGlobalBuffer<float> x, ReadOnlyGlobalBuffer<int> mask, GlobalBuffer<float> pooled, int sentences, int sequence, int hidden)
    {
        int h = WorkItem.GlobalId(0);
        int s = WorkItem.GlobalId(1);
        if (h < hidden && s < sentences)
        {
            float sum = 0f;
            int count = 0;
            for (int t = 0; t < sequence; t++)
            {
                if (mask[(s * sequence) + t] != 0)
                {
                    sum += x[(((s * sequence) + t) * hidden) + h];
                    count++;
                }
            }

            pooled[(s * hidden) + h] = sum / (float)Math.Max(count, 1);
        }
    }

    /// <summary>
    /// CLS pooling: <c>pooled[s, h] = x[s, 0, h]</c>, the first token of each sentence, for a 2-D range of
    /// (hidden, sentences) work-items.
    /// </summary>
    /// <param name="x">Hidden states, sentences × sequence × hidden.</param>
    /// <param name="pooled">Output, sentences × hidden.</param>
    /// <param name="sentences">Number of sentences.</param>
    /// <param name="sequence">Padded sequence length.</param>
    /// <param name="hidden">Hidden size.</param>
    [Kernel(LocalSizeX = 64)]
    public static void ClsPooling(ReadOnlyGlobalBuffer<float> x, GlobalBuffer<float> pooled, int sentences, int sequence, int hidden)
    {
        int h = WorkItem.GlobalId(0);
        int s = WorkItem.GlobalId(1);
        if (h < hidden && s < sentences)
        {
            pooled[(s * hidden) + h] = x[(s * sequence * hidden) + h];
        }
    }
}
