using System.Diagnostics;
using System.Text;
using NativeAlign.IO;
using NativeAlign.Models;
using NativeAlign.Tests.IO;
using NativeAlign.Tokenizers;

namespace NativeAlign.Tests.Hardening;

/// <summary>
/// Model folders built to attack the loader from outside: symbolic links that lead out of the folder (a crafted model
/// would otherwise read any file of the machine and hand its bytes back inside embeddings), FIFOs that would block an
/// open forever, and the one rule that finds a folder's tokenizer. Every link and FIFO is made in a temporary folder.
/// </summary>
public sealed class ModelFileAttackTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("na-attack-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static string StFolder => Path.Combine(LoadingTestSupport.Fixtures, "st_folder");

    private static void CopyTree(string source, string target)
    {
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            string dest = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }
    }

    private string TinyOnnx(string folder)
    {
        Directory.CreateDirectory(folder);
        foreach (var f in new[] { "tiny_bert_q4.onnx", "tiny_bert_q4.onnx_data" })
        {
            File.Copy(Path.Combine(LoadingTestSupport.Fixtures, "onnx", f), Path.Combine(folder, f));
        }

        return Path.Combine(folder, "tiny_bert_q4.onnx");
    }

    /// <summary>Moves <paramref name="path"/> to <paramref name="elsewhere"/> and leaves a symbolic link to it in its place.</summary>
    private static void MoveAndLink(string path, string elsewhere)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(elsewhere)!);
        if (Directory.Exists(path))
        {
            Directory.Move(path, elsewhere);
            Directory.CreateSymbolicLink(path, elsewhere);
        }
        else
        {
            File.Move(path, elsewhere);
            File.CreateSymbolicLink(path, elsewhere);
        }
    }

    private static void MakeFifo(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.Zero, "mkfifo failed");
    }

    /// <summary>Runs <paramref name="load"/>, which must fail with a model error naming the FIFO within 10 s; a blocked open is released by opening the FIFO for writing.</summary>
    private static ModelFormatException LoadNearFifo(string fifo, Action load)
    {
        var task = Task.Run(load);
        if (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(10)))
        {
            using (new FileStream(fifo, FileMode.Open, FileAccess.Write))
            {
            }

            Assert.Fail($"loading blocked on the FIFO {fifo}");
        }

        var ex = task.Exception?.InnerException as ModelFormatException;
        Assert.That(ex, Is.Not.Null, "expected a ModelFormatException");
        Assert.That(ex!.Path, Is.EqualTo(fifo));
        Assert.That(ex.Message, Does.Contain("named pipe"));
        return ex;
    }

    [Test]
    public void OnnxExternalDataLinkedOutsideTheFolderIsRefused()
    {
        string onnx = TinyOnnx(Path.Combine(_dir, "model"));
        MoveAndLink(Path.Combine(_dir, "model", "tiny_bert_q4.onnx_data"), Path.Combine(_dir, "secret", "private.bin"));
        var ex = Assert.Throws<ModelFormatException>(() => OnnxWeights.Open(onnx).Dispose())!;
        Assert.That(ex.Path, Is.EqualTo(onnx));
        Assert.That(ex.Item, Is.Not.Null.And.Not.Empty, "the tensor is named");
        Assert.That(ex.Message, Does.Contain("tiny_bert_q4.onnx_data").And.Contain("outside the model folder"));
    }

    [Test]
    public void OnnxExternalDataThroughALinkedSubfolderIsRefused()
    {
        string onnx = TinyOnnx(Path.Combine(_dir, "model"));
        // Same length as the real location, so only the text of the location changes.
        var text = Encoding.Latin1.GetString(File.ReadAllBytes(onnx)).Replace("tiny_bert_q4.onnx_data", "s/tiny_bert_q4_xx.data", StringComparison.Ordinal);
        File.WriteAllBytes(onnx, Encoding.Latin1.GetBytes(text));
        string sub = Path.Combine(_dir, "model", "s");
        Directory.CreateDirectory(sub);
        File.Move(Path.Combine(_dir, "model", "tiny_bert_q4.onnx_data"), Path.Combine(sub, "tiny_bert_q4_xx.data"));

        // Control: the rewritten location loads while the subfolder is real.
        OnnxWeights.Open(onnx).Dispose();

        MoveAndLink(sub, Path.Combine(_dir, "secret", "dir"));
        var ex = Assert.Throws<ModelFormatException>(() => OnnxWeights.Open(onnx).Dispose())!;
        Assert.That(ex.Path, Is.EqualTo(onnx));
        Assert.That(ex.Item, Is.Not.Null.And.Not.Empty);
        Assert.That(ex.Message, Does.Contain("s/tiny_bert_q4_xx.data").And.Contain("outside the model folder"));
    }

    [Test]
    public void LinksThatStayInsideTheFolderStillLoad()
    {
        string onnx = TinyOnnx(Path.Combine(_dir, "plain"));
        string linked = TinyOnnx(Path.Combine(_dir, "linked"));
        string data = Path.Combine(_dir, "linked", "tiny_bert_q4.onnx_data");
        File.Move(data, Path.Combine(_dir, "linked", "blob"));
        File.CreateSymbolicLink(data, "blob");

        using var expected = OnnxWeights.Open(onnx);
        using var actual = OnnxWeights.Open(linked);
        Assert.That(actual.Names, Is.EqualTo(expected.Names));
        foreach (var name in expected.Names)
        {
            Assert.That(actual.TryGet(name, out var a), Is.True, name);
            Assert.That(expected.TryGet(name, out var e), Is.True, name);
            Assert.That(a.ToFloat32(), Is.EqualTo(e.ToFloat32()), name);
        }
    }

    [TestCase("config.json")]
    [TestCase("modules.json")]
    [TestCase("vocab.txt")]
    [TestCase("model.safetensors")]
    [TestCase("sentence_bert_config.json")]
    [TestCase("1_Pooling")]
    [TestCase("1_Pooling/config.json")]
    [TestCase("2_Dense/model.safetensors")]
    public void FolderFilesLinkedOutsideAreRefused(string relative)
    {
        string model = Path.Combine(_dir, "model");
        CopyTree(StFolder, model);
        ModelFolder.Open(model).Dispose();

        MoveAndLink(Path.Combine(model, relative), Path.Combine(_dir, "secret", relative.Replace('/', '_')));
        var ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(model).Dispose())!;
        Assert.That(ex.Message, Does.Contain(Path.GetFileName(relative)).And.Contain("outside the model folder"));
    }

    [Test]
    public void TokenizerOfAFolderLinkedOutsideIsRefused()
    {
        string model = Path.Combine(_dir, "model");
        CopyTree(StFolder, model);
        MoveAndLink(Path.Combine(model, "vocab.txt"), Path.Combine(_dir, "secret", "vocab.txt"));
        var ex = Assert.Throws<ModelFormatException>(() => TokenizerLoader.FromModelFolder(model))!;
        Assert.That(ex.Message, Does.Contain("vocab.txt").And.Contain("outside the model folder"));
    }

    [Test]
    public void ShardLinkedOutsideTheFolderIsRefused()
    {
        string model = Path.Combine(_dir, "sharded");
        CopyTree(Path.Combine(LoadingTestSupport.Fixtures, "sharded"), model);
        string index = Path.Combine(model, "model.safetensors.index.json");
        SafetensorsWeights.Open(index).Dispose();

        MoveAndLink(Path.Combine(model, "model-00002-of-00002.safetensors"), Path.Combine(_dir, "secret", "shard.bin"));
        var ex = Assert.Throws<ModelFormatException>(() => SafetensorsWeights.Open(index).Dispose())!;
        Assert.That(ex.Path, Is.EqualTo(index));
        Assert.That(ex.Item, Is.EqualTo("model-00002-of-00002.safetensors"));
        Assert.That(ex.Message, Does.Contain("outside the model folder"));
    }

    /// <summary>
    /// A Hugging Face hub cache as <c>huggingface_hub</c> lays it out: the files in <c>blobs/</c> under their hashes, the
    /// snapshot made of relative links to them. It must load and embed as the plain folder does; a snapshot link that
    /// leaves the repository (into another cached model) is still refused.
    /// </summary>
    [Test]
    public void HubCacheSnapshotOfLinksLoads()
    {
        string source = LoadingTestSupport.RequireDefaultModel();
        string repository = Path.Combine(_dir, "hub", "models--sentence-transformers--all-MiniLM-L6-v2");
        string snapshot = Path.Combine(repository, "snapshots", "c9745ed1d9f207416be6d2e6f8de32d1f16199bf");
        int n = 0;
        foreach (var relative in new[] { "config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "onnx/model_q4.onnx", "onnx/model_q4.onnx_data" })
        {
            string blob = Path.Combine(repository, "blobs", $"{n++:x40}");
            Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
            File.Copy(Path.Combine(source, relative), blob);
            string link = Path.Combine(snapshot, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            File.CreateSymbolicLink(link, Path.GetRelativePath(Path.GetDirectoryName(link)!, blob));
        }

        string[] texts = ["A cat sits on the mat.", "Der Hund schläft."];
        using (var plain = SentenceEncoder.Load(source))
        using (var cached = SentenceEncoder.Load(snapshot))
        {
            var expected = plain.Embed(texts);
            var actual = cached.Embed(texts);
            for (int i = 0; i < texts.Length; i++)
            {
                Assert.That(actual[i].ToArray(), Is.EqualTo(expected[i].ToArray()), texts[i]);
            }
        }

        string other = Path.Combine(_dir, "hub", "models--someone--else", "blobs", "cafe");
        Directory.CreateDirectory(Path.GetDirectoryName(other)!);
        File.Copy(Path.Combine(source, "config.json"), other);
        File.Delete(Path.Combine(snapshot, "config.json"));
        File.CreateSymbolicLink(Path.Combine(snapshot, "config.json"), Path.GetRelativePath(snapshot, other));
        var ex = Assert.Throws<ModelFormatException>(() => ModelFolder.Open(snapshot).Dispose())!;
        Assert.That(ex.Message, Does.Contain("config.json").And.Contain("outside the model folder"));
    }

    /// <summary>The attack end to end: a copy of the default model whose external data is a link to a private file holding bytes the embeddings would carry.</summary>
    [Test]
    public void EmbedOnAModelLinkedToAPrivateFileExitsFourWithoutOutput()
    {
        string source = LoadingTestSupport.RequireDefaultModel();
        string model = Path.Combine(_dir, "model");
        CopyTree(source, model);
        MoveAndLink(Path.Combine(model, "onnx", "model_q4.onnx_data"), Path.Combine(_dir, "secret", "private.bin"));
        string tensor = Assert.Throws<ModelFormatException>(() => OnnxWeights.Open(Path.Combine(model, "onnx", "model_q4.onnx")).Dispose())!.Item!;
        File.WriteAllText(Path.Combine(_dir, "in.txt"), "hello\n");

        var r = CliProcess.Run(_dir, "embed", "--model", model, "-i", "in.txt", "-o", "out.npy");
        Assert.That(r.ExitCode, Is.EqualTo(4), r.Stderr);
        Assert.That(r.ErrorLines, Has.Length.EqualTo(1), r.Stderr);
        Assert.That(r.ErrorLines[0], Does.Contain("model_q4.onnx").And.Contain($"'{tensor}'").And.Contain("outside the model folder"));
        Assert.That(Directory.GetFiles(_dir), Is.EquivalentTo(new[] { Path.Combine(_dir, "in.txt") }), "no output, no temporary");
    }

    [Test]
    public void FifoAsConfigJsonIsRefused()
    {
        string model = Path.Combine(_dir, "model");
        CopyTree(StFolder, model);
        string config = Path.Combine(model, "config.json");
        File.Delete(config);
        MakeFifo(config);
        LoadNearFifo(config, () => ModelFolder.Open(model).Dispose());
    }

    [Test]
    public void FifoAsExternalDataIsRefused()
    {
        string onnx = TinyOnnx(Path.Combine(_dir, "model"));
        string data = Path.Combine(_dir, "model", "tiny_bert_q4.onnx_data");
        File.Delete(data);
        MakeFifo(data);
        LoadNearFifo(data, () => OnnxWeights.Open(onnx).Dispose());
    }

    [Test]
    public void FifoAsTokenizerIsRefused()
    {
        string model = Path.Combine(_dir, "model");
        CopyTree(StFolder, model);
        string vocab = Path.Combine(model, "vocab.txt");
        File.Delete(vocab);
        MakeFifo(vocab);
        LoadNearFifo(vocab, () => TokenizerLoader.FromModelFolder(model));
    }

    [Test]
    public void EmbedWithAFifoConfigExitsFour()
    {
        string source = LoadingTestSupport.RequireDefaultModel();
        string model = Path.Combine(_dir, "model");
        CopyTree(source, model);
        File.Delete(Path.Combine(model, "config.json"));
        MakeFifo(Path.Combine(model, "config.json"));
        File.WriteAllText(Path.Combine(_dir, "in.txt"), "hello\n");

        var r = CliProcess.Run(_dir, "embed", "--model", model, "-i", "in.txt", "-o", "out.npy");
        Assert.That(r.ExitCode, Is.EqualTo(4), r.Stderr);
        Assert.That(r.ErrorLines, Has.Length.EqualTo(1), r.Stderr);
        Assert.That(r.ErrorLines[0], Does.Contain("config.json").And.Contain("named pipe"));
    }

    /// <summary>
    /// st_folder with its transformer moved into <c>0_Transformer/</c> (modules.json updated) and its vocab.txt left
    /// at the root, or moved with it.
    /// </summary>
    private string FolderWithTransformerSubfolder(bool tokenizerAtRoot)
    {
        string model = Path.Combine(_dir, "model");
        CopyTree(StFolder, model);
        string sub = Path.Combine(model, "0_Transformer");
        Directory.CreateDirectory(sub);
        foreach (var f in new[] { "config.json", "model.safetensors", "sentence_bert_config.json" }.Concat(tokenizerAtRoot ? [] : new[] { "vocab.txt" }))
        {
            File.Move(Path.Combine(model, f), Path.Combine(sub, f));
        }

        string modules = Path.Combine(model, "modules.json");
        File.WriteAllText(modules, File.ReadAllText(modules).Replace("\"path\": \"\"", "\"path\": \"0_Transformer\"", StringComparison.Ordinal));
        return model;
    }

    [TestCase(true)]
    [TestCase(false)]
    public void TokenizerBesideOrInsideTheTransformerSubfolderIsFoundByBothLoaders(bool tokenizerAtRoot)
    {
        string model = FolderWithTransformerSubfolder(tokenizerAtRoot);
        var direct = TokenizerLoader.FromVocabFile(Path.Combine(model, tokenizerAtRoot ? "" : "0_Transformer", "vocab.txt"));
        const string Text = "hello world";

        using (var folder = ModelFolder.Open(model))
        {
            Assert.That(folder.TokenizerPath, Is.EqualTo(Path.Combine(model, tokenizerAtRoot ? "" : "0_Transformer", "vocab.txt")));
        }

        Assert.That(TokenizerLoader.FromModelFolder(model).Encode(Text).Ids, Is.EqualTo(direct.Encode(Text).Ids));
        using var encoder = SentenceEncoder.Load(model);
        Assert.That(encoder.Embed([Text]).Count, Is.EqualTo(1));
    }

    [Test]
    public void FolderWithVocabAndSentencePieceReportsAndLoadsTheSameOne()
    {
        string model = Path.Combine(_dir, "model");
        CopyTree(StFolder, model);
        string spiece = Path.Combine(model, "spiece.model");
        File.Copy(Path.Combine(LoadingTestSupport.RepoRoot, "tests", "NativeAlign.Tests", "Tokenizers", "fixtures", "unigram.model"), spiece);
        const string Text = "hello world, this is a test";
        var fromPiece = TokenizerLoader.FromSentencePieceFile(spiece).Encode(Text).Ids;
        Assert.That(fromPiece, Is.Not.EqualTo(TokenizerLoader.FromVocabFile(Path.Combine(model, "vocab.txt")).Encode(Text).Ids), "the two files must tokenize differently for the test to tell them apart");

        using (var folder = ModelFolder.Open(model))
        {
            Assert.That(folder.TokenizerKind, Is.EqualTo(TokenizerFileKind.SentencePiece));
            Assert.That(folder.TokenizerPath, Is.EqualTo(spiece));
        }

        Assert.That(TokenizerLoader.FromModelFolder(model).Encode(Text).Ids, Is.EqualTo(fromPiece));
    }

    /// <summary>
    /// The weight file of a copy of the default model is cut to half its length once embed has loaded it and is writing:
    /// the run must not fault on the missing bytes (it used to die of SIGBUS, exit 134, leaving its temporary), and its
    /// output must equal a run on the intact model.
    /// </summary>
    [Test]
    public void WeightsTruncatedWhileEmbedRunsDoNotCrash()
    {
        string source = LoadingTestSupport.RequireDefaultModel();
        string model = Path.Combine(_dir, "model");
        CopyTree(source, model);
        File.WriteAllLines(Path.Combine(_dir, "in.txt"), Enumerable.Range(0, 3000).Select(i => $"Sentence number {i} is long enough to take a little time, {i % 7} times."));
        var reference = CliProcess.Run(_dir, "embed", "--model", source, "-i", "in.txt", "-o", "ref.npy", "--quiet");
        Assert.That(reference.ExitCode, Is.Zero, reference.Stderr);

        using var process = Process.Start(CliProcess.StartInfo(_dir, "embed", "--model", model, "-i", "in.txt", "-o", "out.npy", "--quiet"))!;
        var stderr = process.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Directory.GetFiles(_dir, ".out.npy.*.tmp").Length == 0 && !process.HasExited && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(5);
        }

        Assert.That(process.HasExited, Is.False, "the run ended before the weights could be cut; the input is too small for this machine");
        using (var data = new FileStream(Path.Combine(model, "onnx", "model_q4.onnx_data"), FileMode.Open, FileAccess.Write))
        {
            data.SetLength(data.Length / 2);
        }

        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("embed did not finish within two minutes");
        }

        Assert.That(process.ExitCode, Is.Zero, stderr.Result);
        Assert.That(File.ReadAllBytes(Path.Combine(_dir, "out.npy")), Is.EqualTo(File.ReadAllBytes(Path.Combine(_dir, "ref.npy"))));
        Assert.That(Directory.GetFiles(_dir, "*.tmp"), Is.Empty, "no temporary left");
    }
}
