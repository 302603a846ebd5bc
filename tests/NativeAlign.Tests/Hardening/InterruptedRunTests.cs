using System.Diagnostics;
using System.Text;
using NativeAlign.Tests.Tokenizers;

namespace NativeAlign.Tests.Hardening;

/// <summary>
/// <c>nativealign tokenize --output</c> interrupted mid-way, as a child process: SIGKILL leaves no output file and nothing
/// but a dot-temporary beside it, and the rerun deletes that temporary and writes the complete output; SIGINT (Ctrl-C)
/// and SIGTERM stop the run with exit 130, one line on stderr, and no file at all.
/// </summary>
[NonParallelizable]
public sealed class InterruptedRunTests
{
    private const int Lines = 400_000;
    private string _dir = null!;
    private string _input = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("na-kill-").FullName;
        _input = Path.Combine(_dir, "in.txt");
        using var writer = new StreamWriter(_input, false, new UTF8Encoding(false));
        for (int i = 0; i < Lines; i++)
        {
            writer.Write("Sentence number ");
            writer.Write(i);
            writer.WriteLine(" is long enough that tokenizing the whole file takes a few seconds, déjà vu, 東京.");
        }
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string[] Temporaries() => Directory.GetFiles(_dir, ".out.jsonl.*.tmp");

    /// <summary>Starts the run and waits until its temporary output holds data, i.e. the run is mid-way.</summary>
    private Process StartAndWaitForProgress(string output)
    {
        var process = Process.Start(CliProcess.StartInfo(_dir, "tokenize", "--model", TestPaths.DefaultTokenizerJson(), "--input", _input, "--output", output, "--threads", "1"))!;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromMinutes(1))
        {
            if (Temporaries().Any(t => new FileInfo(t).Length > 0))
            {
                return process;
            }

            if (process.HasExited)
            {
                Assert.Fail($"the run finished before it could be interrupted (exit {process.ExitCode}): {process.StandardError.ReadToEnd()}; make the input larger");
            }

            Thread.Sleep(20);
        }

        process.Kill();
        Assert.Fail("no temporary output appeared within a minute");
        return process;
    }

    [Test]
    public void SigkillLeavesNoPartialOutputAndTheRerunCompletes()
    {
        var output = Path.Combine(_dir, "out.jsonl");
        using (var process = StartAndWaitForProgress(output))
        {
            CliProcess.Signal(process.Id, 9);
            process.WaitForExit();
            Assert.That(process.ExitCode, Is.EqualTo(137), "killed by SIGKILL");
        }

        Assert.That(File.Exists(output), Is.False, "no output file after a killed run");
        var left = Directory.GetFiles(_dir).Select(Path.GetFileName).Where(f => f != "in.txt").ToArray();
        Assert.That(left, Is.Not.Empty);
        Assert.That(left.All(f => System.Text.RegularExpressions.Regex.IsMatch(f!, @"^\.out\.jsonl\.\d+\.[0-9a-f]{32}\.tmp$")), Is.True,
            "only the dot-temporary of the killed run may remain: " + string.Join(", ", left));

        var rerun = CliProcess.Run(_dir, "tokenize", "--model", TestPaths.DefaultTokenizerJson(), "--input", _input, "--output", output, "--threads", "1");
        Assert.That(rerun.ExitCode, Is.EqualTo(0), rerun.Stderr);
        Assert.That(Temporaries(), Is.Empty, "the rerun deletes the temporary its killed predecessor left");

        // Complete: one JSON object per input line, the last one being the last input line's.
        int count = 0;
        string last = string.Empty;
        foreach (var line in File.ReadLines(output))
        {
            count++;
            last = line;
        }

        Assert.That(count, Is.EqualTo(Lines));
        Assert.That(last, Does.StartWith("{\"ids\":[101,").And.EndWith("}"));
    }

    [TestCase(2, TestName = "SigintStopsCleanlyWithExit130")]
    [TestCase(15, TestName = "SigtermStopsCleanlyWithExit130")]
    public void SignalStopsCleanly(int signal)
    {
        var output = Path.Combine(_dir, "out.jsonl");
        using var process = StartAndWaitForProgress(output);
        var stderr = process.StandardError.ReadToEndAsync();
        var watch = Stopwatch.StartNew();
        CliProcess.Signal(process.Id, signal);
        Assert.That(process.WaitForExit(TimeSpan.FromSeconds(30)), Is.True, "the run must stop soon after the signal");
        TestContext.Out.WriteLine($"signal {signal}: stopped {watch.Elapsed.TotalMilliseconds:F0} ms after it");
        Assert.That(process.ExitCode, Is.EqualTo(130), stderr.Result);
        Assert.That(stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(1));
        Assert.That(stderr.Result, Does.Contain("cancelled"));
        Assert.That(File.Exists(output), Is.False, "nothing half-written");
        Assert.That(Temporaries(), Is.Empty, "the cancelled run deletes its own temporary");
    }
}

/// <summary>
/// <c>nativealign embed</c> interrupted mid-way as a child process (the default model, a few hundred lines, small
/// batches): SIGKILL leaves no output (at most the dot-temporary its rows were streaming into), the rerun removes that
/// and writes the complete .npy; SIGINT stops between batches with exit 130 and nothing written.
/// </summary>
[NonParallelizable]
public sealed class InterruptedEmbedTests
{
    private const int Lines = 600;
    private string _dir = null!;
    private string _input = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("na-kill-embed-").FullName;
        _input = Path.Combine(_dir, "in.txt");
        File.WriteAllLines(_input, Enumerable.Range(0, Lines).Select(i => $"Sentence number {i} is long enough to take a little time to embed, déjà vu, 東京."));
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string[] Args(string output) =>
        ["embed", "--model", NativeAlign.Tests.IO.LoadingTestSupport.RequireDefaultModel(), "--input", _input, "--output", output, "--batch-tokens", "512"];

    /// <summary>Starts embed and waits 1.5 s; the run must still be going (or the input is too small to interrupt).</summary>
    private Process StartMidway(string output)
    {
        var process = Process.Start(CliProcess.StartInfo(_dir, Args(output)))!;
        if (process.WaitForExit(TimeSpan.FromSeconds(1.5)))
        {
            Assert.Fail($"embed finished before it could be interrupted (exit {process.ExitCode}); make the input larger");
        }

        return process;
    }

    [Test]
    public void SigkillLeavesNothingAndTheRerunCompletes()
    {
        var output = Path.Combine(_dir, "out.npy");
        using (var process = StartMidway(output))
        {
            CliProcess.Signal(process.Id, 9);
            process.WaitForExit();
        }

        // embed streams its rows into the temporary as chunks finish, so a killed run may leave that dot-temporary
        // (never the output itself); the next run writing the same target removes it.
        Assert.That(File.Exists(output), Is.False, "no output file after a killed embed");
        var left = Directory.GetFiles(_dir).Select(Path.GetFileName).Where(f => f != "in.txt").ToArray();
        Assert.That(left.All(f => System.Text.RegularExpressions.Regex.IsMatch(f!, @"^\.out\.npy\.\d+\.[0-9a-f]{32}\.tmp$")), Is.True,
            "only the dot-temporary of the killed run may remain: " + string.Join(", ", left));
        var rerun = CliProcess.Run(_dir, Args(output));
        Assert.That(rerun.ExitCode, Is.EqualTo(0), rerun.Stderr);
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal), Is.EqualTo(new[] { "in.txt", "out.npy" }));

        // Complete: the .npy header declares every input line, and the data fills exactly that shape.
        var bytes = File.ReadAllBytes(output);
        int headerLength = bytes[8] | (bytes[9] << 8);
        var header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        var shape = System.Text.RegularExpressions.Regex.Match(header, @"'shape': \((\d+), (\d+)\)");
        Assert.That(shape.Success, Is.True, header);
        int rows = int.Parse(shape.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int columns = int.Parse(shape.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(rows, Is.EqualTo(Lines));
        Assert.That(bytes.Length, Is.EqualTo(10 + headerLength + 4L * rows * columns));
    }

    [Test]
    public void SigintStopsEmbedWithExit130()
    {
        var output = Path.Combine(_dir, "out.npy");
        using var process = StartMidway(output);
        var stderr = process.StandardError.ReadToEndAsync();
        CliProcess.Signal(process.Id, 2);
        Assert.That(process.WaitForExit(TimeSpan.FromSeconds(60)), Is.True, "embed must stop at the next batch");
        Assert.That(process.ExitCode, Is.EqualTo(130), stderr.Result);
        Assert.That(stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(1), stderr.Result);
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName), Is.EqualTo(new[] { "in.txt" }), "nothing written");
    }
}


/// <summary>
/// <c>nativealign mine</c> interrupted while it embeds the target into its spill file: the spill files are unlinked as
/// soon as they are open (visible only as deleted files among the process's descriptors, never in the folder), and
/// SIGINT ends the run with exit 130, one stderr line and nothing on disk; SIGKILL leaves nothing either.
/// </summary>
[NonParallelizable]
public sealed class InterruptedMineTests
{
    private string _dir = null!;
    private string _src = null!;
    private string _tgt = null!;

    [SetUp]
    public void SetUp()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("the test finds the spill files through /proc");
        }

        _dir = Directory.CreateTempSubdirectory("na-kill-mine-").FullName;
        _src = Path.Combine(_dir, "src.txt");
        _tgt = Path.Combine(_dir, "tgt.txt");
        File.WriteAllLines(_src, Enumerable.Range(0, 40).Select(i => $"Source sentence {i} about trains and rivers."));
        File.WriteAllLines(_tgt, Enumerable.Range(0, 3000).Select(i => $"Target sentence number {i} is long enough to take a little time to embed, déjà vu, 東京."));
    }

    [TearDown]
    public void TearDown()
    {
        if (_dir is not null)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>The spill files <paramref name="pid"/> holds open: descriptors whose target is a deleted <c>.out.tsv.*.tmp</c> in the folder.</summary>
    private string[] OpenSpills(int pid)
    {
        var found = new List<string>();
        try
        {
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            {
                var target = new FileInfo(fd).LinkTarget;
                if (target is not null && target.StartsWith(Path.Combine(_dir, ".out.tsv."), StringComparison.Ordinal))
                {
                    found.Add(target);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The process ended (or closed the descriptor) while we looked.
        }

        return [.. found];
    }

    /// <summary>Starts mine and waits until it is embedding the target into its spill file.</summary>
    private Process StartWhileSpillingTarget()
    {
        var process = Process.Start(CliProcess.StartInfo(_dir, "mine", "--model", NativeAlign.Tests.IO.LoadingTestSupport.RequireDefaultModel(), "--src", _src, "--tgt", _tgt, "--output", Path.Combine(_dir, "out.tsv"), "--quiet"))!;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromMinutes(1))
        {
            // A spill file has a name only between its creation and the unlink right after it; wait past that.
            var spills = OpenSpills(process.Id);
            if (spills.Any(s => s.Contains(".target.tmp", StringComparison.Ordinal)) && spills.All(s => s.EndsWith(" (deleted)", StringComparison.Ordinal)))
            {
                Assert.That(spills.Count(s => s.Contains(".source.tmp", StringComparison.Ordinal)), Is.EqualTo(1), "the source spill is still open: " + string.Join(", ", spills));
                Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal), Is.EqualTo(new[] { "src.txt", "tgt.txt" }), "no spill file is visible in the folder");
                return process;
            }

            if (process.HasExited)
            {
                Assert.Fail($"mine finished before its target spill was seen (exit {process.ExitCode}): {process.StandardError.ReadToEnd()}");
            }

            Thread.Sleep(20);
        }

        var seen = string.Join(", ", OpenSpills(process.Id));
        process.Kill();
        Assert.Fail("no unlinked target spill file appeared within a minute: " + seen);
        return process;
    }

    [Test]
    public void SigintDuringMineExits130AndLeavesNothing()
    {
        using var process = StartWhileSpillingTarget();
        var stderr = process.StandardError.ReadToEndAsync();
        CliProcess.Signal(process.Id, 2);
        Assert.That(process.WaitForExit(TimeSpan.FromSeconds(60)), Is.True, "mine must stop at the next batch");
        Assert.That(process.ExitCode, Is.EqualTo(130), stderr.Result);
        Assert.That(stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(1), stderr.Result);
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal), Is.EqualTo(new[] { "src.txt", "tgt.txt" }), "no output, no temporary, no spill");
    }

    [Test]
    public void SigkillDuringMineLeavesNothing()
    {
        using var process = StartWhileSpillingTarget();
        CliProcess.Signal(process.Id, 9);
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.EqualTo(137), "killed by SIGKILL");
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal), Is.EqualTo(new[] { "src.txt", "tgt.txt" }), "spill files die with the process");
    }
}
