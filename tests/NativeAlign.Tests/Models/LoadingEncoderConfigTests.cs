using System.Globalization;
using NativeAlign.Models;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Models;

/// <summary><see cref="EncoderConfigReader"/> against configuration files whose values the test states or Python's json module reads.</summary>
public sealed class LoadingEncoderConfigTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("na-config-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Write(string json)
    {
        var path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, json);
        return path;
    }

    private const string Bert = """
        {"model_type": "bert", "vocab_size": 119547, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
         "intermediate_size": 3072, "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
         "hidden_act": "gelu", "pad_token_id": 0, "position_embedding_type": "absolute"}
        """;

    [Test]
    public void DefaultModelConfigMatchesPythonsReading()
    {
        var folder = LoadingTestSupport.RequireDefaultModel();
        var path = Path.Combine(folder, "config.json");
        var peer = LoadingTestSupport.RunPython("-c",
            "import json,sys; c=json.load(open(sys.argv[1])); print(' '.join(repr(c[k]) for k in ['vocab_size','hidden_size','num_hidden_layers','num_attention_heads','intermediate_size','max_position_embeddings','type_vocab_size','layer_norm_eps','pad_token_id']), c['hidden_act'], c['model_type'])",
            path).Trim().Split(' ');
        var config = EncoderConfigReader.Read(path);
        Assert.That(peer[^1], Is.EqualTo("bert"));
        Assert.That(config.Architecture, Is.EqualTo(EncoderArchitecture.Bert));
        int[] ints = [config.VocabularySize, config.HiddenSize, config.LayerCount, config.HeadCount, config.IntermediateSize, config.MaxPositions, config.TypeVocabularySize];
        Assert.That(ints, Is.EqualTo(peer[..7].Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray()));
        Assert.That(config.LayerNormEpsilon, Is.EqualTo((float)double.Parse(peer[7], CultureInfo.InvariantCulture)));
        Assert.That(config.PadTokenId, Is.EqualTo(int.Parse(peer[8], CultureInfo.InvariantCulture)));
        Assert.That(config.HiddenActivation, Is.EqualTo(peer[9]));
    }

    [Test]
    public void BertFieldsAreReadAsWritten()
    {
        var c = EncoderConfigReader.Read(Write(Bert));
        Assert.That(c, Is.EqualTo(new EncoderConfig(EncoderArchitecture.Bert, 119547, 768, 12, 12, 3072, 512, 2, 1e-12f, "gelu", 0)));
        Assert.That(c.HeadSize, Is.EqualTo(64));
    }

    [Test]
    public void XlmRobertaFieldsAndPositionOffset()
    {
        var c = EncoderConfigReader.Read(Write("""
            {"model_type": "xlm-roberta", "vocab_size": 250002, "hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 12,
             "intermediate_size": 1536, "max_position_embeddings": 514, "type_vocab_size": 1, "layer_norm_eps": 1e-05,
             "hidden_act": "gelu", "pad_token_id": 1}
            """));
        Assert.That(c, Is.EqualTo(new EncoderConfig(EncoderArchitecture.XlmRoberta, 250002, 384, 12, 12, 1536, 514, 1, 1e-5f, "gelu", 1)));
        Assert.That(c.MaxSequenceLength, Is.EqualTo(512));
    }

    [Test]
    public void FieldsTheTransformersClassesDefaultTakeThoseDefaults()
    {
        // transformers' BertConfig/XLMRobertaConfig defaults: hidden_act gelu, layer_norm_eps 1e-12, type_vocab_size 2, pad 0 / 1.
        var c = EncoderConfigReader.Read(Write("""
            {"model_type": "roberta", "vocab_size": 50, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
             "intermediate_size": 16, "max_position_embeddings": 20}
            """));
        Assert.That(c, Is.EqualTo(new EncoderConfig(EncoderArchitecture.XlmRoberta, 50, 8, 1, 2, 16, 20, 2, 1e-12f, "gelu", 1)));
    }

    [TestCase("vocab_size")]
    [TestCase("hidden_size")]
    [TestCase("num_hidden_layers")]
    [TestCase("num_attention_heads")]
    [TestCase("intermediate_size")]
    [TestCase("max_position_embeddings")]
    [TestCase("model_type")]
    public void MissingRequiredFieldIsNamed(string field)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(Bert)!.AsObject();
        json.Remove(field);
        var path = Write(json.ToJsonString());
        var ex = Assert.Throws<ModelFormatException>(() => EncoderConfigReader.Read(path))!;
        Assert.That(ex.Item, Is.EqualTo(field));
        Assert.That(ex.Path, Is.EqualTo(path));
        Assert.That(ex.Message, Does.Contain("missing"));
    }

    [TestCase("model_type", "\"gpt2\"", "unsupported architecture 'gpt2'")]
    [TestCase("hidden_act", "\"swish\"", "unsupported activation")]
    [TestCase("hidden_size", "\"768\"", "expected an integer")]
    [TestCase("hidden_size", "770", "do not divide")]
    [TestCase("num_hidden_layers", "-1", "outside the accepted range")]
    [TestCase("vocab_size", "1e300", "expected an integer")]
    [TestCase("layer_norm_eps", "0", "is not in (0, 1]")]
    [TestCase("pad_token_id", "119547", "not below vocab_size")]
    [TestCase("position_embedding_type", "\"relative_key\"", "not supported")]
    public void BadFieldValueIsNamed(string field, string value, string message)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(Bert)!.AsObject();
        json[field] = System.Text.Json.Nodes.JsonNode.Parse(value);
        var ex = Assert.Throws<ModelFormatException>(() => EncoderConfigReader.Read(Write(json.ToJsonString())))!;
        Assert.That(ex.Item, Is.EqualTo(field == "hidden_size" && value == "770" ? "num_attention_heads" : field));
        Assert.That(ex.Message, Does.Contain(message));
    }

    [Test]
    public void MalformedFilesAreTypedErrors()
    {
        Assert.That(Assert.Throws<ModelFormatException>(() => EncoderConfigReader.Read(Write("{\"model_type\": ")))!.Message, Does.Contain("invalid JSON"));
        Assert.That(Assert.Throws<ModelFormatException>(() => EncoderConfigReader.Read(Write("[]")))!.Message, Does.Contain("JSON object"));
        Assert.That(Assert.Throws<ModelFormatException>(() => EncoderConfigReader.Read(Write(new string('[', 5000) + new string(']', 5000))))!.Message, Does.Contain("invalid JSON"));
        Assert.That(Assert.Throws<ModelFormatException>(() => EncoderConfigReader.Read(Write("{\"model_type\": \"\\ud800\"}")))!.Message, Does.Contain("invalid JSON string"));
        var path = Write("");
        File.WriteAllBytes(path, [(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}']);
        Assert.That(Assert.Throws<ModelFormatException>(() => EncoderConfigReader.Read(path))!.Message, Does.Contain("not valid UTF-8"));
        Assert.Throws<ModelFormatException>(() => EncoderConfigReader.Read(Path.Combine(_dir, "absent.json")));
        Assert.Throws<ModelFormatException>(() => EncoderConfigReader.Read(_dir));
    }
}
