using NativeAlign.Backends.Cpu;
using static NativeAlign.Tests.Backends.Cpu.GemmTestSupport;

namespace NativeAlign.Tests.Backends.Cpu;

/// <summary>
/// The int8 product's integer sums are exact and its float steps run in one order on every path, so the paths must
/// agree bit for bit (the float products cannot promise this: their FMA chains differ by path).
/// </summary>
[TestFixture]
public class GemmQ4Int8PathAgreementTests
{
    [Test]
    public void Int8PathsAgreeBitForBit()
    {
        var supported = Paths.Where(GemmPaths.IsSupported).ToArray();
        var random = new Random(21);
        foreach ((int m, int n, int k, int bs) in new[] { (13, 40, 96, 32), (5, 33, 257, 16), (20, 17, 300, 64), (70, 48, 384, 128) })
        {
            Q4Panels w = Q4Panels.From(RandomQ4(random, n, k, bs, true), Q4PanelLayout.Octets);
            float[] a = RandomArray(random, m * k);
            float[][] results = supported.Select(path =>
            {
                var c = new float[m * n];
                GemmQ4Rows.Compute(path, 1, m, a, k, w, c, n);
                return c;
            }).ToArray();
            for (int p = 1; p < results.Length; p++)
            {
                Assert.That(results[p], Is.EqualTo(results[0]), $"{supported[p]} vs {supported[0]} at {m}x{n}x{k} bs={bs}");
            }
        }
    }
}
