using NativeAlign.Backends.Cpu;

namespace NativeAlign.Tests.Backends.Cpu;

/// <summary>The persistent worker team runs every chunk of every region exactly once, from any number of callers.</summary>
[TestFixture]
public unsafe class WorkerTeamTests
{
    private static void Count(void* context, int chunk) => Interlocked.Increment(ref ((int*)context)[chunk]);

    [Test]
    public void EveryChunkRunsExactlyOnceAcrossManyBackToBackRegions()
    {
        // Each region has one chunk more than the one before: a helper that read the next region's chunk count as its
        // own would claim a chunk past the end of its region, which then runs twice (a bug this test once caught).
        int* counts = stackalloc int[64];
        for (int region = 0; region < 100_000; region++)
        {
            int chunks = 1 + (region % 64);
            new Span<int>(counts, 64).Clear();
            WorkerTeam.Shared.Run(&Count, counts, chunks);
            for (int c = 0; c < 64; c++)
            {
                if (counts[c] != (c < chunks ? 1 : 0))
                {
                    Assert.Fail($"region {region}: chunk {c} ran {counts[c]} times");
                }
            }
        }
    }

    [Test]
    public void RegionsAfterTheHelpersFellAsleepStillComplete()
    {
        int* counts = stackalloc int[8];
        for (int region = 0; region < 5; region++)
        {
            // Longer than the helpers' spin: each region starts with the helpers asleep.
            Thread.Sleep(20);
            new Span<int>(counts, 8).Clear();
            WorkerTeam.Shared.Run(&Count, counts, 8);
            Assert.That(new Span<int>(counts, 8).ToArray(), Is.All.EqualTo(1), $"region {region}");
        }
    }

    [Test]
    public void ConcurrentCallersEachSeeTheirOwnChunksOnce()
    {
        int failures = 0;
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            int* counts = stackalloc int[16];
            for (int region = 0; region < 2_000; region++)
            {
                new Span<int>(counts, 16).Clear();
                WorkerTeam.Shared.Run(&Count, counts, 16);
                for (int c = 0; c < 16; c++)
                {
                    if (counts[c] != 1)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            }
        });
        Assert.That(failures, Is.Zero);
    }
}
