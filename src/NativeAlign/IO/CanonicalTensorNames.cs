namespace NativeAlign.IO;

/// <summary>
/// Maps tensor names as checkpoints write them onto the canonical Hugging Face BERT names used by
/// <see cref="Tensors.IModelWeights"/>: a leading model prefix (<c>bert.</c>, <c>roberta.</c>, <c>xlm_roberta.</c>,
/// <c>model.</c>) is dropped, and the TensorFlow-era layer-norm names <c>gamma</c>/<c>beta</c> become <c>weight</c>/<c>bias</c>.
/// </summary>
internal static class CanonicalTensorNames
{
    private static readonly string[] Prefixes = ["bert.", "roberta.", "xlm_roberta.", "model."];

    /// <summary>The canonical name of <paramref name="fileName"/>.</summary>
    public static string Canonicalize(string fileName)
    {
        string name = fileName;
        foreach (var prefix in Prefixes)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                name = name[prefix.Length..];
                break;
            }
        }

        if (name.Contains("LayerNorm.", StringComparison.Ordinal))
        {
            if (name.EndsWith(".gamma", StringComparison.Ordinal))
            {
                name = name[..^".gamma".Length] + ".weight";
            }
            else if (name.EndsWith(".beta", StringComparison.Ordinal))
            {
                name = name[..^".beta".Length] + ".bias";
            }
        }

        return name;
    }
}
