using System.CommandLine;
using System.Runtime.InteropServices;

namespace NativeAlign.Cli;

/// <summary>
/// Runs a command and turns every failure into one line on stderr and a documented exit code:
/// 0 success, 1 usage errors found by the parser, 2 usage, 3 input, 4 model, 5 backend, 70 internal, 130 cancelled.
/// It also owns cancellation: the first SIGINT (Ctrl-C) or SIGTERM cancels the one token every command's action receives
/// (System.CommandLine passes the token given to <c>InvokeAsync</c> to each action), which long commands check between
/// batches and encoder layers; they then throw <see cref="OperationCanceledException"/>, their
/// <see cref="NativeAlign.IO.AtomicFile"/> outputs are disposed uncommitted (temporary files deleted), and the run exits
/// with 130. A signal that arrives after a commit's last check completes that commit (the rename is atomic, the output
/// whole) and the run still exits with 130: after a signal the exit code is never 0. A second signal is left to the
/// runtime's default handling, which ends the process at once.
/// </summary>
internal static class CommandRunner
{
    /// <summary>Exit code for an interrupted run (128 + SIGINT).</summary>
    public const int Cancelled = 130;

    private static readonly CancellationTokenSource CancelSource = new();

    /// <summary>
    /// Set by a command whose normal end is a signal (<c>serve</c>): its drained stop then exits 0, as service managers expect.
    /// </summary>
    public static bool StoppedBySignalIsSuccess { get; set; }

    /// <summary>Parses and runs <paramref name="args"/> against <paramref name="root"/>.</summary>
    public static int Invoke(RootCommand root, string[] args)
    {
        // System.CommandLine's own termination handling is off (ProcessTerminationTimeout = null): ours registers SIGTERM
        // as well as SIGINT and hands the one token to every action, synchronous or not.
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        try
        {
            int code = root.Parse(args).InvokeAsync(config, CancelSource.Token).GetAwaiter().GetResult();
            if (code == 0 && CancelSource.IsCancellationRequested && !StoppedBySignalIsSuccess)
            {
                Console.Error.WriteLine("nativealign: interrupted after the output was committed; it is complete");
                return Cancelled;
            }

            return code;
        }
        catch (Exception e)
        {
            return Report(e);
        }
    }

    private static void OnSignal(PosixSignalContext context)
    {
        if (CancelSource.IsCancellationRequested)
        {
            // Second signal: the user insists; let the default action end the process.
            return;
        }

        context.Cancel = true;
        CancelSource.Cancel();
    }

    /// <summary>Writes the one-line message for <paramref name="e"/> and returns its exit code.</summary>
    public static int Report(Exception e)
    {
        // Parallel loops wrap what their bodies throw; the typed error inside is what the user must see.
        if (e is AggregateException aggregate)
        {
            var inner = aggregate.Flatten().InnerExceptions;
            e = inner.FirstOrDefault(x => x is NativeAlignException) ?? inner.FirstOrDefault(x => x is OperationCanceledException) ?? (inner.Count > 0 ? inner[0] : e);
        }

        var error = Console.Error;
        switch (e)
        {
            case NativeAlignException n:
                // One line: a message carrying a line break (e.g. quoting a file's content) is folded.
                error.WriteLine($"nativealign: {n.Kind.ToString().ToLowerInvariant()} error: {OneLine(n.Message)}");
                return (int)n.Kind;
            case OperationCanceledException:
                error.WriteLine("nativealign: cancelled; no output file was left half-written");
                return Cancelled;
            case OutOfMemoryException:
                error.WriteLine("nativealign: out of memory; try a smaller --batch-tokens");
                return (int)ErrorKind.Internal;
            default:
                error.WriteLine($"nativealign: internal error ({e.GetType().Name}): {OneLine(e.Message)}");
                if (Environment.GetEnvironmentVariable("NATIVEALIGN_DEBUG") == "1")
                {
                    error.WriteLine(e.ToString());
                }
                else
                {
                    error.WriteLine("nativealign: set NATIVEALIGN_DEBUG=1 for the stack trace, and please report it");
                }

                return (int)ErrorKind.Internal;
        }
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
