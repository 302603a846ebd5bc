using System.CommandLine;
using NativeAlign.Cli.Commands;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Models;

/// <summary><c>nativealign embed</c> end to end on the default model; the .npy is read back by NumPy (the peer reader).</summary>
[TestFixture]
public sealed class EmbedCommandTests
{
    [Test]
    public void NpyOutputIsReadableByNumPyWithOneUnitRowPerLine()
    {
        string model = LoadingTestSupport.RequireDefaultModel();
        string dir = Path.Combine(Path.GetTempPath(), "na-embed-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string input = Path.Combine(dir, "in.txt");
            File.WriteAllText(input, "A cat sits on the mat.\nStock markets fell sharply today.\n\nDer Hund schläft.\n");
            string output = Path.Combine(dir, "out.npy");
            var root = new RootCommand { EmbedCommand.Create() };
            int code = root.Parse(["embed", "--model", model, "--input", input, "--output", output, "--normalize"]).Invoke();
            Assert.That(code, Is.EqualTo(0));
            string check = "import numpy as np, sys\n" +
                "a = np.load(sys.argv[1])\n" +
                "print(a.dtype, a.shape[0], a.shape[1], ' '.join(f'{n:.6f}' for n in np.linalg.norm(a, axis=1)))\n";
            string script = Path.Combine(dir, "check.py");
            File.WriteAllText(script, check);
            var parts = LoadingTestSupport.RunPython(script, output).Trim().Split(' ');
            Assert.That(parts[0], Is.EqualTo("float32"));
            Assert.That(parts[1], Is.EqualTo("4"), "one row per input line, the empty line included");
            Assert.That(parts[2], Is.EqualTo("384"));
            foreach (var norm in parts[3..])
            {
                Assert.That(double.Parse(norm, System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(1.0).Within(1e-5));
            }

            Assert.That(Directory.GetFiles(dir, "*.tmp"), Is.Empty, "no temporary file left behind");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
