namespace NativeAlign.Kernels.Elementwise;

/// <summary>Element-by-element kernels: one work-item per output element.</summary>
public static partial class ElementwiseKernels
{
    /// <summary><c>c[i] = a[i] + b[i]</c> for <c>i &lt; n</c>; the walking skeleton of the kernel path.</summary>
    [Kernel(LocalSizeX = 64)]
    public static void VectorAdd(ReadOnlyGlobalBuffer<float> a, ReadOnlyGlobalBuffer<float> b, GlobalBuffer<float> c, int n)
    {
        int i = WorkItem.GlobalId(0);
        if (i < n)
        {
            c[i] = a[i] + b[i];
        }
    }

    /// <summary>
    /// Exact GELU, as BERT-family encoders use it: <c>y[i] = x[i]/2 · (1 + erf(x[i]/√2))</c> for <c>i &lt; n</c>.
    /// </summary>
    [Kernel(LocalSizeX = 64)]
    public static void Gelu(ReadOnlyGlobalBuffer<float> x, GlobalBuffer<float> y, int n)
    {
        int i = WorkItem.GlobalId(0);
        if (i < n)
        {
            float v = x[i];
            y[i] = 0.5f * v * (1f + DeviceMath.Erf(v * InverseSqrt2));
        }
    }

    /// <summary>The residual connection, in place: <c>x[i] += residual[i]</c> for <c>i &lt; n</c>.</summary>
    [Kernel(LocalSizeX = 64)]
    public static void ResidualAdd(GlobalBuffer<float> x, ReadOnlyGlobalBuffer<float> residual, int n)
    {
        int i = WorkItem.GlobalId(0);
        if (i < n)
        {
            x[i] += residual[i];
        }
    }

    private const float InverseSqrt2 = 0.70710678118654752f;
}
