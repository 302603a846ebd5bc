using NativeAlign.Fuzz;
using SharpFuzz;

// AFL++ entry point: `dotnet NativeAlign.Fuzz.dll TARGET` under afl-fuzz (see scripts/fuzz.sh), or
// `dotnet NativeAlign.Fuzz.dll TARGET FILE...` to run files once outside AFL (triage). Any exception that is not a
// NativeAlignException — or an allocation beyond the bound — escapes and AFL records the input as a crash.
if (args.Length == 0 || !FuzzTargets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: NativeAlign.Fuzz TARGET [FILE...]; targets: {string.Join(", ", FuzzTargets.All.Keys)}");
    return 2;
}

try
{
    if (args.Length > 1)
    {
        foreach (var file in args.Skip(1))
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            string outcome;
            try
            {
                FuzzTargets.Run(target, File.ReadAllBytes(file));
                outcome = "accepted";
            }
            catch (NativeAlign.NativeAlignException e)
            {
                outcome = $"refused ({e.GetType().Name}: {e.Message})";
            }

            Console.WriteLine($"{file}: {outcome} in {watch.Elapsed.TotalMilliseconds:F1} ms");
        }

        return 0;
    }

    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        FuzzTargets.Check(target, buffer.ToArray());
    });
    return 0;
}
finally
{
    try
    {
        FuzzTargets.DeleteWorkDirectory();
    }
    catch (IOException)
    {
    }
}
