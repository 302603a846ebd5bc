using System.Runtime.InteropServices;

namespace NativeAlign.Backends.Cpu;

/// <summary>
/// Persistent helper threads for short parallel regions: a single sentence's forward pass is ~40 products of tens of
/// microseconds each, and handing each one to the thread pool (a task, a wake-up, a join) costs about as much as the
/// product. The helpers spin briefly between regions, so back-to-back regions start within a cache-line transfer,
/// then sleep, so an idle engine costs nothing.
/// </summary>
/// <remarks>
/// A region is cut into chunks that the caller and the helpers claim from one shared counter; the caller never waits
/// for a chunk nobody has started, so a helper the OS has descheduled (a loaded machine) only means the caller does
/// more of the work itself. The counter word carries the region's generation and chunk count next to the claim index:
/// a helper that wakes late can neither claim a chunk of a region that has finished nor take the chunk count of the
/// next region for its own (which once let a late helper run a chunk of the next region twice). One region runs at a time; a caller that finds the team
/// busy (another thread's region) runs its chunks alone.
/// </remarks>
internal sealed unsafe class WorkerTeam
{
    // How long a helper keeps polling after its last chunk before it sleeps: well beyond the gap between two products
    // of one forward pass (layer norm, attention of a short sentence: microseconds) and between back-to-back requests,
    // short enough that an idle engine stops using the core almost at once.
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 1000;

    private readonly SemaphoreSlim _wake = new(0);
    private readonly int _helpers;

    // The most chunks one region can have: the count shares the claim word with the index.
    private const int MaxChunks = 0xFFFF;

    // Region state, written by the caller before the generation is published in _claim.
    private delegate*<void*, int, void> _body;
    private void* _context;

    // (generation << 32) | (chunk count << 16) | next unclaimed chunk.
    private long _claim;
    private int _done;
    private int _sleepers;
    private int _busy;

    private WorkerTeam(int helpers)
    {
        _helpers = helpers;
        for (int i = 0; i < helpers; i++)
        {
            new Thread(HelperLoop) { IsBackground = true, Name = $"NativeAlign worker {i + 1}" }.Start();
        }
    }

    /// <summary>The process-wide team: one helper per core beyond the caller's.</summary>
    public static WorkerTeam Shared { get; } = new(GemmPaths.MaxThreads - 1);

    /// <summary>Threads a region can use: the helpers and the caller.</summary>
    public int Threads => _helpers + 1;

    /// <summary>
    /// Runs <paramref name="body"/>(<paramref name="context"/>, c) for every chunk c in [0, <paramref name="chunks"/>)
    /// and returns when all have finished. <paramref name="context"/> must stay valid until then (the caller's stack is).
    /// </summary>
    public void Run(delegate*<void*, int, void> body, void* context, int chunks)
    {
        if (chunks <= 0)
        {
            return;
        }

        if (chunks == 1 || chunks > MaxChunks || _helpers == 0 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int c = 0; c < chunks; c++)
            {
                body(context, c);
            }

            return;
        }

        try
        {
            _body = body;
            _context = context;
            _done = 0;
            long generation = (Volatile.Read(ref _claim) >> 32) + 1;

            // Publishing the new generation (a full fence) makes the region visible; sleeping helpers are woken after it.
            Interlocked.Exchange(ref _claim, (generation << 32) | ((long)chunks << 16));
            int sleepers = Interlocked.Exchange(ref _sleepers, 0);
            if (sleepers > 0)
            {
                _wake.Release(sleepers);
            }

            Work(generation, body, context);
            var spin = default(SpinWait);
            while (Volatile.Read(ref _done) < chunks)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private void Work(long generation, delegate*<void*, int, void> body, void* context)
    {
        while (true)
        {
            long state = Volatile.Read(ref _claim);
            int next = (int)(state & 0xFFFF), chunks = (int)((state >> 16) & 0xFFFF);
            if (state >> 32 != generation || next >= chunks)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _claim, state + 1, state) == state)
            {
                body(context, next);
                Interlocked.Increment(ref _done);
            }
        }
    }

    private void HelperLoop()
    {
        long seen = Volatile.Read(ref _claim) >> 32;
        while (true)
        {
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            long generation;
            while ((generation = Volatile.Read(ref _claim) >> 32) == seen)
            {
                if (System.Diagnostics.Stopwatch.GetTimestamp() - started < SpinTicks)
                {
                    Thread.SpinWait(16);
                    continue;
                }

                // Register as a sleeper, then look once more: a region published in between is not missed, because
                // its caller takes the sleeper count only after publishing.
                Interlocked.Increment(ref _sleepers);
                if (Volatile.Read(ref _claim) >> 32 == seen)
                {
                    _wake.Wait();
                }
                else if (Interlocked.Decrement(ref _sleepers) < 0)
                {
                    // The caller already counted this helper and released the semaphore for it: consume that release.
                    Interlocked.Increment(ref _sleepers);
                    _wake.Wait();
                }

                started = System.Diagnostics.Stopwatch.GetTimestamp();
            }

            seen = generation;

            // The region fields were written before the generation was published. A claim succeeds only while this
            // generation still has unclaimed chunks, i.e. before the caller can have moved on and rewritten them, so
            // the fields read here belong to the region whose chunk is claimed.
            Work(generation, _body, _context);
        }
    }
}
