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
}
