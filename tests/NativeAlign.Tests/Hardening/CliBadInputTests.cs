using System.Text;
using System.Text.Json;
using NativeAlign.IO;
using NativeAlign.Tests.Tokenizers;

namespace NativeAlign.Tests.Hardening;

/// <summary>
/// The real CLI, run as a child process, on bad input: each failure gives exactly one line on stderr naming the file
/// (and the line where there is one), no stack trace, and the documented exit code (1 parser usage, 2 usage, 3 input,
/// 4 model, 70 internal). Inputs that are odd but legal (BOM, CRLF, invalid UTF-8, a 1 MB line, an empty file) are
/// tokenized exactly as @huggingface/tokenizers tokenizes the same file.
/// </summary>
public sealed class CliBadInputTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("na-cli-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Exactly one stderr line, mentioning every one of <paramref name="mentions"/>, and no stack trace.</summary>
    private static void AssertOneLineError(CliProcess.Result result, int exitCode, params string[] mentions)
    {
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(exitCode), result.Stderr);
            Assert.That(result.ErrorLines, Has.Length.EqualTo(1), result.Stderr);
            Assert.That(result.Stderr, Does.Not.Contain("   at "), "no stack trace");
            foreach (var m in mentions)
            {
                Assert.That(result.Stderr, Does.Contain(m));
            }
        });
    }

    private string Model => TestPaths.DefaultTokenizerJson();

    [Test]
    public void MissingInputFile()
    {
        var missing = Path.Combine(_dir, "nope.txt");
        AssertOneLineError(CliProcess.Run(_dir, "tokenize", "--model", Model, "--input", missing), 3, missing, "no such file");
    }

    [Test]
    public void DirectoryInsteadOfInputFile()
    {
        AssertOneLineError(CliProcess.Run(_dir, "tokenize", "--model", Model, "--input", _dir), 3, _dir, "directory");
    }

    [Test]
    public void UnreadableInputFile()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("POSIX file modes do not exist on Windows");
            return;
        }

        var path = Write("secret.txt", "hello\n"u8.ToArray());
        var readable = Write("open.txt", "hello\n"u8.ToArray());
        File.SetUnixFileMode(path, UnixFileMode.None);
        string? asUser = null;
        if (CanRead(path))
        {
            // Root (CI) reads a mode-000 file anyway, so the run drops to an unprivileged user, as a real one would be.
            asUser = CliProcess.UnprivilegedUserRunner ?? throw new IgnoreException("running as root without setpriv: no user for whom a file can be unreadable");

            // The folder must be enterable for that user, or the error would be about the folder rather than the file.
            File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

            // The unprivileged CLI must work on a readable file, so the failure below can only come from EACCES.
            var control = CliProcess.RunAs(_dir, asUser, "tokenize", "--model", Model, "--input", readable);
            Assert.That(control.ExitCode, Is.EqualTo(0), "the CLI must run for the unprivileged user: " + control.Stderr);
        }

        AssertOneLineError(CliProcess.RunAs(_dir, asUser, "tokenize", "--model", Model, "--input", path), 3, path, "cannot read");
    }

    private static bool CanRead(string path)
    {
        try
        {
            using (File.OpenRead(path))
            {
            }

            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    [Test]
    public void EmptyInputGivesAnEmptyOutputFile()
    {
        var input = Write("empty.txt", []);
        var output = Path.Combine(_dir, "out.jsonl");
        var result = CliProcess.Run(_dir, "tokenize", "--model", Model, "--input", input, "--output", output);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        Assert.That(result.Stderr, Is.Empty);
        Assert.That(new FileInfo(output).Length, Is.EqualTo(0), "no input line, no output line");
    }

    [Test]
    public void MissingModel()
    {
        var input = Write("in.txt", "hello\n"u8.ToArray());
        var model = Path.Combine(_dir, "no-model");
        AssertOneLineError(CliProcess.Run(_dir, "tokenize", "--model", model, "--input", input), 4, model);
    }

    [Test]
    public void CorruptModel()
    {
        var input = Write("in.txt", "hello\n"u8.ToArray());
        var bytes = File.ReadAllBytes(Model);
        var model = Write("tokenizer.json", bytes[..(bytes.Length / 2)]);
        AssertOneLineError(CliProcess.Run(_dir, "tokenize", "--model", model, "--input", input), 4, model, "not valid JSON");
    }

    [Test]
    public void MalformedModelFieldIsNamed()
    {
        var input = Write("in.txt", "hello\n"u8.ToArray());
        var model = Write("tokenizer.json", "{\n\"model\":\n{\"type\": \"WordPiece\",\n\"vocab\": {\"a\": 0},\n\"unk_token\": \"[UNK]\"}\n}\n"u8.ToArray());
        AssertOneLineError(CliProcess.Run(_dir, "tokenize", "--model", model, "--input", input), 4, model, "model.unk_token");
    }

    [Test]
    public void OutputInAMissingDirectory()
    {
        var input = Write("in.txt", "hello\n"u8.ToArray());
        var output = Path.Combine(_dir, "missing", "out.jsonl");
        AssertOneLineError(CliProcess.Run(_dir, "tokenize", "--model", Model, "--input", input, "--output", output), 3, output, "does not exist");
    }

    [Test]
    public void OutputIsADirectory()
    {
        var input = Write("in.txt", "hello\n"u8.ToArray());
        AssertOneLineError(CliProcess.Run(_dir, "tokenize", "--model", Model, "--input", input, "--output", _dir), 3, _dir, "directory");
    }

    [Test]
    public void BadOptionValueIsAUsageError()
    {
        var input = Write("in.txt", "hello\n"u8.ToArray());
        AssertOneLineError(CliProcess.Run(_dir, "tokenize", "--model", Model, "--input", input, "--max-length", "-5"), 2, "--max-length");
    }

    [Test]
    public void UnknownOptionIsAParserError()
    {
        var result = CliProcess.Run(_dir, "tokenize", "--no-such-option");
        Assert.That(result.ExitCode, Is.EqualTo(1), result.Stderr);
        Assert.That(result.Stderr, Does.Contain("--no-such-option"));
        Assert.That(result.Stderr, Does.Not.Contain("   at "));
    }

    /// <summary>
    /// BOM, CRLF, invalid UTF-8 and a 1 MB line in one file: exit 0, one output line per input line with the peer's ids
    /// for the same file, and exactly one stderr line — the warning naming the file and the line with invalid UTF-8.
    /// </summary>
    [Test]
    public void BomCrlfInvalidUtf8AndAMegabyteLineMatchThePeer()
    {
        var bytes = new List<byte>();
        bytes.AddRange("\uFEFFHello, BOM and CRLF!\r\n"u8.ToArray());
        bytes.AddRange([(byte)'b', (byte)'a', (byte)'d', 0xC3, 0x28, (byte)' ', 0xFF, (byte)'\r', (byte)'\n']);
        bytes.AddRange(Encoding.UTF8.GetBytes(string.Join(' ', Enumerable.Repeat("desafortunadísimamente", 45_000)) + "\r\n"));
        bytes.AddRange("last line, no newline"u8.ToArray());
        var input = Write("in.txt", bytes.ToArray());
        Assert.That(bytes.Count, Is.GreaterThan(1 << 20), "the long line must be over 1 MB");
        var output = Path.Combine(_dir, "out.jsonl");
        var result = CliProcess.Run(_dir, "tokenize", "--model", Model, "--input", input, "--output", output, "--max-length", "0");
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        Assert.That(result.ErrorLines, Has.Length.EqualTo(1), result.Stderr);
        Assert.That(result.Stderr, Does.Contain($"{input}:2:").And.Contain("invalid UTF-8"));

        var peer = PeerTokenizer.Run(Model, input, jsonStrings: false);
        var ours = File.ReadAllLines(output);
        Assert.That(ours, Has.Length.EqualTo(4));
        Assert.That(peer, Has.Count.EqualTo(4));
        for (int i = 0; i < ours.Length; i++)
        {
            using var doc = JsonDocument.Parse(ours[i]);
            Assert.That(doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()), Is.EqualTo(peer[i].Ids), $"line {i + 1}");
        }
    }

    [Test]
    public void LineOverTheCapNamesFileAndLine()
    {
        var bytes = Encoding.UTF8.GetBytes("short\n" + new string('x', 5000) + "\nafter\n");
        using var reader = new Utf8LineReader(new MemoryStream(bytes), "big.txt", maxLineBytes: 1000);
        // The line fits the reader's first buffer; the cap must hold all the same.
        Assert.That(reader.TryReadLine(out _), Is.True);
        var e = Assert.Throws<InputFormatException>(() => reader.TryReadLine(out _));
        Assert.That(e!.Line, Is.EqualTo(2));
        Assert.That(e.Message, Does.StartWith("big.txt:2:"));
    }

    [Test]
    public void EvalAerWithMismatchedGoldAndPredictions()
    {
        var gold = Write("gold.txt", "0-0 1-1\n0-0\n1-1\n"u8.ToArray());
        var pred = Write("pred.txt", "0-0 1-1\n0-0\n"u8.ToArray());
        AssertOneLineError(CliProcess.Run(_dir, "eval", "aer", "--gold", gold, "--pred", pred), 3, pred, "2 sentence lines", "3");
    }

    [Test]
    public void EvalAerWithMismatchedParallelText()
    {
        var gold = Write("gold.txt", "0-0 1-1\n0-0\n"u8.ToArray());
        var text = Write("text.txt", "a b ||| c d\n"u8.ToArray());
        AssertOneLineError(CliProcess.Run(_dir, "eval", "aer", "--gold", gold, "--pred", gold, "--text", text), 3, gold, text);
    }

    [Test]
    public void EvalAerNamesTheMalformedLine()
    {
        var gold = Write("gold.txt", "0-0 1-1\n0-0\n"u8.ToArray());
        var pred = Write("pred.txt", "0-0 1-1\n0~0\n"u8.ToArray());
        AssertOneLineError(CliProcess.Run(_dir, "eval", "aer", "--gold", gold, "--pred", pred), 3, $"{pred}:2:", "0~0");
    }

    [Test]
    public void EvalAerWithADirectoryAsGold()
    {
        var pred = Write("pred.txt", "0-0\n"u8.ToArray());
        AssertOneLineError(CliProcess.Run(_dir, "eval", "aer", "--gold", _dir, "--pred", pred), 3, _dir, "directory");
    }

    [Test]
    public void EvalAerWithCrlfAndBomScoresAsPlain()
    {
        // The same alignments with BOM + CRLF must score exactly as the plain file (same counts of links).
        var plain = Write("plain.txt", "0-0 1-1 2p2\n0-1\n"u8.ToArray());
        var crlf = Write("crlf.txt", "\uFEFF0-0 1-1 2p2\r\n0-1\r\n"u8.ToArray());
        var a = CliProcess.Run(_dir, "eval", "aer", "--gold", plain, "--pred", plain, "--json");
        var b = CliProcess.Run(_dir, "eval", "aer", "--gold", crlf, "--pred", crlf, "--json");
        Assert.That(a.ExitCode, Is.EqualTo(0), a.Stderr);
        Assert.That(b.ExitCode, Is.EqualTo(0), b.Stderr);
        using var doc = JsonDocument.Parse(b.Stdout);
        Assert.That(doc.RootElement.GetProperty("predicted").GetInt64(), Is.EqualTo(4));
        Assert.That(doc.RootElement.GetProperty("sure").GetInt64(), Is.EqualTo(3));
        Assert.That(b.Stdout, Is.EqualTo(a.Stdout));
    }

    [Test]
    public void EmbedWithADirectoryAsInput()
    {
        AssertOneLineError(CliProcess.Run(_dir, "embed", "--model", IO.LoadingTestSupport.RequireDefaultModel(), "--input", _dir, "--output", Path.Combine(_dir, "o.npy")), 3, _dir, "directory");
    }

    [Test]
    public void EmbedWithAMissingModel()
    {
        var input = Write("in.txt", "hello\n"u8.ToArray());
        var model = Path.Combine(_dir, "no-model");
        AssertOneLineError(CliProcess.Run(_dir, "embed", "--model", model, "--input", input, "--output", Path.Combine(_dir, "o.npy")), 4, model);
    }
}

