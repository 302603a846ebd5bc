using System.Diagnostics;
using System.Text;
using NativeAlign.Tests.Tokenizers;

namespace NativeAlign.Tests.Hardening;

/// <summary>
/// The real CLI as a child process: a signal reaches every command, inside a large batch (between encoder layers) and
/// during the final write (never exit 0 after a signal); and every command treats odd input the way the README says
/// (invalid UTF-8 replaced and reported once per file, blank lines never mined, empty alignments refused).
/// SIGTERM is used because a test runner started in the background of a shell may ignore SIGINT for its children.
/// </summary>
[NonParallelizable]
public sealed class CliSignalAndConsistencyTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("na-signal-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static string Model => NativeAlign.Tests.IO.LoadingTestSupport.RequireDefaultModel();

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    private string WriteBytes(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string[] Files() => [.. Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).Select(f => f!)];

    private string LongLines(string name, int count) =>
        Write(name, string.Concat(Enumerable.Range(0, count).Select(i => $"Sentence number {i} is long enough to take a little time to embed and align, déjà vu, 東京.\n")));

    /// <summary>Sends SIGTERM after <paramref name="after"/>; returns the exit code, stderr and the seconds from signal to exit.</summary>
    private static (int ExitCode, string Stderr, double StopSeconds) TerminateAfter(Process process, TimeSpan after)
    {
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        if (process.WaitForExit(after))
        {
            Assert.Fail($"the run finished before the signal (exit {process.ExitCode}): {stderr.Result}; make the input larger");
        }

        var watch = Stopwatch.StartNew();
        CliProcess.Signal(process.Id, 15);
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the run did not stop within two minutes of SIGTERM");
        }

        return (process.ExitCode, stderr.Result, watch.Elapsed.TotalSeconds);
    }

    // ---- item 14: signals ----

    /// <summary>
    /// One batch of 2,000 lines (--batch-tokens 1000000 puts them all in one) takes tens of seconds on the default model
    /// here; a signal 4 s in must stop the run at the next encoder layer, a sixth of the batch, not at its end.
    /// </summary>
    [Test]
    public void SigtermInsideOneHugeBatchStopsAtTheNextLayer()
    {
        var input = LongLines("in.txt", 2000);
        var output = Path.Combine(_dir, "out.npy");
        using var process = Process.Start(CliProcess.StartInfo(_dir, "embed", "--model", Model, "--input", input, "--output", output, "--batch-tokens", "1000000", "--quiet"))!;
        var (exit, stderr, stop) = TerminateAfter(process, TimeSpan.FromSeconds(4));
        Assert.That(exit, Is.EqualTo(130), stderr);
        Assert.That(stop, Is.LessThan(6.0), "stopped within about one layer of the batch");
        Assert.That(Files(), Is.EqualTo(new[] { "in.txt" }), "nothing written");
    }

    [TestCase("align")]
    [TestCase("search")]
    [TestCase("analyze")]
    public void SigtermReachesEveryCommand(string command)
    {
        var src = LongLines("src.txt", 1500);
        var tgt = LongLines("tgt.txt", 1500);
        string[] args = command switch
        {
            "align" => ["align", "--model", Model, "--src", src, "--tgt", tgt, "--output", Path.Combine(_dir, "out.txt"), "--method", "ot"],
            "search" => ["search", "--model", Model, "--query", src, "--corpus", tgt, "--output", Path.Combine(_dir, "out.txt")],
            _ => ["analyze", "--model", Model, "--src", src, "--tgt", tgt],
        };
        using var process = Process.Start(CliProcess.StartInfo(_dir, args))!;
        var (exit, stderr, stop) = TerminateAfter(process, TimeSpan.FromSeconds(4));
        Assert.That(exit, Is.EqualTo(130), stderr);
        Assert.That(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(1), stderr);
        Assert.That(stop, Is.LessThan(20.0));
        Assert.That(Files(), Is.EqualTo(new[] { "src.txt", "tgt.txt" }));
    }

    /// <summary>
    /// mine writes its output to a FIFO, whose open blocks until a reader comes: the run is held at its final write,
    /// where the signal arrives; once the reader comes the run must end with 130, not 0.
    /// </summary>
    [Test]
    public void SignalDuringTheFinalWriteNeverExitsZero()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("FIFOs and /proc are Linux facilities");
        }

        var src = Write("src.txt", "A cat sits on the mat.\nI like green tea.\n");
        var tgt = Write("tgt.txt", "I enjoy green tea.\nThe cat is on the mat.\n");
        var fifo = Path.Combine(_dir, "out.fifo");
        using (var mk = Process.Start("mkfifo", [fifo]))
        {
            mk.WaitForExit();
            Assert.That(mk.ExitCode, Is.EqualTo(0));
        }

        using var process = Process.Start(CliProcess.StartInfo(_dir, "mine", "--model", Model, "--src", src, "--tgt", tgt, "--output", fifo, "--quiet"))!;
        var stderr = process.StandardError.ReadToEndAsync();
        var watch = Stopwatch.StartNew();
        while (!BlockedOpening(process.Id))
        {
            if (process.HasExited || watch.Elapsed > TimeSpan.FromMinutes(1))
            {
                Assert.Fail($"mine never blocked opening its FIFO output (exited: {process.HasExited}): {(process.HasExited ? stderr.Result : string.Empty)}");
            }

            Thread.Sleep(50);
        }

        CliProcess.Signal(process.Id, 15);
        Thread.Sleep(300);

        // Be the reader the open waits for. If the run gave up its write instead and exited, no writer will ever come
        // and the read would block for good, so a writer of our own releases it after a while.
        var reading = Task.Run(() => File.ReadAllText(fifo));
        if (!reading.Wait(TimeSpan.FromSeconds(30)))
        {
            using var release = new FileStream(fifo, FileMode.Open, FileAccess.Write);
        }

        var read = reading.Result;
        Assert.That(process.WaitForExit(TimeSpan.FromSeconds(60)), Is.True);
        Assert.That(process.ExitCode, Is.EqualTo(130), $"{stderr.Result}; read: {read}");
    }

    /// <summary>True when a thread of <paramref name="pid"/> has sat in openat (syscall 257 on x86-64, 56 on arm64) for 0.3 s.</summary>
    private static bool BlockedOpening(int pid)
    {
        string number = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "56 " : "257 ";
        bool InOpen()
        {
            try
            {
                return Directory.GetDirectories($"/proc/{pid}/task").Any(t => File.ReadAllText(Path.Combine(t, "syscall")).StartsWith(number, StringComparison.Ordinal));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        for (int i = 0; i < 3; i++)
        {
            if (!InOpen())
            {
                return false;
            }

            Thread.Sleep(100);
        }

        return true;
    }

    // ---- item 17: the same rules everywhere ----

    [Test]
    public void EmbedReplacesInvalidUtf8AsTokenizeDoes()
    {
        // The invalid bytes C3 28 decode to U+FFFD followed by '(' (WHATWG): the row must equal that text's row.
        var bad = WriteBytes("bad.txt", [.. "ok\nbad "u8.ToArray(), 0xC3, 0x28, .. " byte\n"u8.ToArray()]);
        var good = Write("good.txt", "ok\nbad \uFFFD( byte\n");
        var a = CliProcess.Run(_dir, "embed", "--model", Model, "--input", bad, "--output", Path.Combine(_dir, "bad.npy"), "--quiet");
        var b = CliProcess.Run(_dir, "embed", "--model", Model, "--input", good, "--output", Path.Combine(_dir, "good.npy"), "--quiet");
        Assert.That(a.ExitCode, Is.EqualTo(0), a.Stderr);
        Assert.That(b.ExitCode, Is.EqualTo(0), b.Stderr);
        Assert.That(a.ErrorLines, Has.Length.EqualTo(1), a.Stderr);
        Assert.That(a.Stderr, Does.Contain($"{bad}:2:").And.Contain("invalid UTF-8"));
        Assert.That(File.ReadAllBytes(Path.Combine(_dir, "bad.npy")), Is.EqualTo(File.ReadAllBytes(Path.Combine(_dir, "good.npy"))));
    }

    [Test]
    public void ManyInvalidLinesGiveOneWarningWithACount()
    {
        var input = WriteBytes("in.txt", [.. "fine\n"u8.ToArray(), 0xFF, (byte)'\n', .. "fine\n"u8.ToArray(), 0xFE, (byte)'\n', 0xC0, (byte)'\n']);
        var result = CliProcess.Run(_dir, "tokenize", "--model", TestPaths.DefaultTokenizerJson(), "--input", input, "--output", Path.Combine(_dir, "out.jsonl"));
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        Assert.That(result.ErrorLines, Has.Length.EqualTo(1), result.Stderr);
        Assert.That(result.Stderr, Does.Contain($"{input}:2:").And.Contain("3 lines"));
        Assert.That(File.ReadAllLines(Path.Combine(_dir, "out.jsonl")), Has.Length.EqualTo(5));
    }

    [Test]
    public void EvalAerOnEmptyAlignmentsIsAnInputError()
    {
        var gold = Write("gold.txt", string.Empty);
        var pred = Write("pred.txt", string.Empty);
        var result = CliProcess.Run(_dir, "eval", "aer", "--gold", gold, "--pred", pred);
        Assert.That(result.ExitCode, Is.EqualTo(3), result.Stdout + result.Stderr);
        Assert.That(result.ErrorLines, Has.Length.EqualTo(1), result.Stderr);
        Assert.That(result.Stderr, Does.Contain(gold));
        Assert.That(result.Stdout, Does.Not.Contain("aer"));

        // Lines but not a single link on either side: AER is 0/0 as well.
        var emptyLines = Write("lines.txt", "\n\n");
        var lines = CliProcess.Run(_dir, "eval", "aer", "--gold", emptyLines, "--pred", emptyLines);
        Assert.That(lines.ExitCode, Is.EqualTo(3), lines.Stdout + lines.Stderr);
    }

    [Test]
    public void BlankLinesAreNeverMined()
    {
        var src = Write("src.txt", "A cat sits on the mat.\n\n   \nI like green tea.\n");
        var tgt = Write("tgt.txt", "\nI enjoy green tea.\n\t\nThe cat is on the mat.\n");
        var output = Path.Combine(_dir, "out.tsv");
        var result = CliProcess.Run(_dir, "mine", "--model", Model, "--src", src, "--tgt", tgt, "--output", output, "--indices", "--quiet");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        var rows = File.ReadAllLines(output).Select(l => l.Split('\t')).ToArray();
        Assert.That(rows.Select(r => (r[3], r[4])), Is.EquivalentTo(new[] { ("1", "4"), ("4", "2") }), "only the two real pairs");
    }

    [Test]
    public void MapFitWarnsAboutUnknownDictionaryWords()
    {
        var src = LongLines("src.txt", 8);
        var tgt = Write("tgt.txt", string.Concat(Enumerable.Range(0, 8).Select(i => $"Another sentence {i} with other words.\n")));
        // 🦜 and 𓀀 are not in the default model's vocabulary: they tokenize to [UNK] alone.
        var dict = Write("dict.tsv", "cat\tchat\n🦜\tperroquet\ndog\t𓀀\ntea\tthé\n");
        var result = CliProcess.Run(_dir, "map", "fit", "--model", Model, "--src", src, "--tgt", tgt, "--dict", dict, "--output", Path.Combine(_dir, "map.npz"));
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        Assert.That(result.ErrorLines, Has.Length.EqualTo(1), result.Stderr);
        Assert.That(result.Stderr, Does.Contain("1 of 4 source words").And.Contain("1 of 4 target words").And.Contain("[UNK]"));
    }
}
