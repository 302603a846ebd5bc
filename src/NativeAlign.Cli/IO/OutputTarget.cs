using NativeAlign.IO;

namespace NativeAlign.Cli.IO;

/// <summary>
/// Where a command's <c>--output</c> goes: <c>-</c> is standard output (written directly; progress and messages stay on
/// stderr), anything else an <see cref="AtomicFile"/>. Before any work, an output that is one of the run's own input or
/// model files is refused, since replacing it would destroy what the run reads.
/// </summary>
internal static class OutputTarget
{
    /// <summary>Opens <paramref name="path"/> for writing (<c>-</c>: standard output).</summary>
    public static AtomicFile Create(string path) =>
        path == TextInput.StandardStream ? AtomicFile.Direct(Console.OpenStandardOutput(), "standard output") : AtomicFile.Create(path);

    /// <summary>
    /// A usage error when <paramref name="output"/> is the same file (device and inode, through any link) as one of
    /// <paramref name="inputs"/> (null entries and <c>-</c> are skipped) or one of the files of the model folder or file
    /// <paramref name="model"/>.
    /// </summary>
    public static void EnsureNotAnInput(string? output, string? model, params string?[] inputs)
    {
        if (output is null || output == TextInput.StandardStream)
        {
            return;
        }

        var target = FileIdentity.Of(output);
        if (target.Kind != FileKind.Regular)
        {
            // A missing output cannot be an input; a device or FIFO is written through, not replaced.
            return;
        }

        foreach (var input in inputs)
        {
            if (input is not null && input != TextInput.StandardStream && FileIdentity.Same(output, input))
            {
                throw new NativeAlignException(ErrorKind.Usage, $"the output {output} is the input {input}; writing it would destroy the input (choose another --output)");
            }
        }

        if (model is null)
        {
            return;
        }

        var files = Directory.Exists(model) ? Directory.EnumerateFiles(model, "*", SearchOption.AllDirectories) : File.Exists(model) ? [model] : [];
        foreach (var file in files)
        {
            if (FileIdentity.Same(output, file))
            {
                throw new NativeAlignException(ErrorKind.Usage, $"the output {output} is the model file {file}; writing it would destroy the model (choose another --output)");
            }
        }
    }
}
