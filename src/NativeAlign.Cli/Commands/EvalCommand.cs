using System.CommandLine;

namespace NativeAlign.Cli.Commands;

/// <summary><c>nativealign eval</c>: the evaluations, one subcommand each.</summary>
internal static class EvalCommand
{
    public static Command Create() => new("eval", "Evaluate alignments and embeddings against gold standards.")
    {
        // One line per evaluation.
        EvalAerCommand.Create(),
        EvalTatoebaCommand.Create(),
    };
}
