using NativeAlign.Kernels;

namespace NativeAlign.Tests.Backends.OpenCl;

/// <summary>
/// Kernels that exercise every construct the translator accepts, so that a test can run them on a device and through
/// the CPU reference and compare: if a construct were translated with different C semantics, the outputs would differ.
/// Test-only: they live with the tests, outside the kernels assembly the engine ships.
/// </summary>
internal static partial class TranslationProbeKernels
{
    private const int Rounds = 5;
    private const float Scale = 0.5f;

    /// <summary>Integer and control-flow constructs; writes one int and one long per work-item.</summary>
    [Kernel(LocalSizeX = 16)]
    internal static void IntegerProbe(ReadOnlyGlobalBuffer<int> input, GlobalBuffer<int> ints, GlobalBuffer<long> longs, int n)
    {
        int i = WorkItem.GlobalId(0);
        if (i >= n)
        {
            return;
        }

        int x = input[i];
        uint u = (uint)x;
        long wide = x;
        int acc = 0;
        for (int k = 0; k < Rounds; k++)
        {
            if (k == 3)
            {
                continue;
            }

            acc += (x >> k) ^ (k << 2);
            acc -= x % (k + 2);
        }

        int steps = 0;
        while (u > 1u && steps < 40)
        {
            u = (u & 1u) == 0u ? u / 2u : (3u * u) + 1u;
            steps++;
        }

        do
        {
            steps--;
            if (steps < -3)
            {
                break;
            }
        }
        while (steps > 30);

        bool odd = (x & 1) != 0;
        bool negative = x < 0;
        int flags = (odd ? 1 : 0) | (negative && !odd ? 2 : 0) | (odd || negative ? 4 : 0);
        acc = Math.Max(acc, -1000) + Math.Min(steps, 7) + Clamp(x, -50, 50) + (~flags & 0xF) - -3;
        acc *= 3;
        acc /= 2;
        acc <<= 1;
        acc >>= 1;
        acc |= 0x100;
        acc &= 0xFFFF;
        acc ^= 0x5;
        ++steps;
        steps++;
        ints[i] = acc + steps;
        wide = (wide * 1_000_003L) + (long)u - (long.MaxValue / 3L);
        longs[i] = wide;
    }

    /// <summary>Float arithmetic and the MathF mapping; writes <see cref="FloatOutputs"/> floats per work-item.</summary>
    [Kernel(LocalSizeX = 16)]
    internal static void FloatProbe(ReadOnlyGlobalBuffer<float> input, GlobalBuffer<float> output, int n)
    {
        int i = WorkItem.GlobalId(0);
        if (i < n)
        {
            float x = input[i];
            float ax = MathF.Abs(x);
            int o = i * FloatOutputs;
            output[o] = MathF.Exp(-ax) + MathF.Sqrt(ax) - MathF.Log(ax + 1f);
            output[o + 1] = MathF.Tanh(x) * MathF.Max(x, Scale) + MathF.Min(x, -Scale);
            output[o + 2] = MathF.Floor(x * 3.5f) + MathF.Ceiling(x) + MathF.Round(x * 2f) + MathF.Truncate(-x);
            output[o + 3] = x % 0.75f + MathF.FusedMultiplyAdd(x, 2f, 1f);
            output[o + 4] = MathF.Sin(x) * MathF.Cos(x) + MathF.Pow(ax, 1.5f) + MathF.Atan2(x, 2f);
            output[o + 5] = x > 0f ? Square(x) : -Square(x) / (1f + ax);
            output[o + 6] = (float)(int)(x * 10f) + (float)i * Scale;
        }
    }

    /// <summary>
    /// MathF.Max and MathF.Min of each pair (a[i], b[i]): NaN when either is NaN and +0 above −0, as C# defines them
    /// (OpenCL's fmax/fmin would return the other operand).
    /// </summary>
    [Kernel(LocalSizeX = 16)]
    internal static void MinMaxProbe(ReadOnlyGlobalBuffer<float> a, ReadOnlyGlobalBuffer<float> b, GlobalBuffer<float> max, GlobalBuffer<float> min, int n)
    {
        int i = WorkItem.GlobalId(0);
        if (i < n)
        {
            max[i] = MathF.Max(a[i], b[i]);
            min[i] = MathF.Min(a[i], b[i]);
        }
    }

    /// <summary>Outputs per work-item of <see cref="FloatProbe"/>.</summary>
    internal const int FloatOutputs = 7;

    /// <summary>Local memory and barriers: reverses each work-group's slice of the input through local memory.</summary>
    [Kernel(LocalSizeX = 8)]
    internal static void LocalReverseProbe(ReadOnlyGlobalBuffer<float> input, GlobalBuffer<float> output, LocalBuffer<float> scratch, int n)
    {
        int i = WorkItem.GlobalId(0);
        int l = WorkItem.LocalId(0);
        int size = WorkItem.LocalSize(0);
        scratch[l] = i < n ? input[i] : 0f;
        WorkItem.Barrier();
        int source = size - 1 - l;
        if (i < n)
        {
            output[i] = scratch[source] + (float)WorkItem.GroupId(0);
        }
    }

    /// <summary>
    /// Half storage only: half buffers and half local memory are read as float and written by rounding a float, so the
    /// program needs no cl_khr_fp16 and runs on every device. Work-item i writes <c>(Half)(x * 0.3f)</c>, the
    /// input widened exactly, and its group neighbour's half read back through local memory.
    /// </summary>
    [Kernel(LocalSizeX = 8)]
    internal static void HalfStorageProbe(ReadOnlyGlobalBuffer<Half> input, GlobalBuffer<Half> scaled, GlobalBuffer<float> widened, GlobalBuffer<Half> mirrored, int n)
    {
        LocalBuffer<Half> tile = LocalMemory.Allocate<Half>(8);
        int i = WorkItem.GlobalId(0);
        int l = WorkItem.LocalId(0);
        tile[l] = i < n ? input[i] : (Half)(-1f);
        WorkItem.Barrier();
        if (i < n)
        {
            float x = (float)input[i];
            widened[i] = x;
            scaled[i] = (Half)(x * 0.3f);
            mirrored[i] = tile[7 - l];
        }
    }

    /// <summary>Half arithmetic: half locals, a half scalar and half operators, so the program needs cl_khr_fp16.</summary>
    [Kernel]
    internal static void HalfArithmeticProbe(ReadOnlyGlobalBuffer<Half> input, GlobalBuffer<Half> output, Half bias, int n)
    {
        int i = WorkItem.GlobalId(0);
        if (i < n)
        {
            Half x = input[i];
            Half y = (x * x) - bias;
            output[i] = y > x ? y : (Half)((float)x * 0.5f);
        }
    }

    /// <summary>
    /// switch statements: on an int with shared labels, negative and constant-expression labels, continue and return
    /// inside sections and a section-local declaration; then on an enum. Writes one int per work-item.
    /// </summary>
    [Kernel(LocalSizeX = 16)]
    internal static void SwitchProbe(ReadOnlyGlobalBuffer<int> input, GlobalBuffer<int> output, int n)
    {
        int i = WorkItem.GlobalId(0);
        if (i >= n)
        {
            return;
        }

        int x = input[i];
        int acc = 0;
        for (int k = 0; k < Rounds; k++)
        {
            switch ((x + k) % 5)
            {
                case 0:
                    acc += 1;
                    break;
                case 1:
                case -1:
                    acc *= 3;
                    continue;
                case Rounds - 2:
                    int t = x * 7;
                    acc -= t + k;
                    break;
                case -4:
                    if (k == 4)
                    {
                        output[i] = -acc;
                        return;
                    }

                    break;
                default:
                    acc ^= x;
                    break;
            }

            acc += 10;
        }

        switch ((ProbeMode)(x & 3))
        {
            case ProbeMode.Twice:
                acc *= 2;
                break;
            case ProbeMode.Negate:
                acc = -acc;
                break;
            default:
                break;
        }

        output[i] = acc;
    }

    private static int Clamp(int value, int low, int high) => Math.Min(Math.Max(value, low), high);

    private static float Square(float v) => Twice(v) * v * Scale;

    private static float Twice(float v)
    {
        return v + v;
    }
}

/// <summary>An enum a <see cref="TranslationProbeKernels.SwitchProbe"/> switch dispatches on.</summary>
internal enum ProbeMode
{
    /// <summary>Leave the value.</summary>
    Keep,

    /// <summary>Double it.</summary>
    Twice,

    /// <summary>Negate it.</summary>
    Negate,
}
