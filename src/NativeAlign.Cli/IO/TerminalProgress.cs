using Spectre.Console;

namespace NativeAlign.Cli.IO;

/// <summary>A progress bar on stderr, shown only when stderr is a terminal (pipes and logs stay clean).</summary>
internal static class TerminalProgress
{
    /// <summary>Runs <paramref name="work"/>, showing a bar labelled <paramref name="label"/> over <paramref name="total"/> steps when stderr is a terminal.</summary>
    public static T Run<T>(string label, int total, Func<IProgress<int>?, T> work)
    {
        if (Console.IsErrorRedirected || total < 32)
        {
            return work(null);
        }

        T result = default!;
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        console.Progress().AutoClear(true).Start(ctx =>
        {
            var task = ctx.AddTask(label, maxValue: total);
            result = work(new Reporter(done => task.Value = done));
        });
        return result;
    }

    /// <summary>Reports on the calling thread (unlike <see cref="Progress{T}"/>, which posts to a context).</summary>
    private sealed class Reporter(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
