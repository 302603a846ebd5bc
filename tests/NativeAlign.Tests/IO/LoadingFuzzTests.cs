using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using NativeAlign.IO;
using NativeAlign.Models;
using NativeAlign.Tensors;
using NativeAlign.Tests.Hardening;

namespace NativeAlign.Tests.IO;

/// <summary>
/// Fuzz-style tests of the model-file parsers: a fixed seed, thousands of mutated inputs per format (bit flips, byte
/// overwrites, truncations, inserted junk, huge length fields, wrong JSON types, deep nesting). The only exception
/// allowed out is <see cref="ModelFormatException"/>; each input must finish within a second (the hang criterion of
/// the hardening issue). Set NATIVEALIGN_FUZZ_ITERATIONS for a larger run.
/// </summary>
public sealed class LoadingFuzzTests
{
    private const int Seed = 20261122;
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("na-fuzz-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private sealed class Tally
    {
        public int Accepted;
        public int Rejected;
        public double MaxMilliseconds;
        public List<string> Escapes { get; } = [];
    }

    private static void Run(Tally tally, int iteration, Action action)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            action();
            tally.Accepted++;
        }
        catch (ModelFormatException)
        {
            tally.Rejected++;
        }
        catch (Exception e)
        {
            if (tally.Escapes.Count < 5)
            {
                tally.Escapes.Add($"iteration {iteration}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }

        // The first inputs pay for JIT compilation; timing starts once the code is warm.
        if (iteration >= 10)
        {
            tally.MaxMilliseconds = Math.Max(tally.MaxMilliseconds, watch.Elapsed.TotalMilliseconds);
        }
    }

    private static void Report(string format, int iterations, Tally tally)
    {
        TestContext.Out.WriteLine($"{format}: {iterations} mutated inputs, {tally.Rejected} rejected with ModelFormatException, {tally.Accepted} accepted, slowest {tally.MaxMilliseconds:F1} ms");
        Assert.That(tally.Escapes, Is.Empty, $"{format}: untyped exceptions escaped");
        Assert.That(tally.Accepted + tally.Rejected, Is.EqualTo(iterations));
        Assert.That(tally.Rejected, Is.GreaterThan(0), "the mutations must reach the validation");
        Assert.That(tally.MaxMilliseconds, Is.LessThan(1000), "an input took over a second (hang guard)");
    }

    private static void TouchAll(IModelWeights weights)
    {
        foreach (var name in weights.Names)
        {
            Assert.That(weights.TryGet(name, out var tensor), Is.True);
            _ = tensor.ToFloat32();
        }
    }

    [Test]
    public void Safetensors()
    {
        var original = File.ReadAllBytes(Path.Combine(LoadingTestSupport.Fixtures, "small.safetensors"));
        var random = new Random(Seed);
        var tally = new Tally();
        int n = FuzzSupport.Iterations(3000);
        string path = Path.Combine(_dir, "fuzz.safetensors");
        for (int i = 0; i < n; i++)
        {
            File.WriteAllBytes(path, FuzzSupport.MutateBytes(original, random, protobuf: false));
            Run(tally, i, () =>
            {
                using var weights = SafetensorsWeights.Open(path);
                TouchAll(weights);
            });
        }

        Report("safetensors", n, tally);
    }

    [Test]
    public void OnnxProtobuf()
    {
        string source = Path.Combine(LoadingTestSupport.Fixtures, "onnx");
        var random = new Random(Seed);
        var tally = new Tally();
        int n = FuzzSupport.Iterations(2000);

        // Alternate between the 4-bit model (external data, MatMulNBits) and the decomposed XLM-R graph.
        var originals = new[] { "tiny_bert_q4.onnx", "tiny_xlmr_opset14.onnx" }.Select(f => File.ReadAllBytes(Path.Combine(source, f))).ToArray();
        File.Copy(Path.Combine(source, "tiny_bert_q4.onnx_data"), Path.Combine(_dir, "tiny_bert_q4.onnx_data"));
        string path = Path.Combine(_dir, "fuzz.onnx");
        for (int i = 0; i < n; i++)
        {
            File.WriteAllBytes(path, FuzzSupport.MutateBytes(originals[i % 2], random, protobuf: true));
            Run(tally, i, () =>
            {
                using var weights = OnnxWeights.Open(path);
                TouchAll(weights);
            });
        }

        Report("onnx", n, tally);
    }

    /// <summary>
    /// Structural mutations of a parsed ONNX graph (rewired inputs, changed op types, dropped or duplicated nodes, extreme
    /// attributes, reshaped or retyped initializers with consistent bytes) to drive the graph walk itself, which byte-level
    /// mutations mostly stop at the protobuf layer.
    /// </summary>
    [Test]
    public void OnnxGraphWalk()
    {
        string source = Path.Combine(LoadingTestSupport.Fixtures, "onnx");
        string[] models = ["tiny_bert_q4.onnx", "tiny_xlmr_opset14.onnx", "tiny_bert_opset17.onnx", "tiny_bert_fused.onnx", "tiny_bert_q4_ort.onnx"];
        long[] oddInts = [-1, 0, 1, 3, 4, 8, 15, 16, 17, 32, 1 << 20, long.MaxValue, long.MinValue];
        var random = new Random(Seed);
        var tally = new Tally();
        int n = FuzzSupport.Iterations(2000);
        for (int i = 0; i < n; i++)
        {
            using var model = OnnxModel.Open(Path.Combine(source, models[i % models.Length]));
            var names = model.Nodes.SelectMany(x => x.Inputs.Concat(x.Outputs)).Concat(model.Initializers.Keys).Distinct().ToArray();
            var ops = model.Nodes.Select(x => x.OpType).Distinct().ToArray();
            int rounds = 1 + random.Next(3);
            for (int r = 0; r < rounds; r++)
            {
                var node = model.Nodes[random.Next(model.Nodes.Count)];
                switch (random.Next(8))
                {
                    case 0 when node.Inputs.Count >= 2:
                        (node.Inputs[0], node.Inputs[1]) = (node.Inputs[1], node.Inputs[0]);
                        break;
                    case 1 when node.Inputs.Count > 0:
                        node.Inputs[random.Next(node.Inputs.Count)] = names[random.Next(names.Length)];
                        break;
                    case 2:
                        node.OpType = ops[random.Next(ops.Length)];
                        break;
                    case 3:
                        model.Nodes.Remove(node);
                        break;
                    case 4 when node.Attributes.Count > 0:
                        var attribute = node.Attributes.Values.ElementAt(random.Next(node.Attributes.Count));
                        attribute.Type = OnnxAttributeType.Int;
                        attribute.Int = oddInts[random.Next(oddInts.Length)];
                        break;
                    case 5:
                        var tensor = model.Initializers.Values.ElementAt(random.Next(model.Initializers.Count));
                        long count = tensor.ElementCount;
                        long[] dims = random.Next(3) switch { 0 => [count], 1 => [1, count], _ => [.. tensor.Dims.Reverse()] };
                        model.Initializers[tensor.Name] = new OnnxTensor(tensor.Name, tensor.Type, dims, tensor.Data);
                        break;
                    case 6:
                        var t = model.Initializers.Values.ElementAt(random.Next(model.Initializers.Count));
                        OnnxDataType[] same = OnnxTensor.ElementSize(t.Type) switch
                        {
                            1 => [OnnxDataType.UInt8, OnnxDataType.Int8, OnnxDataType.Bool],
                            2 => [OnnxDataType.Float16, OnnxDataType.BFloat16, OnnxDataType.Int16],
                            4 => [OnnxDataType.Float, OnnxDataType.Int32, OnnxDataType.UInt32],
                            _ => [t.Type],
                        };
                        model.Initializers[t.Name] = new OnnxTensor(t.Name, same[random.Next(same.Length)], t.Dims, t.Data);
                        break;
                    default:
                        model.Nodes.Insert(random.Next(model.Nodes.Count), node);
                        break;
                }
            }

            Run(tally, i, () =>
            {
                var weights = OnnxEncoderGraph.Map(model, out _, out _);
                foreach (var w in weights.Values)
                {
                    _ = w.ToFloat32();
                }
            });
        }

        Report("onnx graph walk", n, tally);
    }

    private static readonly Func<Random, JsonNode?>[] OddValues =
    [
        _ => null,
        _ => "text",
        _ => -1,
        _ => 0,
        _ => long.MaxValue,
        _ => 1e308,
        _ => 2.5,
        _ => true,
        _ => new JsonArray(1, 2),
        _ => new JsonObject { ["a"] = 1 },
        r => new string('x', r.Next(1, 5000)),
    ];

    private static string MutateJson(string json, Random random)
    {
        switch (random.Next(3))
        {
            case 0:
                return Encoding.UTF8.GetString(FuzzSupport.MutateBytes(Encoding.UTF8.GetBytes(json), random, protobuf: false));
            case 1:
                // A wrong type (or an extreme value) in one field.
                var node = JsonNode.Parse(json)!;
                var target = node is JsonArray array && array.Count > 0 ? array[random.Next(array.Count)]! : node;
                if (target is JsonObject obj && obj.Count > 0)
                {
                    string key = obj.ElementAt(random.Next(obj.Count)).Key;
                    obj[key] = OddValues[random.Next(OddValues.Length)](random);
                }

                return node.ToJsonString();
            default:
                // Deep nesting.
                int depth = random.Next(10, 3000);
                return new string('[', depth) + new string(']', depth);
        }
    }

    [Test]
    public void ConfigJson()
    {
        string original = File.ReadAllText(Path.Combine(LoadingTestSupport.Fixtures, "st_folder", "config.json"));
        var random = new Random(Seed);
        var tally = new Tally();
        int n = FuzzSupport.Iterations(3000);
        string path = Path.Combine(_dir, "config.json");
        for (int i = 0; i < n; i++)
        {
            File.WriteAllText(path, MutateJson(original, random));
            Run(tally, i, () => EncoderConfigReader.Read(path));
        }

        Report("config.json", n, tally);
    }

    [Test]
    public void SentenceTransformersFolder()
    {
        string source = Path.Combine(LoadingTestSupport.Fixtures, "st_folder");
        string dir = Path.Combine(_dir, "model");
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            string dest = Path.Combine(dir, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }

        string[] targets = ["modules.json", "1_Pooling/config.json", "2_Dense/config.json", "sentence_bert_config.json", "model.safetensors.index.json"];
        var originals = targets.Select(t => File.Exists(Path.Combine(dir, t)) ? File.ReadAllText(Path.Combine(dir, t)) : "{\"weight_map\": {\"embeddings.LayerNorm.bias\": \"model.safetensors\"}}").ToArray();
        var random = new Random(Seed);
        var tally = new Tally();
        int n = FuzzSupport.Iterations(1000);
        for (int i = 0; i < n; i++)
        {
            int which = random.Next(targets.Length);
            for (int t = 0; t < targets.Length - 1; t++)
            {
                File.WriteAllText(Path.Combine(dir, targets[t]), originals[t]);
            }

            File.Delete(Path.Combine(dir, targets[^1]));
            File.WriteAllText(Path.Combine(dir, targets[which]), MutateJson(originals[which], random));
            Run(tally, i, () =>
            {
                using var folder = ModelFolder.Open(dir);
                TouchAll(folder.Weights);
            });
        }

        Report("model folder JSON (modules, pooling, dense, sentence_bert_config, shard index)", n, tally);
    }
}
