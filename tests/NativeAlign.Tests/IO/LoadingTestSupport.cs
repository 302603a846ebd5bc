using System.Diagnostics;

namespace NativeAlign.Tests.IO;

/// <summary>Paths and peer runners shared by the model-loading tests.</summary>
internal static class LoadingTestSupport
{
    public const string Python = "/usr/bin/python3";

    /// <summary>The repository root (the directory holding NativeAlign.sln), found from the test binaries upward.</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NativeAlign.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root above " + TestContext.CurrentContext.TestDirectory);
        }
    }

    public static string Fixtures => Path.Combine(RepoRoot, "tests", "NativeAlign.Tests", "IO", "Fixtures");

    public static string DefaultModel => Path.Combine(RepoRoot, "models", "all-MiniLM-L6-v2");

    /// <summary>Runs a Python peer script and returns its standard output; the peer's absence is an ignore, its failure a test failure.</summary>
    public static string RunPython(string script, params string[] args)
    {
        if (!File.Exists(Python))
        {
            Assert.Ignore($"{Python} (Debian's interpreter with numpy/onnx) is absent; the peer comparison cannot run");
        }

        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            Assert.Fail($"peer {script} failed ({process.ExitCode}): {stderr.Result}");
        }

        return stdout.Result;
    }

    /// <summary>The default model folder, or an ignore saying how to fetch it.</summary>
    public static string RequireDefaultModel()
    {
        var onnx = Path.Combine(DefaultModel, "onnx", "model_q4.onnx");
        if (!File.Exists(onnx))
        {
            Assert.Ignore($"the default model is not fetched ({onnx} missing); run scripts/setup.sh");
        }

        return DefaultModel;
    }
}
