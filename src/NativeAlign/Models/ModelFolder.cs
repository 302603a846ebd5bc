using System.Text.Json;
using NativeAlign.IO;
using NativeAlign.Tensors;

namespace NativeAlign.Models;

/// <summary>Which file format a model folder's weights were read from.</summary>
public enum ModelWeightsFormat
{
    /// <summary><c>model.safetensors</c> or a sharded <c>model.safetensors.index.json</c>.</summary>
    Safetensors,

    /// <summary>An ONNX export (<c>*.onnx</c>, external data beside it).</summary>
    Onnx,
}

/// <summary>Choices for <see cref="ModelFolder.Open"/>.</summary>
public sealed record ModelFolderOptions
{
    /// <summary>An ONNX file to load (absolute, or relative to the folder) instead of choosing automatically.</summary>
    public string? OnnxFile { get; init; }

    /// <summary>Load ONNX even when safetensors are present.</summary>
    public bool PreferOnnx { get; init; }
}

/// <summary>
/// A model folder opened for the encoder: <c>config.json</c>, the weights (safetensors preferred; ONNX otherwise or on
/// request), the tokenizer file and the sentence pipeline of <c>modules.json</c>. The weights are checked against the
/// configuration (every tensor present, every shape right) before <see cref="Open"/> returns. Read-only after opening and
/// safe for concurrent readers. Dispose to free the files' bytes; tensors obtained from it are invalid afterwards.
/// </summary>
/// <remarks>
/// ONNX, when no file is named: the only <c>*.onnx</c> file in the folder and its <c>onnx/</c> subfolder together;
/// several are an error listing them. Name one with <see cref="ModelFolderOptions.OnnxFile"/>, or pass the <c>.onnx</c>
/// file itself to <see cref="Open"/> (its folder, or the folder above an <c>onnx/</c> subfolder, is the model folder).
/// </remarks>
public sealed class ModelFolder : IDisposable
{
    private readonly List<IDisposable> _owned;

    private ModelFolder(string directory, ModelRoot allowed, EncoderConfig config, IModelWeights weights, string weightsPath, ModelWeightsFormat format, string? tokenizerPath, TokenizerFileKind? tokenizerKind, SentencePipeline pipeline, List<IDisposable> owned)
    {
        AllowedRoot = allowed;
        Directory = directory;
        Config = config;
        Weights = weights;
        WeightsPath = weightsPath;
        WeightsFormat = format;
        TokenizerPath = tokenizerPath;
        TokenizerKind = tokenizerKind;
        Pipeline = pipeline;
        _owned = owned;
    }

    /// <summary>The folder (of the transformer module, when <c>modules.json</c> puts it in a subfolder).</summary>
    public string Directory { get; }

    /// <summary>The folder every file of the model must resolve inside.</summary>
    internal ModelRoot AllowedRoot { get; }

    /// <summary>The encoder configuration.</summary>
    public EncoderConfig Config { get; }

    /// <summary>The encoder weights under canonical names, validated against <see cref="Config"/>.</summary>
    public IModelWeights Weights { get; }

    /// <summary>The weights file read (a <c>.safetensors</c>, an index, or an <c>.onnx</c>).</summary>
    public string WeightsPath { get; }

    /// <summary>The format of <see cref="WeightsPath"/>.</summary>
    public ModelWeightsFormat WeightsFormat { get; }

    /// <summary>The tokenizer file, found by the rule of <see cref="Tokenizers.TokenizerLoader.FromModelFolder"/>, or null when none is present.</summary>
    public string? TokenizerPath { get; }

    /// <summary>What kind of file <see cref="TokenizerPath"/> is.</summary>
    public TokenizerFileKind? TokenizerKind { get; }

    /// <summary>The sentence-embedding pipeline.</summary>
    public SentencePipeline Pipeline { get; }

    /// <summary>Opens <paramref name="directory"/>; every defect is a <see cref="ModelFormatException"/> naming the file and field or tensor.</summary>
    /// <remarks>
    /// Every file the folder holds or names must resolve, through all symbolic links, inside the folder (or, for a folder
    /// in a Hugging Face hub cache, inside its <c>models--org--name</c> repository folder), and must be a regular file.
    /// </remarks>
    public static ModelFolder Open(string directory, ModelFolderOptions? options = null)
    {
        options ??= new ModelFolderOptions();
        // A hub id (org/name) that is not a folder here is looked up in the local Hugging Face cache.
        directory = HubCache.Resolve(directory);
        if (options.OnnxFile is null && directory.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && File.Exists(directory))
        {
            // An ONNX file named as the model: its folder is the model folder (the one above, for Optimum's onnx/ subfolder).
            string file = Path.GetFullPath(directory);
            string folder = Path.GetDirectoryName(file)!;
            if (!File.Exists(Path.Combine(folder, "config.json")) && Path.GetFileName(folder) == "onnx")
            {
                folder = Path.GetDirectoryName(folder)!;
            }

            return Open(folder, options with { OnnxFile = file });
        }

        if (!System.IO.Directory.Exists(directory))
        {
            throw new ModelFormatException(directory, null, File.Exists(directory) ? "is a file; expected a model folder" : "model folder does not exist");
        }

        string root = Path.GetFullPath(directory);
        var allowed = ModelRoot.ForFolder(root);
        var owned = new List<IDisposable>();
        try
        {
            var (pipeline, transformerDir) = SentencePipelineReader.Read(root, allowed, owned);
            string configPath = Path.Combine(transformerDir, "config.json");
            if (!File.Exists(configPath))
            {
                throw new ModelFormatException(configPath, null, "config.json is missing from the model folder");
            }

            allowed.Require(configPath);
            var config = EncoderConfigReader.Read(configPath);
            CheckPipelineWidths(pipeline, config, root);
            var (weights, weightsPath, format) = OpenWeights(transformerDir, options, allowed);
            owned.Add(weights);
            EncoderWeightLayout.Validate(config, weights, weightsPath);

            var tokenizer = ModelFolderLayout.FindTokenizer(transformerDir, root, allowed);
            return new ModelFolder(transformerDir, allowed, config, weights, weightsPath, format, tokenizer?.Path, tokenizer?.Kind, pipeline, owned);
        }
        catch
        {
            foreach (var d in owned)
            {
                d.Dispose();
            }

            throw;
        }
    }

    /// <summary>Frees the weights' file bytes.</summary>
    public void Dispose()
    {
        foreach (var d in _owned)
        {
            d.Dispose();
        }
    }

    private static void CheckPipelineWidths(SentencePipeline pipeline, EncoderConfig config, string root)
    {
        int width = config.HiddenSize;
        int index = 0;
        foreach (var step in pipeline.Steps)
        {
            switch (step)
            {
                case PoolingStep pooling:
                    width = config.HiddenSize * pooling.Modes.Count;
                    break;
                case DenseStep dense when dense.InFeatures != width:
                    throw new ModelFormatException(Path.Combine(root, "modules.json"), $"module {index}", $"Dense in_features {dense.InFeatures} does not match the {width} values reaching it");
                case DenseStep dense:
                    width = dense.OutFeatures;
                    break;
            }

            index++;
        }
    }

    private static (IModelWeights Weights, string Path, ModelWeightsFormat Format) OpenWeights(string dir, ModelFolderOptions options, ModelRoot allowed)
    {
        if (options.OnnxFile is { } named)
        {
            string onnx = Path.IsPathRooted(named) ? named : Path.Combine(dir, named);
            if (!File.Exists(onnx))
            {
                throw new ModelFormatException(onnx, null, "the ONNX file asked for does not exist");
            }

            // The caller named this file, so it may lie elsewhere; what it names in turn stays inside its own folder.
            return (OnnxWeights.Open(onnx, allowed.Holds(onnx) ? allowed : ModelRoot.ForFile(onnx)), onnx, ModelWeightsFormat.Onnx);
        }

        string index = Path.Combine(dir, "model.safetensors.index.json");
        string single = Path.Combine(dir, "model.safetensors");
        string? safetensors = File.Exists(index) ? index : File.Exists(single) ? single : null;
        string? onnxFile = FindOnnx(dir);
        if (safetensors is not null && !(options.PreferOnnx && onnxFile is not null))
        {
            allowed.Require(safetensors);
            return (SafetensorsWeights.Open(safetensors, allowed), safetensors, ModelWeightsFormat.Safetensors);
        }

        if (onnxFile is not null)
        {
            allowed.Require(onnxFile);
            return (OnnxWeights.Open(onnxFile, allowed), onnxFile, ModelWeightsFormat.Onnx);
        }

        bool pickle = File.Exists(Path.Combine(dir, "pytorch_model.bin"));
        throw new ModelFormatException(dir, null, pickle
            ? "has only pytorch_model.bin, a Python pickle that NativeAlign does not execute; convert it to model.safetensors"
            : "no weights found (expected model.safetensors, model.safetensors.index.json or an .onnx file)");
    }

    private static string? FindOnnx(string dir)
    {
        // Exports often hold several variants (model.onnx, model_quantized.onnx, model_fp16.onnx …), which give different
        // embeddings; picking one without a word would hide which ran, so more than one is a choice for the caller.
        var candidates = new[] { dir, Path.Combine(dir, "onnx") }
            .Where(System.IO.Directory.Exists)
            .SelectMany(folder => System.IO.Directory.GetFiles(folder, "*.onnx"))
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (candidates.Length > 1)
        {
            throw new ModelFormatException(dir, null, $"holds several ONNX files ({string.Join(", ", candidates.Select(c => Path.GetRelativePath(dir, c)))}); name the one to load as the model, e.g. --model {candidates[0]}");
        }

        return candidates.Length == 1 ? candidates[0] : null;
    }
}

/// <summary>Reads sentence-transformers' <c>modules.json</c> and the configuration of each module it lists.</summary>
internal static class SentencePipelineReader
{
    private const string TransformerType = ModelFolderLayout.TransformerType;
    private const string PoolingType = "sentence_transformers.models.Pooling";
    private const string DenseType = "sentence_transformers.models.Dense";
    private const string NormalizeType = "sentence_transformers.models.Normalize";

    /// <summary>
    /// Reads the pipeline of <paramref name="root"/>; returns it and the folder holding the transformer. Every file and
    /// module folder must resolve inside <paramref name="allowed"/>.
    /// </summary>
    public static (SentencePipeline Pipeline, string TransformerDir) Read(string root, ModelRoot allowed, List<IDisposable> owned)
    {
        string modulesPath = Path.Combine(root, "modules.json");
        if (!File.Exists(modulesPath))
        {
            return (SentencePipeline.Undeclared, root);
        }

        allowed.Require(modulesPath);

        var steps = new List<SentencePipelineStep>();
        string? transformerDir = null;
        using var document = JsonModelFile.Parse(modulesPath);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new ModelFormatException(modulesPath, null, "expected a JSON array of modules");
        }

        int index = 0;
        foreach (var module in document.RootElement.EnumerateArray())
        {
            string item = $"module {index++}";
            if (module.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException(modulesPath, item, "expected an object with type and path");
            }

            string type = JsonModelFile.OptionalString(module, "type", modulesPath) ?? throw new ModelFormatException(modulesPath, item, "module without a type");
            string relative = JsonModelFile.OptionalString(module, "path", modulesPath) ?? "";
            // Normalize keeps no files, and git cannot hold the empty folder, so only modules with files need theirs.
            string dir = ModelFolderLayout.ModuleDirectory(root, relative, modulesPath, item, mustExist: type != NormalizeType);
            allowed.Require(dir, modulesPath, item);
            switch (type)
            {
                case TransformerType:
                    if (transformerDir is not null)
                    {
                        throw new ModelFormatException(modulesPath, item, "a second Transformer module");
                    }

                    transformerDir = dir;
                    steps.Add(ReadTransformer(dir, allowed));
                    break;
                case PoolingType:
                    steps.Add(ReadPooling(dir, allowed));
                    break;
                case DenseType:
                    steps.Add(ReadDense(dir, allowed, owned));
                    break;
                case NormalizeType:
                    steps.Add(new NormalizeStep());
                    break;
                default:
                    throw new ModelFormatException(modulesPath, item, $"unsupported module type '{(type.Length > 80 ? type[..80] : type)}' (expected Transformer, Pooling, Dense or Normalize)");
            }

            if (steps.Count == 1 && steps[0] is not TransformerStep)
            {
                throw new ModelFormatException(modulesPath, item, "the first module must be the Transformer");
            }
        }

        if (transformerDir is null)
        {
            throw new ModelFormatException(modulesPath, null, "no Transformer module");
        }

        return (new SentencePipeline(steps, true), transformerDir);
    }

    private static TransformerStep ReadTransformer(string dir, ModelRoot allowed)
    {
        string path = Path.Combine(dir, "sentence_bert_config.json");
        if (!File.Exists(path))
        {
            return new TransformerStep(null, false);
        }

        allowed.Require(path);
        using var document = JsonModelFile.Parse(path);
        var root = JsonModelFile.RootObject(document, path);
        return new TransformerStep(JsonModelFile.OptionalInt(root, "max_seq_length", path, 1, 1_048_576), JsonModelFile.OptionalBool(root, "do_lower_case", path) ?? false);
    }

    private static PoolingStep ReadPooling(string dir, ModelRoot allowed)
    {
        string path = Path.Combine(dir, "config.json");
        if (!File.Exists(path))
        {
            throw new ModelFormatException(path, null, "the Pooling module's config.json is missing");
        }

        allowed.Require(path);
        using var document = JsonModelFile.Parse(path);
        var root = JsonModelFile.RootObject(document, path);
        var modes = new List<SentencePoolingMode>();
        foreach (var (field, mode) in new[]
        {
            ("pooling_mode_cls_token", SentencePoolingMode.Cls),
            ("pooling_mode_max_tokens", SentencePoolingMode.Max),
            ("pooling_mode_mean_tokens", SentencePoolingMode.Mean),
            ("pooling_mode_mean_sqrt_len_tokens", SentencePoolingMode.MeanSqrtLength),
            ("pooling_mode_weightedmean_tokens", SentencePoolingMode.WeightedMean),
            ("pooling_mode_lasttoken", SentencePoolingMode.LastToken),
        })
        {
            if (JsonModelFile.OptionalBool(root, field, path) == true)
            {
                modes.Add(mode);
            }
        }

        if (modes.Count == 0)
        {
            throw new ModelFormatException(path, "pooling_mode_mean_tokens", "no pooling mode is set to true");
        }

        return new PoolingStep(modes, JsonModelFile.OptionalBool(root, "include_prompt", path) ?? true);
    }

    private static DenseStep ReadDense(string dir, ModelRoot allowed, List<IDisposable> owned)
    {
        string path = Path.Combine(dir, "config.json");
        if (!File.Exists(path))
        {
            throw new ModelFormatException(path, null, "the Dense module's config.json is missing");
        }

        allowed.Require(path);
        int inFeatures, outFeatures;
        bool hasBias;
        SentenceDenseActivation activation;
        using (var document = JsonModelFile.Parse(path))
        {
            var root = JsonModelFile.RootObject(document, path);
            inFeatures = JsonModelFile.RequiredInt(root, "in_features", path, 1, 1_048_576);
            outFeatures = JsonModelFile.RequiredInt(root, "out_features", path, 1, 1_048_576);
            hasBias = JsonModelFile.OptionalBool(root, "bias", path) ?? true;
            string function = JsonModelFile.OptionalString(root, "activation_function", path) ?? "torch.nn.modules.activation.Tanh";
            activation = function switch
            {
                "torch.nn.modules.linear.Identity" => SentenceDenseActivation.Identity,
                "torch.nn.modules.activation.Tanh" => SentenceDenseActivation.Tanh,
                "torch.nn.modules.activation.ReLU" => SentenceDenseActivation.Relu,
                "torch.nn.modules.activation.Sigmoid" => SentenceDenseActivation.Sigmoid,
                "torch.nn.modules.activation.GELU" => SentenceDenseActivation.Gelu,
                _ => throw new ModelFormatException(path, "activation_function", $"unsupported activation '{(function.Length > 80 ? function[..80] : function)}'"),
            };
        }

        string weightsPath = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(weightsPath))
        {
            throw new ModelFormatException(weightsPath, null, File.Exists(Path.Combine(dir, "pytorch_model.bin"))
                ? "the Dense module has only pytorch_model.bin, a Python pickle that NativeAlign does not execute; convert it to model.safetensors"
                : "the Dense module's model.safetensors is missing");
        }

        allowed.Require(weightsPath);
        var file = SafetensorsFile.Open(weightsPath);
        owned.Add(file);
        var weight = Load(file, "linear.weight", [outFeatures, inFeatures]);
        var bias = hasBias ? Load(file, "linear.bias", [outFeatures]) : null;
        return new DenseStep(inFeatures, outFeatures, weight, bias, activation);
    }

    private static WeightTensor Load(SafetensorsFile file, string name, int[] shape)
    {
        if (!file.TryGetInfo(name, out _))
        {
            throw new ModelFormatException(file.Path, name, $"required tensor is missing (expected shape [{string.Join(", ", shape)}])");
        }

        var tensor = file.GetWeight(name);
        if (!tensor.Shape.SequenceEqual(shape))
        {
            throw new ModelFormatException(file.Path, name, $"has shape [{string.Join(", ", tensor.Shape)}], expected [{string.Join(", ", shape)}] from the module's config.json");
        }

        EncoderWeightLayout.RequireFinite(tensor, file.Path, name);
        return tensor;
    }
}
