using NativeAlign.Backends;
using NativeAlign.Tensors;

namespace NativeAlign.Tests.Conformance;

/// <summary>What running one case on one backend found.</summary>
internal enum VerdictKind
{
    /// <summary>Outputs within the op's bound, NaN exactly where the oracle has NaN, sentinels intact.</summary>
    Pass,

    /// <summary>The backend declares the op unsupported (<see cref="IComputeBackend.Unsupported"/>) and refused it with a <see cref="BackendException"/>.</summary>
    Refused,

    /// <summary>Anything else: a wrong value, a NaN in the wrong place, an overwritten sentinel, an unexpected exception.</summary>
    Fail,
}

/// <summary>The outcome of one case on one backend; <see cref="Nmse"/> is the normalised MSE over the oracle's non-NaN elements (NaN when not measured).</summary>
internal sealed record Verdict(VerdictKind Kind, string Detail, double Nmse = double.NaN)
{
    public bool Failed => Kind == VerdictKind.Fail;
}

/// <summary>
/// Runs an <see cref="OpCase"/> on a backend and judges it, returning a <see cref="Verdict"/> instead of asserting, so
/// that the planted-mutation tests can check that a wrong backend is reported without failing the run.
/// </summary>
/// <remarks>
/// The output is a <see cref="IComputeBackend.View"/> over the start of a larger storage that is filled entirely with
/// <see cref="SentinelBits"/> before the op: afterwards the whole storage is downloaded, every element past the output
/// must still hold the sentinel bits (an out-of-bounds write), and every output element must have been written (the
/// sentinel is a NaN, so an element left alone reads as a NaN the oracle does not have). Inputs sit the same way at the
/// start of sentinel-filled storage, so a kernel reading past an input picks up a NaN that then shows in its output.
/// </remarks>
internal static class CaseRunner
{
    /// <summary>A quiet NaN with a payload no arithmetic produces (hardware NaNs carry payload 0).</summary>
    public const uint SentinelBits = 0x7FC5_A5A5u;

    /// <summary>Sentinel elements after every output and input.</summary>
    public const int Guard = 37;

    public static float Sentinel => BitConverter.UInt32BitsToSingle(SentinelBits);

    /// <summary>Runs <paramref name="c"/> on <paramref name="backend"/>; never throws for what the backend does.</summary>
    public static Verdict Run(IComputeBackend backend, OpCase c)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(c);
        if (backend.Unsupported(c.Spec) is { } reason)
        {
            try
            {
                c.Attempt(backend);
            }
            catch (BackendException)
            {
                return new Verdict(VerdictKind.Refused, $"declared unsupported and refused: {reason}");
            }
            catch (Exception e) when (e is not AssertionException)
            {
                return new Verdict(VerdictKind.Fail, $"declared unsupported ({reason}) but failed with {e.GetType().Name} instead of a BackendException: {e.Message}");
            }

            return new Verdict(VerdictKind.Fail, $"declared unsupported ({reason}) but ran it without refusing");
        }

        try
        {
            return c.RunAndJudge(backend);
        }
        catch (Exception e) when (e is not AssertionException)
        {
            return new Verdict(VerdictKind.Fail, $"threw {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>The output as a view at the start of sentinel-filled storage; then <see cref="Judge"/>.</summary>
    public static Verdict RunMatrixCase(IComputeBackend backend, MatrixOpCase c)
    {
        int count = c.OutputRows * c.OutputColumns;
        double[] expected = c.Expected();
        if (expected.Length != count)
        {
            return new Verdict(VerdictKind.Fail, $"the oracle gave {expected.Length} values for a {c.OutputRows}x{c.OutputColumns} output");
        }

        var host = new float[count + Guard];
        using (var session = new CaseSession(backend))
        {
            var storage = session.Track(backend.Allocate(1, count + Guard));
            host.AsSpan().Fill(Sentinel);
            backend.Upload(host, storage);
            var output = backend.View(storage, c.OutputRows, c.OutputColumns);
            c.Execute(session, output);
            host.AsSpan().Clear();
            backend.Download(storage, host);
        }

        return Judge(c, host, expected);
    }

    private static Verdict Judge(MatrixOpCase c, float[] storage, double[] expected)
    {
        int count = expected.Length;
        for (int i = count; i < storage.Length; i++)
        {
            uint bits = BitConverter.SingleToUInt32Bits(storage[i]);
            if (bits != SentinelBits)
            {
                return new Verdict(VerdictKind.Fail, $"write past the output: element +{i - count} after the {c.OutputRows}x{c.OutputColumns} output holds {storage[i]} (0x{bits:X8})");
            }
        }

        var examples = new List<string>();
        int misplaced = 0;
        var actualKept = new List<float>(count);
        var expectedKept = new List<double>(count);
        int columns = Math.Max(1, c.OutputColumns);
        for (int i = 0; i < count; i++)
        {
            bool wantNaN = double.IsNaN(expected[i]);
            float got = storage[i];
            if (wantNaN != float.IsNaN(got))
            {
                if (++misplaced <= 4)
                {
                    string what = BitConverter.SingleToUInt32Bits(got) == SentinelBits ? "never written" : got.ToString("R");
                    examples.Add($"({i / columns}, {i % columns}): got {what}, oracle {expected[i]:R}");
                }

                continue;
            }

            if (!wantNaN)
            {
                actualKept.Add(got);
                expectedKept.Add(expected[i]);
            }
        }

        if (misplaced > 0)
        {
            return new Verdict(VerdictKind.Fail, $"NaN differs from the C# oracle at {misplaced} of {count} elements, e.g. {string.Join("; ", examples)}");
        }

        double nmse = ErrorMetric.NormalisedMse(actualKept.ToArray(), expectedKept.ToArray());
        double bound = c.Bound;
        return nmse <= bound
            ? new Verdict(VerdictKind.Pass, $"normalised MSE {nmse:E2} within {bound:E0}", nmse)
            : new Verdict(VerdictKind.Fail, $"normalised MSE {nmse:E3} above the {c.Op} bound {bound:E0}", nmse);
    }
}

/// <summary>
/// The device objects one case run creates (inputs, weights, the output storage), all released when the run ends.
/// Inputs are placed at the start of storage padded with the runner's sentinel, like the output.
/// </summary>
internal sealed class CaseSession(IComputeBackend backend) : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public IComputeBackend Backend { get; } = backend;

    public T Track<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    /// <summary>A rows × columns input holding <paramref name="values"/>, at the start of sentinel-padded storage.</summary>
    public BackendMatrix Input(float[] values, int rows, int columns)
    {
        if (values.Length != rows * columns)
        {
            throw new ArgumentException($"{values.Length} values for a {rows}x{columns} input", nameof(values));
        }

        var padded = new float[values.Length + CaseRunner.Guard];
        padded.AsSpan().Fill(CaseRunner.Sentinel);
        values.CopyTo(padded, 0);
        var storage = Track(Backend.Allocate(1, padded.Length));
        Backend.Upload(padded, storage);
        return Backend.View(storage, rows, columns);
    }

    /// <summary>Writes <paramref name="values"/> into <paramref name="matrix"/> (an in-place case's input is its output).</summary>
    public BackendMatrix Fill(BackendMatrix matrix, float[] values)
    {
        Backend.Upload(values, matrix);
        return matrix;
    }

    public BackendWeight Weight(WeightTensor tensor) => Track(Backend.PrepareWeight(tensor));

    public BackendWeight? OptionalWeight(WeightTensor? tensor) => tensor is null ? null : Weight(tensor);

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
    }
}
