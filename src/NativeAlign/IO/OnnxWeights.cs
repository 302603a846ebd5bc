using NativeAlign.Tensors;

namespace NativeAlign.IO;

/// <summary>
/// The weights of a BERT/XLM-R encoder exported to ONNX, found by following the graph and exposed under canonical names
/// (see <see cref="IModelWeights"/>). 4-bit <c>MatMulNBits</c> weights stay packed (<see cref="WeightType.Q4"/>), over the
/// external data read whole at load; fp32/fp16 <c>MatMul</c> weights, stored [in, out] in ONNX, are transposed once to [out, in].
/// The mapping is done whole in <see cref="Open(string)"/>; afterwards the object is read-only and safe for concurrent readers.
/// A 4-bit tensor's <see cref="Tensors.Q4Matrix.Name"/> keeps the ONNX initializer name, for error messages.
/// </summary>
public sealed class OnnxWeights : IModelWeights
{
    private readonly OnnxModel _model;
    private readonly Dictionary<string, WeightTensor> _weights;

    private OnnxWeights(OnnxModel model, Dictionary<string, WeightTensor> weights, int layerCount, IReadOnlyCollection<long> accuracyLevels)
    {
        _model = model;
        _weights = weights;
        LayerCount = layerCount;
        AccuracyLevels = accuracyLevels;
        Names = weights.Keys.Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The <c>.onnx</c> file.</summary>
    public string Path => _model.Path;

    /// <summary>How many encoder layers the graph has.</summary>
    public int LayerCount { get; }

    /// <summary>The distinct <c>accuracy_level</c> attributes of the graph's MatMulNBits nodes (empty when it has none).</summary>
    public IReadOnlyCollection<long> AccuracyLevels { get; }

    /// <inheritdoc/>
    public IReadOnlyCollection<string> Names { get; }

    /// <summary>Reads <paramref name="path"/> and its external data; a graph that is not a recognisable encoder is a <see cref="ModelFormatException"/>.</summary>
    /// <remarks>External data must resolve inside the model file's folder (or its Hugging Face cache repository), symbolic links included.</remarks>
    public static OnnxWeights Open(string path) => Open(path, null);

    /// <summary>Reads <paramref name="path"/>; its external data must resolve inside <paramref name="root"/> (the file's folder when null).</summary>
    internal static OnnxWeights Open(string path, ModelRoot? root)
    {
        var model = OnnxModel.Open(path, root);
        try
        {
            var weights = OnnxEncoderGraph.Map(model, out int layers, out var levels);
            return new OnnxWeights(model, weights, layers, levels);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public bool TryGet(string name, out WeightTensor tensor) => _weights.TryGetValue(name, out tensor!);

    /// <summary>Frees the bytes of the model and its external data.</summary>
    public void Dispose() => _model.Dispose();
}
