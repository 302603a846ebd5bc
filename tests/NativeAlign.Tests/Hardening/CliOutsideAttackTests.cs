using System.Diagnostics;
using System.Text;
using System.Text.Json;
using NativeAlign.Tests.Tokenizers;

namespace NativeAlign.Tests.Hardening;

/// <summary>
/// The real CLI, run as a child process, against what lies outside its files: inputs that are pipes, FIFOs or endless
/// devices; outputs that are devices, FIFOs, symbolic links, a full disk or the inputs themselves. Device nodes, FIFOs
/// and links are made inside a temporary folder (<c>mknod</c>, <c>mkfifo</c>), never taken from <c>/dev</c>; each
/// expectation is independent of the code under test (the same run on a regular file, <c>stat</c>'s file type).
/// </summary>
[NonParallelizable]
public sealed class CliOutsideAttackTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("device nodes, FIFOs and resource limits are Linux facilities");
        }

        _dir = Directory.CreateTempSubdirectory("na-outside-").FullName;
    }

    [TearDown]
    public void TearDown()
    {
        if (_dir is not null)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static string Model => NativeAlign.Tests.IO.LoadingTestSupport.RequireDefaultModel();

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    /// <summary>Runs a tool to completion; a failure fails the test with its stderr.</summary>
    private static string Tool(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var p = Process.Start(info)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.EqualTo(0), $"{file} {string.Join(' ', args)}: {error}");
        return output;
    }

    /// <summary>A device node in the temporary folder (char device 1,3 is null, 1,5 zero, 1,7 full).</summary>
    private string Device(string name, int minor)
    {
        var path = Path.Combine(_dir, name);
        Tool("mknod", path, "c", "1", minor.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return path;
    }

    private string Fifo(string name)
    {
        var path = Path.Combine(_dir, name);
        Tool("mkfifo", path);
        return path;
    }

    /// <summary><c>stat</c>'s description of the file type, e.g. "character special file", "fifo", "symbolic link".</summary>
    private static string FileType(string path) => Tool("stat", "-c", "%F", path).Trim();

    /// <summary>The files in the folder other than <paramref name="keep"/>: temporaries a run must not leave.</summary>
    private string[] Others(params string[] keep) =>
        [.. Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Where(f => !keep.Contains(f)).Select(f => f!)];

    /// <summary>Runs the CLI with <paramref name="stdin"/> fed into its standard input (a pipe), stdout as bytes.</summary>
    private (int ExitCode, byte[] Stdout, string Stderr) RunPiped(byte[]? stdin, TimeSpan timeout, params string[] args)
    {
        var info = CliProcess.StartInfo(_dir, args);
        info.RedirectStandardInput = stdin is not null;
        using var process = Process.Start(info)!;
        var stdout = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            _ = Task.Run(() =>
            {
                try
                {
                    process.StandardInput.BaseStream.Write(stdin);
                    process.StandardInput.Close();
                }
                catch (IOException)
                {
                    // The CLI may stop reading early (an error); what it did is what the test checks.
                }
            });
        }

        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"nativealign {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s: {stderr.Result}");
        }

        copy.Wait();
        return (process.ExitCode, stdout.ToArray(), stderr.Result);
    }

    private static void AssertOneLine(string stderr, int exitCode, int actual, params string[] mentions)
    {
        Assert.Multiple(() =>
        {
            Assert.That(actual, Is.EqualTo(exitCode), stderr);
            Assert.That(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(1), stderr);
            Assert.That(stderr, Does.Not.Contain("   at "), "no stack trace");
            foreach (var m in mentions)
            {
                Assert.That(stderr, Does.Contain(m));
            }
        });
    }

    private const string Sentences = "A cat sits on the mat.\nThe weather is nice today.\n\nTrains run along the river.\n";

    // ---- item 2: input from a pipe, a FIFO, an endless device; '-' for stdin and stdout ----

    [Test]
    public void EmbedFromAPipeEqualsEmbedFromAFile()
    {
        var input = Write("in.txt", Sentences);
        var fromFile = CliProcess.Run(_dir, "embed", "--model", Model, "--input", input, "--output", Path.Combine(_dir, "file.npy"), "--quiet");
        Assert.That(fromFile.ExitCode, Is.EqualTo(0), fromFile.Stderr);
        var piped = RunPiped(Encoding.UTF8.GetBytes(Sentences), TimeSpan.FromMinutes(2), "embed", "--model", Model, "--input", "-", "--output", Path.Combine(_dir, "pipe.npy"), "--quiet");
        Assert.That(piped.ExitCode, Is.EqualTo(0), piped.Stderr);
        Assert.That(File.ReadAllBytes(Path.Combine(_dir, "pipe.npy")), Is.EqualTo(File.ReadAllBytes(Path.Combine(_dir, "file.npy"))), "the same 4 rows, bit for bit");
    }

    [Test]
    public void EmbedFromAFifoEqualsEmbedFromAFile()
    {
        var input = Write("in.txt", Sentences);
        var fifo = Fifo("in.fifo");
        var fromFile = CliProcess.Run(_dir, "embed", "--model", Model, "--input", input, "--output", Path.Combine(_dir, "file.npy"), "--quiet");
        Assert.That(fromFile.ExitCode, Is.EqualTo(0), fromFile.Stderr);
        var writer = Task.Run(() => File.WriteAllText(fifo, Sentences, new UTF8Encoding(false)));
        var fromFifo = CliProcess.Run(_dir, "embed", "--model", Model, "--input", fifo, "--output", Path.Combine(_dir, "fifo.npy"), "--quiet");
        Assert.That(fromFifo.ExitCode, Is.EqualTo(0), fromFifo.Stderr);
        Assert.That(writer.Wait(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(File.ReadAllBytes(Path.Combine(_dir, "fifo.npy")), Is.EqualTo(File.ReadAllBytes(Path.Combine(_dir, "file.npy"))));
        Assert.That(FileType(fifo), Is.EqualTo("fifo"));
    }

    [Test]
    public void MineFromAPipeEqualsMineFromAFile()
    {
        const string source = "A cat sits on the mat.\nTrains run along the river.\nI like green tea.\n";
        var src = Write("src.txt", source);
        var tgt = Write("tgt.txt", "I enjoy green tea.\nA train runs by the river.\nThe cat is on the mat.\nStocks fell today.\n");
        var fromFile = CliProcess.Run(_dir, "mine", "--model", Model, "--src", src, "--tgt", tgt, "--output", Path.Combine(_dir, "file.tsv"), "--quiet", "--indices");
        Assert.That(fromFile.ExitCode, Is.EqualTo(0), fromFile.Stderr);
        var piped = RunPiped(Encoding.UTF8.GetBytes(source), TimeSpan.FromMinutes(2), "mine", "--model", Model, "--src", "-", "--tgt", tgt, "--output", Path.Combine(_dir, "pipe.tsv"), "--quiet", "--indices");
        Assert.That(piped.ExitCode, Is.EqualTo(0), piped.Stderr);
        var expected = File.ReadAllText(Path.Combine(_dir, "file.tsv"));
        Assert.That(expected.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(3), "three pairs mined");
        Assert.That(File.ReadAllText(Path.Combine(_dir, "pipe.tsv")), Is.EqualTo(expected));
        Assert.That(Others("src.txt", "tgt.txt", "file.tsv", "pipe.tsv"), Is.Empty, "the spilled copy of the piped source is gone");
    }

    [Test]
    public void EndlessLineFromACharacterDeviceIsAnInputError()
    {
        var zero = Device("zero", 5);
        var watch = Stopwatch.StartNew();
        var result = RunPiped(null, TimeSpan.FromSeconds(60), "embed", "--model", Model, "--input", zero, "--output", Path.Combine(_dir, "out.npy"));
        AssertOneLine(result.Stderr, 3, result.ExitCode, $"{zero}:1:", "longer than");
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "the line cap ends the run promptly");
        Assert.That(Others("zero"), Is.Empty);
    }

    [Test]
    public void DashWritesOnlyDataToStandardOutput()
    {
        var input = Write("in.txt", Sentences);
        var tokenizeFile = CliProcess.Run(_dir, "tokenize", "--model", TestPaths.DefaultTokenizerJson(), "--input", input, "--output", Path.Combine(_dir, "t.jsonl"));
        Assert.That(tokenizeFile.ExitCode, Is.EqualTo(0), tokenizeFile.Stderr);
        var tokenizeDash = RunPiped(Encoding.UTF8.GetBytes(Sentences), TimeSpan.FromMinutes(2), "tokenize", "--model", TestPaths.DefaultTokenizerJson(), "-i", "-", "-o", "-");
        Assert.That(tokenizeDash.ExitCode, Is.EqualTo(0), tokenizeDash.Stderr);
        Assert.That(tokenizeDash.Stdout, Is.EqualTo(File.ReadAllBytes(Path.Combine(_dir, "t.jsonl"))));

        // A .npy on a pipe cannot have its header rewritten at the end; the rows must still come out whole.
        var embedFile = CliProcess.Run(_dir, "embed", "--model", Model, "--input", input, "--output", Path.Combine(_dir, "e.npy"));
        Assert.That(embedFile.ExitCode, Is.EqualTo(0), embedFile.Stderr);
        var embedDash = RunPiped(null, TimeSpan.FromMinutes(2), "embed", "--model", Model, "--input", input, "--output", "-");
        Assert.That(embedDash.ExitCode, Is.EqualTo(0), embedDash.Stderr);
        Assert.That(embedDash.Stdout, Is.EqualTo(File.ReadAllBytes(Path.Combine(_dir, "e.npy"))));

        var parallel = Write("par.txt", "a cat sits ||| the cat sat\ngreen tea ||| tea green\n");
        var alignFile = CliProcess.Run(_dir, "align", "--model", Model, "--input", parallel, "--output", Path.Combine(_dir, "a.txt"));
        Assert.That(alignFile.ExitCode, Is.EqualTo(0), alignFile.Stderr);
        var alignDash = RunPiped(File.ReadAllBytes(parallel), TimeSpan.FromMinutes(2), "align", "--model", Model, "--input", "-", "--output", "-");
        Assert.That(alignDash.ExitCode, Is.EqualTo(0), alignDash.Stderr);
        Assert.That(Encoding.UTF8.GetString(alignDash.Stdout), Is.EqualTo(File.ReadAllText(Path.Combine(_dir, "a.txt"))));

        var tgt = Write("tgt.txt", "The weather is fine today.\nA cat is on the mat.\n");
        var mineFile = CliProcess.Run(_dir, "mine", "--model", Model, "--src", input, "--tgt", tgt, "--output", Path.Combine(_dir, "m.tsv"), "--quiet");
        Assert.That(mineFile.ExitCode, Is.EqualTo(0), mineFile.Stderr);
        var mineDash = RunPiped(null, TimeSpan.FromMinutes(2), "mine", "--model", Model, "--src", input, "--tgt", tgt, "--output", "-", "--quiet");
        Assert.That(mineDash.ExitCode, Is.EqualTo(0), mineDash.Stderr);
        Assert.That(Encoding.UTF8.GetString(mineDash.Stdout), Is.EqualTo(File.ReadAllText(Path.Combine(_dir, "m.tsv"))));
        Assert.That(Others("in.txt", "t.jsonl", "e.npy", "par.txt", "a.txt", "tgt.txt", "m.tsv"), Is.Empty, "no file named '-'");
    }

    // ---- item 3: special files as outputs ----

    [Test]
    public void OutputToACharacterDeviceWritesThroughIt()
    {
        var input = Write("in.txt", Sentences);
        var nul = Device("null", 3);
        var result = CliProcess.Run(_dir, "tokenize", "--model", TestPaths.DefaultTokenizerJson(), "--input", input, "--output", nul);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        Assert.That(FileType(nul), Is.EqualTo("character special file"), "the device is still a device");
        Assert.That(Others("in.txt", "null"), Is.Empty, "no temporary beside it");
    }

    [Test]
    public void OutputToAFifoStreamsThroughIt()
    {
        var input = Write("in.txt", Sentences);
        var expected = CliProcess.Run(_dir, "tokenize", "--model", TestPaths.DefaultTokenizerJson(), "--input", input, "--output", Path.Combine(_dir, "plain.jsonl"));
        Assert.That(expected.ExitCode, Is.EqualTo(0), expected.Stderr);
        var fifo = Fifo("out.fifo");
        var reader = Task.Run(() => File.ReadAllBytes(fifo));
        var result = CliProcess.Run(_dir, "tokenize", "--model", TestPaths.DefaultTokenizerJson(), "--input", input, "--output", fifo);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        Assert.That(reader.Wait(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(reader.Result, Is.EqualTo(File.ReadAllBytes(Path.Combine(_dir, "plain.jsonl"))));
        Assert.That(FileType(fifo), Is.EqualTo("fifo"));
    }

    [Test]
    public void OutputThroughASymlinkReplacesItsTarget()
    {
        var input = Write("in.txt", Sentences);
        Directory.CreateDirectory(Path.Combine(_dir, "real"));
        var target = Path.Combine(_dir, "real", "out.jsonl");
        File.WriteAllText(target, "old\n");
        var link = Path.Combine(_dir, "link.jsonl");
        File.CreateSymbolicLink(link, target);
        var result = CliProcess.Run(_dir, "tokenize", "--model", TestPaths.DefaultTokenizerJson(), "--input", input, "--output", link);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        Assert.That(FileType(link), Is.EqualTo("symbolic link"), "the link is kept");
        Assert.That(new FileInfo(link).LinkTarget, Is.EqualTo(target));
        var lines = File.ReadAllLines(target);
        Assert.That(lines, Has.Length.EqualTo(4));
        Assert.That(JsonDocument.Parse(lines[0]).RootElement.GetProperty("tokens")[1].GetString(), Is.EqualTo("a"));
        Assert.That(Directory.GetFiles(Path.Combine(_dir, "real")).Select(Path.GetFileName), Is.EqualTo(new[] { "out.jsonl" }), "no temporary left beside the target");
    }

    // ---- item 6: a full disk ----

    [Test]
    public void FullDeviceIsAnOutputErrorNamingThePath()
    {
        var input = Write("in.txt", Sentences);
        var full = Device("full", 7);
        var result = CliProcess.Run(_dir, "tokenize", "--model", TestPaths.DefaultTokenizerJson(), "--input", input, "--output", full);
        AssertOneLine(result.Stderr, 3, result.ExitCode, full, "cannot write");
        Assert.That(FileType(full), Is.EqualTo("character special file"));
        Assert.That(Others("in.txt", "full"), Is.Empty);
    }

    /// <summary>
    /// The rename path on a file system that refuses more data: RLIMIT_FSIZE (prlimit) makes the write into the
    /// temporary fail with EFBIG exactly as a full disk fails it with ENOSPC — the same <c>write</c> error through the
    /// same code — with SIGXFSZ ignored (by the shell, inherited across exec) so the kernel reports the error instead of
    /// killing the process. (.NET reports EFBIG as an ArgumentOutOfRangeException, ENOSPC as an IOException; both must
    /// become the typed error.) The runtime's W^X double mapping sizes a memory file with ftruncate, which the limit
    /// would refuse at start-up, so it is turned off for the child. The old output must survive and no temporary may stay.
    /// </summary>
    [TestCase("tokenize")]
    [TestCase("embed")]
    public void WriteFailureDuringTheTemporaryKeepsTheOldFile(string command)
    {
        var input = Write("in.txt", string.Concat(Enumerable.Range(0, 3000).Select(i => $"Line {i} of a file whose output is larger than the limit.\n")));
        var output = Write(command == "embed" ? "out.npy" : "out.jsonl", "the old output\n");
        var args = command == "embed"
            ? new[] { "embed", "--model", Model, "--input", input, "--output", output, "--quiet" }
            : new[] { "tokenize", "--model", TestPaths.DefaultTokenizerJson(), "--input", input, "--output", output };
        var info = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _dir };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("trap '' XFSZ; exec prlimit --fsize=65536 \"$@\"");
        info.ArgumentList.Add("sh");
        info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(CliProcess.CliDll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["DOTNET_EnableWriteXorExecute"] = "0";
        info.Environment.Remove("NATIVEALIGN_DEBUG");
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.That(process.WaitForExit(TimeSpan.FromMinutes(3)), Is.True);
        AssertOneLine(stderr.Result, 3, process.ExitCode, output, "cannot write");
        Assert.That(File.ReadAllText(output), Is.EqualTo("the old output\n"), "the old file is intact");
        Assert.That(Others("in.txt", Path.GetFileName(output)), Is.Empty, "the temporary was removed");
    }

    // ---- item 8: the output is an input ----

    [Test]
    public void OutputThatIsAnInputIsAUsageError()
    {
        var input = Write("in.txt", Sentences);
        var link = Path.Combine(_dir, "alias.txt");
        File.CreateSymbolicLink(link, input);
        var tokenize = CliProcess.Run(_dir, "tokenize", "--model", TestPaths.DefaultTokenizerJson(), "--input", input, "--output", link);
        AssertOneLine(tokenize.Stderr, 2, tokenize.ExitCode, link, input);
        var embed = CliProcess.Run(_dir, "embed", "--model", Model, "--input", input, "--output", input);
        AssertOneLine(embed.Stderr, 2, embed.ExitCode, input);
        var tgt = Write("tgt.txt", Sentences);
        var align = CliProcess.Run(_dir, "align", "--model", Model, "--src", input, "--tgt", tgt, "--output", input);
        AssertOneLine(align.Stderr, 2, align.ExitCode, input);
        var mine = CliProcess.Run(_dir, "mine", "--model", Model, "--src", input, "--tgt", tgt, "--output", tgt);
        AssertOneLine(mine.Stderr, 2, mine.ExitCode, tgt);
        Assert.That(File.ReadAllText(input), Is.EqualTo(Sentences));
        Assert.That(File.ReadAllText(tgt), Is.EqualTo(Sentences));
    }

    [Test]
    public void OutputThatIsAModelFileIsAUsageError()
    {
        // A copy of the model's small files (the weights folder linked, never written): the output names its tokenizer.
        var model = Path.Combine(_dir, "model");
        Directory.CreateDirectory(model);
        foreach (var file in Directory.GetFiles(Model))
        {
            File.Copy(file, Path.Combine(model, Path.GetFileName(file)));
        }

        Directory.CreateSymbolicLink(Path.Combine(model, "onnx"), Path.Combine(Model, "onnx"));
        var tokenizer = Path.Combine(model, "tokenizer.json");
        var before = File.ReadAllBytes(tokenizer);
        var input = Write("in.txt", Sentences);
        var tokenize = CliProcess.Run(_dir, "tokenize", "--model", tokenizer, "--input", input, "--output", tokenizer);
        AssertOneLine(tokenize.Stderr, 2, tokenize.ExitCode, tokenizer);
        var embed = CliProcess.Run(_dir, "embed", "--model", model, "--input", input, "--output", tokenizer);
        AssertOneLine(embed.Stderr, 2, embed.ExitCode, tokenizer);
        Assert.That(File.ReadAllBytes(tokenizer), Is.EqualTo(before));
    }
}
