using System.Diagnostics;
using NativeAlign.Tests.IO;

namespace NativeAlign.Tests.Cli;

/// <summary>
/// The <c>./nativealign</c> launcher serialises its first-use setup and build with <c>flock</c> on descriptor 9. A
/// build starts servers (the compiler server, MSBuild nodes) that outlive it; if they inherit descriptor 9 they hold
/// the lock while they live and every later launch waits. The launcher runs here, copied into a temporary repository
/// layout, with a stand-in <c>dotnet</c> whose <c>build</c> leaves such a long-lived child behind exactly as the real
/// one does (a background process inheriting every open descriptor), so the test costs a few shell processes.
/// </summary>
[TestFixture]
public sealed class LauncherLockTests
{
    private string _root = null!;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("na-launcher-").FullName;

    [TearDown]
    public void TearDown()
    {
        string pids = Path.Combine(_root, "server.pids");
        if (File.Exists(pids))
        {
            foreach (var line in File.ReadAllLines(pids))
            {
                try
                {
                    using var server = Process.GetProcessById(int.Parse(line, System.Globalization.CultureInfo.InvariantCulture));
                    server.Kill();
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    // Already gone.
                }
            }
        }

        Directory.Delete(_root, recursive: true);
    }

    private const string FakeDotnet = """
        #!/usr/bin/env bash
        # Stand-in for dotnet: `build ... -o DIR` writes DIR/NativeAlign.Cli.dll and leaves a "build server" running
        # (inheriting the build's descriptors, as VBCSCompiler and MSBuild nodes do); anything else is the CLI itself.
        root="$(cd "$(dirname "$0")/.." && pwd)"
        if [ "$1" = build ]; then
          while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done
          mkdir -p "$out" && touch "$out/NativeAlign.Cli.dll"
          sleep 300 &
          echo $! >>"$root/server.pids"
          exit 0
        fi
        echo "cli $*"
        """;

    private (int ExitCode, string Output, TimeSpan Elapsed) Launch(TimeSpan limit)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(_root, "nativealign"), "info"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["PATH"] = Path.Combine(_root, "fakebin") + ":" + Environment.GetEnvironmentVariable("PATH");
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, $"timed out; stderr: {stderr.Result}", watch.Elapsed);
        }

        return (process.ExitCode, stdout.Result + stderr.Result, watch.Elapsed);
    }

    [Test]
    public void LaunchesRightAfterTheFirstBuildDoNotWaitForItsServers()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("the launcher is a bash script using flock and /proc");
            return;
        }

        File.Copy(Path.Combine(LoadingTestSupport.RepoRoot, "nativealign"), Path.Combine(_root, "nativealign"));
        foreach (var dir in new[] { "src", "kernels", "generators", "scripts", "fakebin" })
        {
            Directory.CreateDirectory(Path.Combine(_root, dir));
        }

        File.WriteAllText(Path.Combine(_root, "scripts", "setup.sh"), "#!/usr/bin/env bash\nsleep 300 &\necho $! >>\"$(dirname \"$0\")/../server.pids\"\n");
        File.WriteAllText(Path.Combine(_root, "fakebin", "dotnet"), FakeDotnet.ReplaceLineEndings("\n") + "\n");
        foreach (var file in new[] { "scripts/setup.sh", "fakebin/dotnet", "nativealign" })
        {
            File.SetUnixFileMode(Path.Combine(_root, file), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var first = Launch(TimeSpan.FromSeconds(60));
        Assert.That(first.ExitCode, Is.EqualTo(0), first.Output);
        Assert.That(first.Output, Does.Contain("NativeAlign.Cli.dll info"), "the launcher ran the CLI with its arguments");
        var servers = File.ReadAllLines(Path.Combine(_root, "server.pids"));
        Assert.That(servers, Has.Length.EqualTo(2), "setup and the build each left a long-lived child, as the real ones can");

        // What the fix is about: none of those children holds the lock file open.
        string lockFile = Path.Combine(_root, ".build", "launcher.lock");
        foreach (var pid in servers)
        {
            var held = Directory.GetFiles($"/proc/{pid}/fd").Select(fd => new FileInfo(fd).LinkTarget).Where(t => t == lockFile).ToArray();
            Assert.That(held, Is.Empty, $"process {pid}, started by the first launch's setup or build, holds {lockFile}");
        }

        // Two more launches while those children still live: each must take the lock at once (the old launcher waited
        // until the servers exited, minutes later).
        for (int i = 0; i < 2; i++)
        {
            var next = Launch(TimeSpan.FromSeconds(20));
            Assert.That(next.ExitCode, Is.EqualTo(0), $"launch {i + 2}: {next.Output}");
            Assert.That(next.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), $"launch {i + 2} waited for the lock");
        }
    }
}
