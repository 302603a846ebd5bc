using System.Diagnostics;
using System.Runtime.InteropServices;

namespace NativeAlign.Tests.Hardening;

/// <summary>Runs the real <c>nativealign</c> (the CLI assembly copied beside the tests) as a child process, as a user would.</summary>
internal static class CliProcess
{
    /// <summary>The result of one finished run.</summary>
    internal sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        /// <summary>The non-empty lines of standard error.</summary>
        public string[] ErrorLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>
    /// The CLI under test: the one copied beside the tests, or <c>NATIVEALIGN_TEST_CLI</c> (a NativeAlign.Cli.dll built
    /// elsewhere), so the same tests can be run against an earlier build to see them fail there.
    /// </summary>
    public static string CliDll => Environment.GetEnvironmentVariable("NATIVEALIGN_TEST_CLI") is { Length: > 0 } other
        ? other
        : Path.Combine(TestContext.CurrentContext.TestDirectory, "NativeAlign.Cli.dll");

    /// <summary>
    /// setpriv (util-linux), which runs a command as uid/gid 65534 (nobody) with no supplementary groups; null when it
    /// is not installed. Tests running as root use it to meet permission checks that root would bypass.
    /// </summary>
    public static string? UnprivilegedUserRunner =>
        new[] { "/usr/bin/setpriv", "/bin/setpriv" }.FirstOrDefault(File.Exists);

    public static ProcessStartInfo StartInfo(string workingDirectory, params string[] args) => StartInfoAs(workingDirectory, null, args);

    /// <summary>A start of the CLI, through <see cref="UnprivilegedUserRunner"/> when <paramref name="asUser"/> names it.</summary>
    public static ProcessStartInfo StartInfoAs(string workingDirectory, string? asUser, params string[] args)
    {
        if (!File.Exists(CliDll))
        {
            Assert.Fail($"{CliDll} is missing: the test project references the CLI, so the build should have copied it");
        }

        var info = new ProcessStartInfo(asUser ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        if (asUser is not null)
        {
            foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "dotnet" })
            {
                info.ArgumentList.Add(a);
            }

            // nobody's home (/nonexistent) cannot be written; the runtime needs none, but keep it off root's.
            info.Environment["HOME"] = Path.GetTempPath();
        }

        info.ArgumentList.Add(CliDll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment.Remove("NATIVEALIGN_DEBUG");
        return info;
    }

    /// <summary>Runs to completion (two minutes at most, then the run is killed and the test fails).</summary>
    public static Result Run(string workingDirectory, params string[] args) => RunAs(workingDirectory, null, args);

    /// <summary>Runs to completion, through <see cref="UnprivilegedUserRunner"/> when <paramref name="asUser"/> names it.</summary>
    public static Result RunAs(string workingDirectory, string? asUser, params string[] args)
    {
        using var process = Process.Start(StartInfoAs(workingDirectory, asUser, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"nativealign {string.Join(' ', args)} did not finish within two minutes");
        }

        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int SysKill(int pid, int signal);

    /// <summary>Sends a POSIX signal (SIGINT 2, SIGKILL 9, SIGTERM 15) to <paramref name="pid"/>.</summary>
    public static void Signal(int pid, int signal)
    {
        if (SysKill(pid, signal) != 0)
        {
            Assert.Fail($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }
}
