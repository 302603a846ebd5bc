using System.Text.Json;
using System.Text.Json.Nodes;
using NativeAlign.IO;
using NativeAlign.Models;
using NativeAlign.Tensors;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Models;

/// <summary>
/// <see cref="ModelFolder"/> on a sentence-transformers folder written by Fixtures/make_safetensors_fixtures.py (which
/// records the pipeline it meant in st_folder.expected.json) and on the default model folder.
/// </summary>
public sealed class LoadingModelFolderTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("na-folder-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static string Source => Path.Combine(LoadingTestSupport.Fixtures, "st_folder");

    private string CopyFolder()
    {
        string target = Path.Combine(_dir, "model");
        foreach (var file in Directory.GetFiles(Source, "*", SearchOption.AllDirectories))
        {
            string dest = Path.Combine(target, Path.GetRelativePath(Source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }

        return target;
    }

    private static void EditJson(string path, Action<JsonNode> edit)
    {
        var node = JsonNode.Parse(File.ReadAllText(path))!;
        edit(node);
        File.WriteAllText(path, node.ToJsonString());
    }

    [Test]
    public void SentenceTransformersFolderGivesTheDeclaredPipeline()
    {
        using var expected = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(LoadingTestSupport.Fixtures, "st_folder.expected.json")));
        using var folder = ModelFolder.Open(Source);
        Assert.That(folder.Pipeline.ToString(), Is.EqualTo(expected.RootElement.GetProperty("pipeline").GetString()));
        Assert.That(folder.Pipeline.IsDeclared, Is.True);
        Assert.That(folder.Pipeline.Normalizes, Is.True);
        Assert.That(folder.Pipeline.Pooling!.Modes, Is.EqualTo(new[] { SentencePoolingMode.Cls }));
        var dense = folder.Pipeline.Steps.OfType<DenseStep>().Single();
        Assert.That(dense.Weight.ToFloat32(), Is.EqualTo(expected.RootElement.GetProperty("dense_weight").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray()));
        Assert.That(dense.Bias!.ToFloat32(), Is.EqualTo(expected.RootElement.GetProperty("dense_bias").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray()));

        var config = expected.RootElement.GetProperty("config");
        Assert.That(folder.Config.HiddenSize, Is.EqualTo(config.GetProperty("hidden_size").GetInt32()));
        Assert.That(folder.Config.LayerCount, Is.EqualTo(config.GetProperty("num_hidden_layers").GetInt32()));
        Assert.That(folder.WeightsFormat, Is.EqualTo(ModelWeightsFormat.Safetensors));
        Assert.That(folder.Weights.Names, Is.EquivalentTo(expected.RootElement.GetProperty("tensors").EnumerateArray().Select(e => e.GetString())));
        Assert.That(folder.TokenizerKind, Is.EqualTo(TokenizerFileKind.WordPieceVocab));
        Assert.That(Path.GetFileName(folder.TokenizerPath), Is.EqualTo("vocab.txt"));
    }

    [Test]
    public void DefaultModelFolderLoadsOnnxWithTheUndeclaredPipeline()
    {
        string dir = LoadingTestSupport.RequireDefaultModel();
        using var folder = ModelFolder.Open(dir);
        Assert.That(folder.WeightsFormat, Is.EqualTo(ModelWeightsFormat.Onnx));
        Assert.That(Path.GetFileName(folder.WeightsPath), Is.EqualTo("model_q4.onnx"));
        Assert.That(folder.Pipeline.IsDeclared, Is.False, "the folder has no modules.json");
        Assert.That(folder.Pipeline, Is.SameAs(SentencePipeline.Undeclared));
        Assert.That(folder.TokenizerKind, Is.EqualTo(TokenizerFileKind.TokenizerJson));
        Assert.That(folder.Weights.TryGet("encoder.layer.5.output.dense.weight", out var w) && w.Type == WeightType.Q4, Is.True);
    }

    [Test]
    public void AnOnnxFileCanBeNamed()
    {
        string dir = LoadingTestSupport.RequireDefaultModel();
        using var folder = ModelFolder.Open(dir, new ModelFolderOptions { OnnxFile = "onnx/model_q4.onnx" });
        Assert.That(folder.WeightsFormat, Is.EqualTo(ModelWeightsFormat.Onnx));
        var ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(dir, new ModelFolderOptions { OnnxFile = "onnx/absent.onnx" }))!;
        Assert.That(ex.Message, Does.Contain("does not exist"));
    }

    [Test]
    public void MissingTensorIsNamed()
    {
        string dir = CopyFolder();
        EditJson(Path.Combine(dir, "config.json"), c => c["num_hidden_layers"] = 2);
        var ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(dir))!;
        Assert.That(ex.Item, Is.EqualTo("encoder.layer.1.attention.self.query.weight"));
        Assert.That(ex.Message, Does.Contain("missing"));
    }

    [Test]
    public void MisshapedTensorIsNamed()
    {
        string dir = CopyFolder();
        EditJson(Path.Combine(dir, "config.json"), c => c["vocab_size"] = 13);
        var ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(dir))!;
        Assert.That(ex.Item, Is.EqualTo("embeddings.word_embeddings.weight"));
        Assert.That(ex.Message, Does.Contain("has shape [12, 8], expected [13, 8]"));
    }

    [Test]
    public void UnknownArchitectureIsNamed()
    {
        string dir = CopyFolder();
        EditJson(Path.Combine(dir, "config.json"), c => c["model_type"] = "t5");
        var ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(dir))!;
        Assert.That(ex.Item, Is.EqualTo("model_type"));
        Assert.That(ex.Message, Does.Contain("unsupported architecture 't5'"));
    }

    [Test]
    public void ModuleDefectsAreNamed()
    {
        string dir = CopyFolder();
        string modules = Path.Combine(dir, "modules.json");
        string original = File.ReadAllText(modules);

        EditJson(modules, m => m[1]!["path"] = "../1_Pooling");
        Assert.That(Assert.Throws<ModelFormatException>(() => ModelFolder.Open(dir))!.Message, Does.Contain("leaves the model folder"));

        File.WriteAllText(modules, original);
        EditJson(modules, m => m[2]!["type"] = "sentence_transformers.models.LSTM");
        var ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(dir))!;
        Assert.That(ex.Item, Is.EqualTo("module 2"));
        Assert.That(ex.Message, Does.Contain("unsupported module type"));

        File.WriteAllText(modules, original);
        EditJson(Path.Combine(dir, "2_Dense", "config.json"), c => c["in_features"] = 9);
        ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(dir))!;
        Assert.That(ex.Item, Is.EqualTo("linear.weight"));
        Assert.That(ex.Message, Does.Contain("expected [4, 9]"));

        EditJson(Path.Combine(dir, "2_Dense", "config.json"), c => { c["in_features"] = 8; c["activation_function"] = "torch.nn.modules.activation.Softsign"; });
        ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(dir))!;
        Assert.That(ex.Item, Is.EqualTo("activation_function"));

        EditJson(Path.Combine(dir, "2_Dense", "config.json"), c => c["activation_function"] = "torch.nn.modules.activation.Tanh");
        EditJson(Path.Combine(dir, "1_Pooling", "config.json"), c => c["pooling_mode_max_tokens"] = true);
        ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(dir))!;
        Assert.That(ex.Message, Does.Contain("Dense in_features 8 does not match the 16 values reaching it"));

        EditJson(Path.Combine(dir, "1_Pooling", "config.json"), c => { c["pooling_mode_max_tokens"] = false; c["pooling_mode_cls_token"] = false; });
        ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(dir))!;
        Assert.That(ex.Message, Does.Contain("no pooling mode"));
    }

    [Test]
    public void PickleOnlyWeightsAreRefusedWithAReason()
    {
        string dir = CopyFolder();
        File.Move(Path.Combine(dir, "model.safetensors"), Path.Combine(dir, "pytorch_model.bin"));
        Assert.That(Assert.Throws<ModelFormatException>(() => ModelFolder.Open(dir))!.Message, Does.Contain("pickle"));
        File.Delete(Path.Combine(dir, "pytorch_model.bin"));
        Assert.That(Assert.Throws<ModelFormatException>(() => ModelFolder.Open(dir))!.Message, Does.Contain("no weights found"));
    }

    [Test]
    public void SeveralOnnxFilesWithoutModelOnnxMustBeChosen()
    {
        string dir = CopyFolder();
        File.Delete(Path.Combine(dir, "model.safetensors"));
        Directory.CreateDirectory(Path.Combine(dir, "onnx"));
        File.WriteAllBytes(Path.Combine(dir, "onnx", "model_a.onnx"), [1]);
        File.WriteAllBytes(Path.Combine(dir, "onnx", "model_b.onnx"), [1]);
        Assert.That(Assert.Throws<ModelFormatException>(() => ModelFolder.Open(dir))!.Message, Does.Contain("several ONNX files"));
    }

    [Test]
    public void MissingFolderAndConfigAreTypedErrors()
    {
        Assert.Throws<ModelFormatException>(() => ModelFolder.Open(Path.Combine(_dir, "absent")));
        string dir = CopyFolder();
        File.Delete(Path.Combine(dir, "config.json"));
        Assert.That(Assert.Throws<ModelFormatException>(() => ModelFolder.Open(dir))!.Message, Does.Contain("config.json is missing"));
    }
}
