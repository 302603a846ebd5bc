using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace NativeAlign.Tests.Alignment;

/// <summary>Runs a committed peer script with Debian's python (numpy, scipy, POT) and returns its JSON answer.</summary>
internal static class PythonPeer
{
    public const string Python = "/usr/bin/python3";

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NativeAlign.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("repository root (NativeAlign.sln) not found above the test directory");
        }
    }

    public static string Script(string name) => Path.Combine(RepoRoot, "tests", "NativeAlign.Tests", "Alignment", "peers", name);

    /// <summary>Runs <paramref name="script"/> with <paramref name="input"/> on stdin; a missing interpreter ignores the test, any peer failure fails it.</summary>
    public static JsonDocument Run(string script, string input, params string[] args)
    {
        if (!File.Exists(Python))
        {
            Assert.Ignore($"{Python} is absent on this machine, so the peer cannot run");
        }

        var psi = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        psi.ArgumentList.Add(Script(script));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var proc = Process.Start(psi)!;
        var stdoutTask = proc.StandardOutput.ReadToEndAsync();
        var stderrTask = proc.StandardError.ReadToEndAsync();
        proc.StandardInput.Write(input);
        proc.StandardInput.Close();
        proc.WaitForExit();
        var stdout = stdoutTask.Result;
        var stderr = stderrTask.Result;
        Assert.That(proc.ExitCode, Is.EqualTo(0), $"peer {script} failed: {stderr}");
        return JsonDocument.Parse(stdout);
    }

    public static string Json(Action<Utf8JsonWriter> write)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            write(w);
        }

        return Encoding.UTF8.GetString(ms.ToArray());
    }

    public static void WriteMatrix(Utf8JsonWriter w, string name, ReadOnlySpan<float> data, int rows, int cols)
    {
        w.WriteStartArray(name);
        for (int i = 0; i < rows; i++)
        {
            w.WriteStartArray();
            for (int j = 0; j < cols; j++)
            {
                w.WriteNumberValue((double)data[(i * cols) + j]);
            }

            w.WriteEndArray();
        }

        w.WriteEndArray();
    }

    public static void WriteVector(Utf8JsonWriter w, string name, ReadOnlySpan<float> data)
    {
        w.WriteStartArray(name);
        foreach (var x in data)
        {
            w.WriteNumberValue((double)x);
        }

        w.WriteEndArray();
    }

    public static double[] Flatten(JsonElement matrix)
    {
        var list = new List<double>();
        if (matrix.ValueKind == JsonValueKind.Array)
        {
            foreach (var row in matrix.EnumerateArray())
            {
                if (row.ValueKind == JsonValueKind.Array)
                {
                    foreach (var x in row.EnumerateArray())
                    {
                        list.Add(x.GetDouble());
                    }
                }
                else
                {
                    list.Add(row.GetDouble());
                }
            }
        }

        return list.ToArray();
    }
}
