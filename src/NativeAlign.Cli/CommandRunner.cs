using System.CommandLine;

namespace NativeAlign.Cli;

/// <summary>
/// Runs a command and turns every failure into one line on stderr and a documented exit code:
/// 0 success, 1 usage errors found by the parser, 2 usage, 3 input, 4 model, 5 backend, 70 internal, 130 cancelled.
/// </summary>
internal static class CommandRunner
{
    /// <summary>Exit code for an interrupted run (128 + SIGINT).</summary>
    public const int Cancelled = 130;

    /// <summary>Parses and runs <paramref name="args"/> against <paramref name="root"/>.</summary>
    public static int Invoke(RootCommand root, string[] args)
    {
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false };
        try
        {
            return root.Parse(args).Invoke(config);
        }
        catch (Exception e)
        {
            return Report(e);
        }
    }

    /// <summary>Writes the one-line message for <paramref name="e"/> and returns its exit code.</summary>
    public static int Report(Exception e)
    {
        var error = Console.Error;
        switch (e)
        {
            case NativeAlignException n:
                error.WriteLine($"nativealign: {n.Kind.ToString().ToLowerInvariant()} error: {n.Message}");
                return (int)n.Kind;
            case OperationCanceledException:
                error.WriteLine("nativealign: cancelled; no partial output was written");
                return Cancelled;
            case OutOfMemoryException:
                error.WriteLine("nativealign: out of memory; try a smaller --batch-tokens");
                return (int)ErrorKind.Internal;
            default:
                error.WriteLine($"nativealign: internal error ({e.GetType().Name}): {e.Message}");
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
}
