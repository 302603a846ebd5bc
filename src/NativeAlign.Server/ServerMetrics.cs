using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace NativeAlign.Server;

/// <summary>
/// The counters behind <c>/metrics</c>, written in Prometheus' text exposition format (version 0.0.4): requests by route
/// and status, latency per route, batch sizes in inputs and tokens, batch run time, queue depth, tokens and inputs.
/// Updates are lock-free or take a short lock per histogram; a scrape reads a consistent-enough snapshot.
/// </summary>
internal sealed class ServerMetrics
{
    private static readonly double[] LatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly double[] BatchInputBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
    private static readonly double[] BatchTokenBuckets = [16, 64, 256, 1024, 2048, 4096, 8192, 16384, 32768];

    private readonly ConcurrentDictionary<(string Route, int Status), long> _requests = new();
    private readonly ConcurrentDictionary<string, Histogram> _latency = new(StringComparer.Ordinal);
    private readonly Histogram _batchInputs = new(BatchInputBuckets);
    private readonly Histogram _batchTokens = new(BatchTokenBuckets);
    private readonly Histogram _batchSeconds = new(LatencyBuckets);
    private long _tokens;
    private long _inputs;
    private long _inFlight;

    /// <summary>Reads the queue depth at scrape time.</summary>
    public Func<int>? QueueDepth { get; set; }

    public void RequestStarted() => Interlocked.Increment(ref _inFlight);

    public void RequestFinished(string route, int status, TimeSpan elapsed)
    {
        Interlocked.Decrement(ref _inFlight);
        _requests.AddOrUpdate((route, status), 1, (_, n) => n + 1);
        _latency.GetOrAdd(route, _ => new Histogram(LatencyBuckets)).Observe(elapsed.TotalSeconds);
    }

    public void Batch(int inputs, long tokens, TimeSpan elapsed)
    {
        Interlocked.Add(ref _tokens, tokens);
        Interlocked.Add(ref _inputs, inputs);
        _batchInputs.Observe(inputs);
        _batchTokens.Observe(tokens);
        _batchSeconds.Observe(elapsed.TotalSeconds);
    }

    /// <summary>The largest batch seen so far, in inputs (0 before the first).</summary>
    public double LargestBatch => _batchInputs.Max;

    public string Render()
    {
        var b = new StringBuilder();
        b.Append("# HELP nativealign_requests_total HTTP requests answered, by route and status.\n# TYPE nativealign_requests_total counter\n");
        foreach (var ((route, status), n) in _requests.OrderBy(p => p.Key.Route, StringComparer.Ordinal).ThenBy(p => p.Key.Status))
        {
            b.Append(CultureInfo.InvariantCulture, $"nativealign_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}\n");
        }

        b.Append("# HELP nativealign_request_duration_seconds Time from request start to response end, by route.\n# TYPE nativealign_request_duration_seconds histogram\n");
        foreach (var (route, h) in _latency.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            h.Render(b, "nativealign_request_duration_seconds", $"route=\"{route}\",");
        }

        b.Append("# HELP nativealign_batch_inputs Inputs per merged batch.\n# TYPE nativealign_batch_inputs histogram\n");
        _batchInputs.Render(b, "nativealign_batch_inputs", "");
        b.Append("# HELP nativealign_batch_tokens Tokens per merged batch.\n# TYPE nativealign_batch_tokens histogram\n");
        _batchTokens.Render(b, "nativealign_batch_tokens", "");
        b.Append("# HELP nativealign_batch_duration_seconds Encoder time per batch.\n# TYPE nativealign_batch_duration_seconds histogram\n");
        _batchSeconds.Render(b, "nativealign_batch_duration_seconds", "");
        b.Append("# HELP nativealign_queue_inputs Inputs waiting for a batch.\n# TYPE nativealign_queue_inputs gauge\n");
        b.Append(CultureInfo.InvariantCulture, $"nativealign_queue_inputs {QueueDepth?.Invoke() ?? 0}\n");
        b.Append("# HELP nativealign_requests_in_flight Requests being handled.\n# TYPE nativealign_requests_in_flight gauge\n");
        b.Append(CultureInfo.InvariantCulture, $"nativealign_requests_in_flight {Interlocked.Read(ref _inFlight)}\n");
        b.Append("# HELP nativealign_tokens_total Tokens encoded (rate() gives tokens/s).\n# TYPE nativealign_tokens_total counter\n");
        b.Append(CultureInfo.InvariantCulture, $"nativealign_tokens_total {Interlocked.Read(ref _tokens)}\n");
        b.Append("# HELP nativealign_inputs_total Inputs embedded.\n# TYPE nativealign_inputs_total counter\n");
        b.Append(CultureInfo.InvariantCulture, $"nativealign_inputs_total {Interlocked.Read(ref _inputs)}\n");
        return b.ToString();
    }

    private sealed class Histogram(double[] bounds)
    {
        private readonly long[] _counts = new long[bounds.Length + 1];
        private double _sum;
        private double _max;
        private long _count;

        public double Max
        {
            get
            {
                lock (_counts)
                {
                    return _max;
                }
            }
        }

        public void Observe(double value)
        {
            int i = 0;
            while (i < bounds.Length && value > bounds[i])
            {
                i++;
            }

            lock (_counts)
            {
                _counts[i]++;
                _count++;
                _sum += value;
                _max = Math.Max(_max, value);
            }
        }

        public void Render(StringBuilder b, string name, string labels)
        {
            long[] counts;
            double sum;
            long count;
            lock (_counts)
            {
                counts = (long[])_counts.Clone();
                sum = _sum;
                count = _count;
            }

            long cumulative = 0;
            for (int i = 0; i < bounds.Length; i++)
            {
                cumulative += counts[i];
                b.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels}le=\"{bounds[i]}\"}} {cumulative}\n");
            }

            b.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels}le=\"+Inf\"}} {count}\n");
            string plain = labels.TrimEnd(',');
            string braces = plain.Length == 0 ? "" : "{" + plain + "}";
            b.Append(CultureInfo.InvariantCulture, $"{name}_sum{braces} {sum}\n{name}_count{braces} {count}\n");
        }
    }
}
