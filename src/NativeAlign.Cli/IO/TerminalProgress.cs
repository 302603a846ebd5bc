using System.Diagnostics;
using System.Globalization;

namespace NativeAlign.Cli.IO;

/// <summary>Where a long run's progress goes.</summary>
internal enum ProgressMode
{
    /// <summary>A live line on a terminal; a plain line every few seconds when stderr is a pipe or a log.</summary>
    Auto,

    /// <summary>A live line on a terminal, nothing otherwise (for commands whose logs should stay as they were).</summary>
    TerminalOnly,

    /// <summary>Nothing (<c>--quiet</c>).</summary>
    Quiet,
}

/// <summary>
/// Progress and throughput of a long run on stderr (never stdout, which may be the data output): inputs done, inputs/s,
/// tokens/s when the caller counts tokens, and the ETA when the total is known. On a terminal it is one line rewritten
/// in place (at most 4 times a second); when stderr is redirected it is a plain line every <see cref="PlainInterval"/>
/// (the first only after one interval, so short runs and their error messages stay one line), or nothing.
/// Plain text and ANSI erase only: no terminal library, which keeps it NativeAOT-safe and cheap.
/// </summary>
internal sealed class TerminalProgress : IDisposable
{
    /// <summary>Time between plain lines when stderr is not a terminal.</summary>
    internal static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan LiveInterval = TimeSpan.FromMilliseconds(250);
    private readonly string _label;
    private readonly string _unit;
    private readonly long? _total;
    private readonly bool _live;
    private readonly bool _plain;
    private readonly TextWriter _error = Console.Error;
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly object _gate = new();
    private TimeSpan _lastShown;
    private long _done;
    private long _tokens;
    private bool _wrotePlain;
    private bool _wroteLive;

    private TerminalProgress(string label, string unit, long? total, ProgressMode mode)
    {
        _label = label;
        _unit = unit;
        _total = total;
        bool terminal = !Console.IsErrorRedirected;
        _live = mode != ProgressMode.Quiet && terminal;
        _plain = mode == ProgressMode.Auto && !terminal;
    }

    /// <summary>Starts reporting a phase labelled <paramref name="label"/> over <paramref name="total"/> <paramref name="unit"/> (null: unknown).</summary>
    public static TerminalProgress Start(string label, long? total, ProgressMode mode, string unit = "lines") => new(label, unit, total, mode);

    /// <summary>Runs <paramref name="work"/> with a terminal-only bar over <paramref name="total"/> steps (short runs: none).</summary>
    public static T Run<T>(string label, int total, Func<IProgress<int>?, T> work)
    {
        if (Console.IsErrorRedirected || total < 32)
        {
            return work(null);
        }

        using var progress = Start(label, total, ProgressMode.TerminalOnly, "items");
        return work(new SyncProgress(done => progress.Update(done)));
    }

    /// <summary>An <see cref="IProgress{T}"/> that reports <paramref name="offset"/> + the value as the inputs done.</summary>
    public IProgress<int> Offset(long offset) => new SyncProgress(done => Update(offset + done));

    /// <summary>Adds tokens processed (for tokens/s).</summary>
    public void AddTokens(long tokens) => Interlocked.Add(ref _tokens, tokens);

    /// <summary>Sets the inputs done so far and shows the line when it is due.</summary>
    public void Update(long done)
    {
        if (!_live && !_plain)
        {
            return;
        }

        lock (_gate)
        {
            _done = done;
            var now = _watch.Elapsed;
            if (now - _lastShown < (_live ? LiveInterval : PlainInterval))
            {
                return;
            }

            _lastShown = now;
            if (_live)
            {
                // \r and erase-to-end-of-line rewrite the one line in place.
                _error.Write($"\r{Describe(now)}\u001b[K");
                _wroteLive = true;
            }
            else
            {
                _error.WriteLine(Describe(now));
                _wrotePlain = true;
            }

            _error.Flush();
        }
    }

    /// <summary>Marks the phase complete: the live line is erased; a log that got progress lines gets a final one.</summary>
    public void Finish() => End(complete: true);

    /// <summary>Ends the phase (complete or not: an error or Ctrl-C also gets here): the live line is erased.</summary>
    public void Dispose() => End(complete: false);

    private void End(bool complete)
    {
        lock (_gate)
        {
            if (_wroteLive)
            {
                _error.Write("\r\u001b[K");
                _error.Flush();
            }
            else if (_wrotePlain && complete)
            {
                _error.WriteLine($"{Describe(_watch.Elapsed)} (done)");
            }

            _wroteLive = _wrotePlain = false;
        }
    }

    private string Describe(TimeSpan elapsed)
    {
        double seconds = Math.Max(elapsed.TotalSeconds, 1e-3);
        var inv = CultureInfo.InvariantCulture;
        var text = _total is { } t
            ? string.Format(inv, "{0}: {1:N0} / {2:N0} {3} ({4:F1}%)", _label, _done, t, _unit, t == 0 ? 100 : 100.0 * _done / t)
            : string.Format(inv, "{0}: {1:N0} {2}", _label, _done, _unit);
        text += string.Format(inv, ", {0:N0} {1}/s", _done / seconds, _unit);
        long tokens = Interlocked.Read(ref _tokens);
        if (tokens > 0)
        {
            text += string.Format(inv, ", {0:N0} tokens/s", tokens / seconds);
        }

        text += string.Format(inv, ", {0}", Clock(elapsed));
        if (_total is { } total && _done > 0 && _done < total)
        {
            text += ", ETA " + Clock(TimeSpan.FromSeconds(seconds * (total - _done) / _done));
        }

        return "nativealign: " + text;
    }

    private static string Clock(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}h{t.Minutes:D2}m{t.Seconds:D2}s")
        : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}m{t.Seconds:D2}s");

    /// <summary>Reports on the calling thread (unlike <see cref="Progress{T}"/>, which posts to a context).</summary>
    private sealed class SyncProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
