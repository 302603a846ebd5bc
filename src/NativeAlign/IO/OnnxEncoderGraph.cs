using System.Runtime.InteropServices;
using NativeAlign.Tensors;

namespace NativeAlign.IO;

/// <summary>
/// Finds a BERT/XLM-R encoder's parameters in an ONNX graph by following the data flow rather than trusting initializer
/// names: the word embeddings are the table the <c>Gather</c> on <c>input_ids</c> reads; the other embedding tables are
/// the Gathers added to it (token types when indexed by <c>token_type_ids</c>, positions otherwise); then, layer after
/// layer, the three projections reading the hidden state are told apart by where they flow (query and key meet in the
/// score product, value is multiplied by the softmax; or their input slot of a fused <c>MultiHeadAttention</c>; or the
/// thirds of a fused <c>Attention</c>'s packed [in, 3 × hidden] weights), the
/// projection reading the attention context is the output dense, the residual <c>Add</c> + layer norm follows, then the
/// feed-forward pair and its residual + layer norm. Linear weights come from <c>MatMul</c> (fp32/fp16 [in, out],
/// transposed to [out, in]), <c>Gemm</c> or <c>MatMulNBits</c> (kept 4-bit as a <see cref="Q4Matrix"/>); biases from the
/// <c>Add</c> after the product. Layer norms are <c>LayerNormalization</c>, <c>SkipLayerNormalization</c> or the
/// decomposed ReduceMean/Sub/…/Mul/Add chain.
/// </summary>
internal sealed class OnnxEncoderGraph
{
    private static readonly HashSet<string> PassThroughOps = ["Reshape", "Transpose", "Cast", "Identity", "Squeeze", "Unsqueeze", "Dropout", "Div", "Mul"];

    private readonly OnnxModel _model;
    private readonly Dictionary<string, OnnxNode> _producer = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(OnnxNode Node, int Index)>> _consumers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OnnxTensor> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WeightTensor> _weights = new(StringComparer.Ordinal);

    private OnnxEncoderGraph(OnnxModel model)
    {
        _model = model;
        foreach (var (name, tensor) in model.Initializers)
        {
            _constants[name] = tensor;
        }

        foreach (var node in model.Nodes)
        {
            // Every operator has a first output; requiring it here keeps the walks below free of index checks.
            if (node.Outputs.Count == 0 || node.Outputs[0].Length == 0)
            {
                throw Error(node.Label, $"{node.OpType} node without an output");
            }

            foreach (var output in node.Outputs.Where(o => o.Length > 0))
            {
                _producer[output] = node;
            }

            for (int i = 0; i < node.Inputs.Count; i++)
            {
                if (node.Inputs[i].Length == 0)
                {
                    continue;
                }

                if (!_consumers.TryGetValue(node.Inputs[i], out var list))
                {
                    _consumers[node.Inputs[i]] = list = [];
                }

                list.Add((node, i));
            }

            if (node.OpType == "Constant" && node.Domain.Length == 0 && node.Outputs.Count == 1 && node.Attributes.TryGetValue("value", out var value) && value.Tensor is not null)
            {
                _constants[node.Outputs[0]] = value.Tensor;
            }
        }
    }

    private string Path => _model.Path;

    /// <summary>Number of encoder layers found.</summary>
    public int LayerCount { get; private set; }

    /// <summary>The MatMulNBits accuracy_level values seen (ONNX Runtime's activation precision hint).</summary>
    public SortedSet<long> AccuracyLevels { get; } = [];

    /// <summary>Maps the graph's parameters onto canonical names.</summary>
    public static Dictionary<string, WeightTensor> Map(OnnxModel model, out int layerCount, out SortedSet<long> accuracyLevels)
    {
        var graph = new OnnxEncoderGraph(model);
        graph.MapAll();
        layerCount = graph.LayerCount;
        accuracyLevels = graph.AccuracyLevels;
        return graph._weights;
    }

    private void MapAll()
    {
        string hidden = MapEmbeddings();
        int layer = 0;
        while (true)
        {
            var projections = LinearConsumers(hidden);
            var fusedAttention = FusedAttention(hidden);
            if (projections.Count == 0 && fusedAttention is null)
            {
                break;
            }

            if (layer >= 10_000)
            {
                throw Error(null, "more than 10000 encoder layers");
            }

            hidden = MapLayer(layer, hidden, projections, fusedAttention);
            layer++;
        }

        if (layer == 0)
        {
            throw Error(null, "no encoder layer found: no linear projection reads the embedding layer norm's output");
        }

        LayerCount = layer;
        MapPooler(hidden);
    }

    private string MapEmbeddings()
    {
        var fused = _model.Nodes.FirstOrDefault(n => n.OpType == "EmbedLayerNormalization");
        if (fused is not null)
        {
            Add(EncoderTensorNames.WordEmbeddings, Dense(fused.Input(2), fused));
            Add(EncoderTensorNames.PositionEmbeddings, Dense(fused.Input(3), fused));
            if (fused.Input(4) is { } segment)
            {
                Add(EncoderTensorNames.TokenTypeEmbeddings, Dense(segment, fused));
            }

            Add(EncoderTensorNames.EmbeddingsNormWeight, Dense(fused.Input(5), fused));
            Add(EncoderTensorNames.EmbeddingsNormBias, Dense(fused.Input(6), fused));
            return fused.Outputs[0];
        }

        if (!_model.GraphInputs.Contains("input_ids"))
        {
            throw Error("input_ids", "the graph has no 'input_ids' input to start from");
        }

        var wordGather = GathersIndexedBy("input_ids").FirstOrDefault()
            ?? throw Error("input_ids", "no Gather reads a constant embedding table with input_ids");
        Add(EncoderTensorNames.WordEmbeddings, Dense(wordGather.Inputs[0], wordGather));

        // Walk the sum word + position + token type, in whatever order the exporter added them.
        string sum = wordGather.Outputs[0];
        var terms = new List<OnnxNode>();
        for (int guard = 0; guard < 8; guard++)
        {
            var next = SingleConsumer(sum);
            if (next is null || next.OpType != "Add")
            {
                break;
            }

            string other = next.Inputs[0] == sum ? next.Input(1) ?? "" : next.Inputs[0];
            var term = FollowBack(other);
            if (term is null || term.OpType != "Gather" || !_constants.ContainsKey(term.Input(0) ?? ""))
            {
                throw Error(next.Label, $"embedding sum adds '{other}', which is not a Gather from a constant table");
            }

            terms.Add(term);
            sum = next.Outputs[0];
        }

        // A table indexed by the token_type_ids input is the token type table. Of the others (XLM-R exports index
        // token types by a constant zeros buffer, positions by ids computed from input_ids or a constant range), the
        // position table is the one with the most rows: positions number in the hundreds, token types one or two.
        var tokenType = terms.Where(t => TracesToInput(t.Input(1), "token_type_ids")).ToList();
        var rest = terms.Except(tokenType).OrderByDescending(t => _constants[t.Input(0)!].Dims.FirstOrDefault()).ToList();
        if (rest.Count == 0)
        {
            throw Error(EncoderTensorNames.PositionEmbeddings, "no position embedding table is added to the word embeddings");
        }

        tokenType.AddRange(rest.Skip(1));
        if (tokenType.Count > 1)
        {
            throw Error(tokenType[1].Label, $"{terms.Count + 1} embedding tables are summed; expected word, position and at most one token type table");
        }

        Add(EncoderTensorNames.PositionEmbeddings, Dense(rest[0].Input(0), rest[0]));
        if (tokenType.Count == 1)
        {
            Add(EncoderTensorNames.TokenTypeEmbeddings, Dense(tokenType[0].Input(0), tokenType[0]));
        }

        var (scale, bias, output) = MatchNorm(sum, null) ?? throw Error(sum, "the embedding sum is not followed by a layer normalization");
        Add(EncoderTensorNames.EmbeddingsNormWeight, scale);
        Add(EncoderTensorNames.EmbeddingsNormBias, bias);
        return output;
    }

    private string MapLayer(int layer, string hidden, List<OnnxNode> projections, OnnxNode? fusedAttention)
    {
        string? context = null;
        if (fusedAttention is not null)
        {
            if (projections.Count != 0)
            {
                throw Error(fusedAttention.Label, $"layer {layer}: both a fused Attention and separate projections read the hidden state");
            }

            context = MapFusedAttention(layer, fusedAttention);
        }
        else if (projections.Count != 3)
        {
            throw Error(projections[0].Label, $"layer {layer}: {projections.Count} projections read the hidden state, expected query, key and value");
        }

        var roles = new string?[3];
        for (int p = 0; p < projections.Count; p++)
        {
            var linear = MatchLinear(projections[p]);
            var (role, contextOut) = ClassifyProjection(linear.Output, projections[p]);
            if (roles.Contains(role))
            {
                throw Error(projections[p].Label, $"layer {layer}: two projections both flow into the attention as {role}");
            }

            roles[p] = role;
            Add(EncoderTensorNames.Layer(layer, $"attention.self.{role}.weight"), linear.Weight);
            Add(EncoderTensorNames.Layer(layer, $"attention.self.{role}.bias"), linear.Bias ?? throw Error(projections[p].Label, $"layer {layer}: the {role} projection has no bias Add"));
            if (contextOut is not null)
            {
                context = contextOut;
            }
        }

        if (context is null)
        {
            throw Error(projections[0].Label, $"layer {layer}: cannot find the attention output");
        }

        var outputDense = FindLinearForward(context, 8) ?? throw Error(context, $"layer {layer}: no projection reads the attention context");
        var dense = MatchLinear(outputDense);
        var (aScale, aBias, attentionOut) = MatchResidualNorm(dense, hidden, layer, "attention.output");
        Add(EncoderTensorNames.Layer(layer, EncoderTensorNames.LayerSuffix.AttentionOutputWeight), dense.Weight);
        Add(EncoderTensorNames.Layer(layer, EncoderTensorNames.LayerSuffix.AttentionOutputBias), dense.Bias ?? throw Error(outputDense.Label, $"layer {layer}: attention output dense has no bias"));
        Add(EncoderTensorNames.Layer(layer, EncoderTensorNames.LayerSuffix.AttentionNormWeight), aScale);
        Add(EncoderTensorNames.Layer(layer, EncoderTensorNames.LayerSuffix.AttentionNormBias), aBias);

        var up = LinearConsumers(attentionOut);
        if (up.Count != 1)
        {
            throw Error(attentionOut, $"layer {layer}: {up.Count} projections read the attention layer norm, expected the intermediate dense alone");
        }

        var intermediate = MatchLinear(up[0]);
        var downNode = FindLinearForward(intermediate.Output, 16) ?? throw Error(up[0].Label, $"layer {layer}: no projection follows the intermediate activation");
        var down = MatchLinear(downNode);
        var (oScale, oBias, layerOut) = MatchResidualNorm(down, attentionOut, layer, "output");
        Add(EncoderTensorNames.Layer(layer, EncoderTensorNames.LayerSuffix.IntermediateWeight), intermediate.Weight);
        Add(EncoderTensorNames.Layer(layer, EncoderTensorNames.LayerSuffix.IntermediateBias), intermediate.Bias ?? throw Error(up[0].Label, $"layer {layer}: intermediate dense has no bias"));
        Add(EncoderTensorNames.Layer(layer, EncoderTensorNames.LayerSuffix.OutputWeight), down.Weight);
        Add(EncoderTensorNames.Layer(layer, EncoderTensorNames.LayerSuffix.OutputBias), down.Bias ?? throw Error(downNode.Label, $"layer {layer}: output dense has no bias"));
        Add(EncoderTensorNames.Layer(layer, EncoderTensorNames.LayerSuffix.OutputNormWeight), oScale);
        Add(EncoderTensorNames.Layer(layer, EncoderTensorNames.LayerSuffix.OutputNormBias), oBias);
        return layerOut;
    }

    /// <summary>ONNX Runtime's fused com.microsoft Attention reading <paramref name="hidden"/>, if any.</summary>
    private OnnxNode? FusedAttention(string hidden)
        => Consumers(hidden).Where(c => c.Index == 0 && c.Node.OpType == "Attention" && c.Node.Domain == "com.microsoft").Select(c => c.Node).FirstOrDefault();

    /// <summary>
    /// Splits a fused Attention's packed weights [in, q + k + v] and bias [q + k + v] into the three projections
    /// (each transposed to [out, in]); returns the attention context.
    /// </summary>
    private string MapFusedAttention(int layer, OnnxNode node)
    {
        var w = Constant(node.Input(1) ?? "", node);
        var b = Constant(node.Input(2) ?? "", node);
        if (w.Dims.Length != 2 || w.Dims[0] <= 0 || w.Dims[1] <= 0 || w.Dims[1] % 3 != 0)
        {
            throw Error(w.Name, $"fused attention weights have shape {w.ShapeText}, expected [hidden, 3 × hidden]");
        }

        long width = w.Dims[1] / 3;
        if (node.Attributes.TryGetValue("qkv_hidden_sizes", out var sizes) && sizes.Ints.Count > 0 && (sizes.Ints.Count != 3 || sizes.Ints.Any(x => x != width)))
        {
            throw Error(node.Label, "fused attention with unequal query, key and value widths (qkv_hidden_sizes) is not supported");
        }

        if (b.Dims.Length != 1 || b.Dims[0] != w.Dims[1])
        {
            throw Error(b.Name, $"fused attention bias has shape {b.ShapeText}, expected [{w.Dims[1]}]");
        }

        var weight = Transposed(w, node, transpose: true);
        var bias = Dense(b.Name, node);
        int size = weight.Type == WeightType.F32 ? 4 : 2;
        int rowBytes = (int)w.Dims[0] * size;
        string[] roles = ["query", "key", "value"];
        for (int j = 0; j < 3; j++)
        {
            // After the transpose the packed matrix is [3 × width, in]: role j owns rows [j × width, (j + 1) × width).
            var rows = weight.Data.Slice((int)(j * width * rowBytes), (int)(width * rowBytes));
            Add(EncoderTensorNames.Layer(layer, $"attention.self.{roles[j]}.weight"), new WeightTensor(w.Name, [(int)width, (int)w.Dims[0]], weight.Type, rows));
            int biasSize = bias.Type == WeightType.F32 ? 4 : 2;
            var part = bias.Data.Slice((int)(j * width * biasSize), (int)(width * biasSize));
            Add(EncoderTensorNames.Layer(layer, $"attention.self.{roles[j]}.bias"), new WeightTensor(b.Name, [(int)width], bias.Type, part));
        }

        return node.Outputs[0];
    }

    private void MapPooler(string hidden)
    {
        // The pooler reads token 0: Gather(hidden, 0, axis 1) -> linear -> Tanh.
        foreach (var (node, index) in Consumers(hidden))
        {
            if (node.OpType != "Gather" || index != 0)
            {
                continue;
            }

            var pooled = LinearConsumers(node.Outputs[0]);
            if (pooled.Count == 1)
            {
                var linear = MatchLinear(pooled[0]);
                bool tanh = SingleConsumer(linear.Output)?.OpType == "Tanh"
                    || (pooled[0].OpType == "FusedGemm" && pooled[0].Attributes.TryGetValue("activation", out var activation) && activation.String == "Tanh");
                if (tanh && linear.Bias is not null)
                {
                    Add(EncoderTensorNames.PoolerWeight, linear.Weight);
                    Add(EncoderTensorNames.PoolerBias, linear.Bias);
                }
            }
        }
    }

    private (string Role, string? Context) ClassifyProjection(string output, OnnxNode projection)
    {
        string current = output;
        for (int guard = 0; guard < 16; guard++)
        {
            var consumers = Consumers(current);
            var next = consumers.Where(c => c.Node.OpType is not ("Shape")).ToList();
            if (next.Count != 1)
            {
                break;
            }

            var (node, index) = next[0];
            if (node.OpType is "MultiHeadAttention" or "GroupQueryAttention" && index <= 2)
            {
                return (index switch { 0 => "query", 1 => "key", _ => "value" }, index == 2 ? node.Outputs[0] : null);
            }

            // ONNX Runtime's optimiser turns the score product (with its scale) into com.microsoft FusedMatMul.
            if (node.OpType is "MatMul" or "FusedMatMul" && index <= 1 && node.Input(1 - index) is { } partner && !_constants.ContainsKey(partner))
            {
                if (index == 0)
                {
                    return ("query", null);
                }

                return ComesFromSoftmax(node.Input(0) ?? "") ? ("value", node.Outputs[0]) : ("key", null);
            }

            if (!PassThroughOps.Contains(node.OpType) || node.Outputs.Count == 0)
            {
                break;
            }

            current = node.Outputs[0];
        }

        throw Error(projection.Label, "cannot tell whether this projection is the query, key or value: its output does not reach an attention product");
    }

    private bool ComesFromSoftmax(string tensor)
    {
        string current = tensor;
        for (int guard = 0; guard < 8; guard++)
        {
            if (!_producer.TryGetValue(current, out var node))
            {
                return false;
            }

            if (node.OpType == "Softmax")
            {
                return true;
            }

            if (!PassThroughOps.Contains(node.OpType) || node.Inputs.Count == 0)
            {
                return false;
            }

            current = node.Inputs[0];
        }

        return false;
    }

    private (WeightTensor Scale, WeightTensor Bias, string Output) MatchResidualNorm(Linear linear, string residual, int layer, string where)
    {
        foreach (var (node, _) in Consumers(linear.Output))
        {
            if (node.OpType == "Add" && node.Inputs.Contains(residual))
            {
                return MatchNorm(node.Outputs[0], null) ?? throw Error(node.Label, $"layer {layer}: the {where} residual sum is not followed by a layer normalization");
            }

            if (node.OpType == "SkipLayerNormalization" && node.Inputs.Take(2).Contains(residual))
            {
                return MatchNorm(linear.Output, node) ?? throw Error(node.Label, $"layer {layer}: malformed SkipLayerNormalization");
            }
        }

        throw Error(linear.Node.Label, $"layer {layer}: the {where} dense output is not added to the residual '{residual}'");
    }

    private (WeightTensor Scale, WeightTensor Bias, string Output)? MatchNorm(string x, OnnxNode? skipNorm)
    {
        if (skipNorm is not null)
        {
            if (skipNorm.Input(2) is not { } g || skipNorm.Input(3) is not { } b)
            {
                return null;
            }

            return (Dense(g, skipNorm), Dense(b, skipNorm), skipNorm.Outputs[0]);
        }

        foreach (var (node, index) in Consumers(x))
        {
            if (node.OpType == "LayerNormalization" && index == 0 && node.Input(1) is { } scale && node.Input(2) is { } bias)
            {
                return (Dense(scale, node), Dense(bias, node), node.Outputs[0]);
            }
        }

        // Decomposed: Sub(x, ReduceMean(x)) -> … -> Div(sub, sqrt(var + eps)) -> Mul(gamma) -> Add(beta).
        foreach (var (sub, index) in Consumers(x))
        {
            if (sub.OpType != "Sub" || index != 0 || !_producer.TryGetValue(sub.Input(1) ?? "", out var mean) || mean.OpType != "ReduceMean")
            {
                continue;
            }

            var div = Consumers(sub.Outputs[0]).FirstOrDefault(c => c.Node.OpType == "Div" && c.Index == 0).Node;
            var mul = div is null ? null : SingleConsumer(div.Outputs[0]);
            var add = mul is null ? null : SingleConsumer(mul.Outputs[0]);
            if (mul?.OpType == "Mul" && add?.OpType == "Add")
            {
                string? gamma = mul.Inputs.FirstOrDefault(i => i != div!.Outputs[0]);
                string? beta = add.Inputs.FirstOrDefault(i => i != mul.Outputs[0]);
                if (gamma is null || beta is null)
                {
                    return null;
                }

                return (Dense(gamma, mul), Dense(beta, add), add.Outputs[0]);
            }
        }

        return null;
    }

    private sealed record Linear(OnnxNode Node, WeightTensor Weight, WeightTensor? Bias, string Output);

    private Linear MatchLinear(OnnxNode node)
    {
        string canonicalPlaceholder = node.Label;
        WeightTensor weight;
        WeightTensor? bias = null;
        int outFeatures;
        switch (node.OpType)
        {
            case "MatMulNBits":
                (weight, bias) = ReadMatMulNBits(node);
                outFeatures = weight.Shape[0];
                break;
            case "MatMul":
                weight = Transposed(Constant(node.Inputs[1], node), node, transpose: true);
                outFeatures = weight.Shape[0];
                break;
            case "Gemm" or "FusedGemm":
                bool transB = node.IntAttribute("transB") == 1;
                if ((node.IntAttribute("transA") ?? 0) != 0 || node.Attributes.TryGetValue("alpha", out var alpha) && alpha.Float != 1f || node.Attributes.TryGetValue("beta", out var beta) && beta.Float != 1f)
                {
                    throw Error(node.Label, "Gemm with transA, alpha or beta is not a plain linear layer");
                }

                weight = Transposed(Constant(node.Inputs[1], node), node, transpose: !transB);
                outFeatures = weight.Shape[0];
                if (node.Input(2) is { } c)
                {
                    bias = Dense(c, node);
                }

                break;
            default:
                throw Error(canonicalPlaceholder, $"{node.OpType} is not a linear layer");
        }

        string output = node.Outputs[0];
        if (bias is null && SingleConsumer(output) is { } add && add.OpType == "Add")
        {
            string other = add.Inputs[0] == output ? add.Input(1) ?? "" : add.Inputs[0];
            if (_constants.TryGetValue(other, out var b) && b.Dims.Length == 1 && b.Dims[0] == outFeatures)
            {
                bias = Dense(other, add);
                output = add.Outputs[0];
            }
        }
        else if (bias is null && SingleConsumer(output) is { } fused && fused.OpType is "BiasGelu" or "FastGelu" && fused.Input(1) is { } fusedBias && _constants.ContainsKey(fusedBias))
        {
            bias = Dense(fusedBias, fused);
        }

        if (bias is not null && (bias.Shape.Length != 1 || bias.Shape[0] != outFeatures))
        {
            throw Error(node.Label, $"bias has shape [{string.Join(", ", bias.Shape)}], expected [{outFeatures}]");
        }

        return new Linear(node, weight, bias, output);
    }

    private (WeightTensor Weight, WeightTensor? Bias) ReadMatMulNBits(OnnxNode node)
    {
        long k = node.IntAttribute("K") ?? throw Error(node.Label, "MatMulNBits without attribute K");
        long n = node.IntAttribute("N") ?? throw Error(node.Label, "MatMulNBits without attribute N");
        long bits = node.IntAttribute("bits") ?? 4;
        long blockSize = node.IntAttribute("block_size") ?? throw Error(node.Label, "MatMulNBits without attribute block_size");
        AccuracyLevels.Add(node.IntAttribute("accuracy_level") ?? 0);
        if ((node.IntAttribute("weight_prepacked") ?? 0) != 0)
        {
            throw Error(node.Label, "MatMulNBits weights pre-packed by ONNX Runtime for one machine are not in the portable block layout");
        }

        if (bits != 4)
        {
            throw Error(node.Label, $"MatMulNBits with bits={bits}; only 4-bit weights are supported");
        }

        if (k <= 0 || n <= 0 || k > int.MaxValue || n > int.MaxValue || blockSize < 16 || blockSize > (1 << 20) || (blockSize & (blockSize - 1)) != 0)
        {
            throw Error(node.Label, $"MatMulNBits attributes K={k}, N={n}, block_size={blockSize} are not positive sizes with a power-of-two block >= 16");
        }

        long blocks = (k + blockSize - 1) / blockSize;
        var packed = Constant(node.Input(1) ?? "", node);
        if (packed.Type != OnnxDataType.UInt8 || !packed.Dims.SequenceEqual([n, blocks, blockSize / 2]))
        {
            throw Error(packed.Name, $"packed weights are {packed.Type} {packed.ShapeText}, expected UInt8 [{n}, {blocks}, {blockSize / 2}] for K={k}, N={n}, block_size={blockSize}");
        }

        var scalesTensor = Constant(node.Input(2) ?? "", node);
        if (scalesTensor.ElementCount != n * blocks)
        {
            throw Error(scalesTensor.Name, $"has {scalesTensor.ElementCount} scales {scalesTensor.ShapeText}, expected {n * blocks}");
        }

        float[] scales = scalesTensor.ToFloat32(Path);
        byte[]? zeroPoints = null;
        if (node.Input(3) is { } zp)
        {
            var zeros = Constant(zp, node);
            if (zeros.Type != OnnxDataType.UInt8)
            {
                throw Error(zeros.Name, $"zero points of type {zeros.Type}; only packed 4-bit (UInt8) zero points are supported");
            }

            if (zeros.ElementCount != n * ((blocks + 1) / 2))
            {
                throw Error(zeros.Name, $"has {zeros.ElementCount} zero-point bytes, expected {n * ((blocks + 1) / 2)}");
            }

            zeroPoints = zeros.Data.ToArray();
        }

        if (node.Input(4) is { } gIdx)
        {
            // g_idx reorders columns into groups; only the trivial ordering (column c in block c / block_size) is the block layout.
            var groups = Constant(gIdx, node).ToInt64(Path);
            for (long c = 0; c < groups.Length; c++)
            {
                if (groups[c] != c / blockSize)
                {
                    throw Error(gIdx, "non-trivial g_idx (act-order) is not supported");
                }
            }
        }

        WeightTensor? bias = node.Input(5) is { } b ? Dense(b, node) : null;
        var q4 = new Q4Matrix((int)n, (int)k, (int)blockSize, packed.Data, scales, zeroPoints, packed.Name);
        return (new WeightTensor(packed.Name, q4), bias);
    }

    private WeightTensor Transposed(OnnxTensor w, OnnxNode node, bool transpose)
    {
        if (w.Dims.Length != 2 || w.Dims[0] <= 0 || w.Dims[1] <= 0)
        {
            throw Error(w.Name, $"linear weight has shape {w.ShapeText}, expected two positive dimensions");
        }

        var (type, size) = w.Type switch
        {
            OnnxDataType.Float => (WeightType.F32, 4),
            OnnxDataType.Float16 => (WeightType.F16, 2),
            OnnxDataType.BFloat16 => (WeightType.BF16, 2),
            _ => throw Error(w.Name, $"linear weight of type {w.Type} (in {node.Label}); expected float, float16 or bfloat16"),
        };
        int rows = (int)w.Dims[0], cols = (int)w.Dims[1];
        if (!transpose)
        {
            return new WeightTensor(w.Name, [rows, cols], type, w.Data);
        }

        // ONNX MatMul weights are [in, out]; the contract is [out, in], so this one copy is unavoidable.
        var source = w.Data.Span;
        var result = new byte[source.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                source.Slice(((r * cols) + c) * size, size).CopyTo(result.AsSpan(((c * rows) + r) * size, size));
            }
        }

        return new WeightTensor(w.Name, [cols, rows], type, result);
    }

    private WeightTensor Dense(string? name, OnnxNode node)
    {
        var t = Constant(name ?? "", node);
        var type = t.Type switch
        {
            OnnxDataType.Float => WeightType.F32,
            OnnxDataType.Float16 => WeightType.F16,
            OnnxDataType.BFloat16 => WeightType.BF16,
            _ => throw Error(t.Name, $"weight of type {t.Type} (in {node.Label}); expected float, float16 or bfloat16"),
        };
        var shape = new int[t.Dims.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            if (t.Dims[i] > int.MaxValue)
            {
                throw Error(t.Name, $"dimension {t.Dims[i]} too large");
            }

            shape[i] = (int)t.Dims[i];
        }

        return new WeightTensor(t.Name, shape, type, t.Data);
    }

    private OnnxTensor Constant(string name, OnnxNode node)
        => name.Length > 0 && _constants.TryGetValue(name, out var t) ? t : throw Error(node.Label, $"input '{name}' is not a constant initializer");

    private void Add(string canonical, WeightTensor tensor)
    {
        // Rename onto the canonical name; the source name stays available in error messages of Q4Matrix.
        var named = tensor.Q4 is not null ? new WeightTensor(canonical, tensor.Q4) : new WeightTensor(canonical, tensor.Shape, tensor.Type, tensor.Data);
        if (!_weights.TryAdd(canonical, named))
        {
            throw Error(canonical, "found twice while following the graph");
        }
    }

    private List<OnnxNode> LinearConsumers(string tensor)
        => Consumers(tensor).Where(c => c.Index == 0 && IsLinear(c.Node)).Select(c => c.Node).Distinct().ToList();

    private bool IsLinear(OnnxNode node) => node.OpType switch
    {
        "MatMulNBits" => node.Domain == "com.microsoft",
        "FusedGemm" => node.Domain == "com.microsoft" && node.Inputs.Count >= 2 && _constants.TryGetValue(node.Inputs[1], out var fw) && fw.Dims.Length == 2,
        "MatMul" or "Gemm" => node.Domain.Length == 0 && node.Inputs.Count >= 2 && _constants.TryGetValue(node.Inputs[1], out var w) && w.Dims.Length == 2,
        _ => false,
    };

    private OnnxNode? FindLinearForward(string start, int maxNodes)
    {
        var queue = new Queue<string>([start]);
        var seen = new HashSet<OnnxNode>();
        while (queue.Count > 0 && seen.Count < maxNodes)
        {
            foreach (var (node, index) in Consumers(queue.Dequeue()))
            {
                if (index == 0 && IsLinear(node))
                {
                    return node;
                }

                if (seen.Add(node))
                {
                    foreach (var o in node.Outputs.Where(o => o.Length > 0))
                    {
                        queue.Enqueue(o);
                    }
                }
            }
        }

        return null;
    }

    private IEnumerable<OnnxNode> GathersIndexedBy(string input, int depth = 0)
    {
        // A malformed graph may loop; a chain of casts is never this long in a real export.
        if (depth > 8)
        {
            yield break;
        }

        foreach (var (node, index) in Consumers(input))
        {
            if (node.OpType == "Gather" && index == 1 && _constants.ContainsKey(node.Inputs[0]))
            {
                yield return node;
            }
            else if (node.OpType is "Cast" or "Identity" && index == 0)
            {
                foreach (var g in GathersIndexedBy(node.Outputs[0], depth + 1))
                {
                    yield return g;
                }
            }
        }
    }

    private OnnxNode? FollowBack(string tensor)
    {
        string current = tensor;
        for (int guard = 0; guard < 4; guard++)
        {
            if (!_producer.TryGetValue(current, out var node))
            {
                return null;
            }

            if (node.OpType is not ("Cast" or "Identity"))
            {
                return node;
            }

            if (node.Input(0) is not { } input)
            {
                return null;
            }

            current = input;
        }

        return null;
    }

    private bool TracesToInput(string? tensor, string input)
    {
        string? current = tensor;
        for (int guard = 0; guard < 4 && current is not null; guard++)
        {
            if (current == input)
            {
                return true;
            }

            current = _producer.TryGetValue(current, out var node) && node.OpType is "Cast" or "Identity" ? node.Input(0) : null;
        }

        return false;
    }

    private List<(OnnxNode Node, int Index)> Consumers(string tensor)
        => _consumers.TryGetValue(tensor, out var list) ? list : [];

    private OnnxNode? SingleConsumer(string tensor)
    {
        var list = Consumers(tensor);
        return list.Count == 1 ? list[0].Node : null;
    }

    private ModelFormatException Error(string? item, string message) => new(Path, item, message);
}
