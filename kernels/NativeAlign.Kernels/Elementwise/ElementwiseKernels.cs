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

    /// <summary><c>y[i] = value</c> for <c>i &lt; n</c> (OpenCL 1.2 buffers start uninitialised).</summary>
    [Kernel(LocalSizeX = 64)]
    public static void Fill(GlobalBuffer<float> y, int n, float value)
    {
        int i = WorkItem.GlobalId(0);
        if (i < n)
        {
            y[i] = value;
        }
    }

    /// <summary>Activation code for the identity (<see cref="Activate"/>, <see cref="BiasActivation"/>).</summary>
    public const int ActivationNone = 0;

    /// <summary>Activation code for exact GELU, x/2 · (1 + erf(x/√2)).</summary>
    public const int ActivationGelu = 1;

    /// <summary>Activation code for the tanh approximation of GELU, x/2 · (1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
    public const int ActivationGeluTanh = 2;

    /// <summary>Activation code for max(x, 0).</summary>
    public const int ActivationRelu = 3;

    /// <summary>Activation code for tanh(x).</summary>
    public const int ActivationTanh = 4;

    /// <summary>Activation code for the logistic sigmoid 1/(1 + e^−x).</summary>
    public const int ActivationSigmoid = 5;

    /// <summary>
    /// <c>y[i] = act(x[i])</c> for <c>i &lt; n</c>, with the activation chosen by code (<see cref="ActivationNone"/> …
    /// <see cref="ActivationSigmoid"/>; an unknown code is the identity, which also makes this the copy kernel).
    /// y may alias x: each element is read before the same work-item writes it.
    /// </summary>
    [Kernel(LocalSizeX = 64)]
    public static void Activate(ReadOnlyGlobalBuffer<float> x, GlobalBuffer<float> y, int n, int activation)
    {
        int i = WorkItem.GlobalId(0);
        if (i < n)
        {
            y[i] = ApplyActivation(x[i], activation);
        }
    }

    /// <summary>
    /// The epilogue of a linear layer, in place over a row-major [rows, columns] product:
    /// <c>y[r, c] = act(y[r, c] + bias[c]) + residual[r, c]</c>, the bias applied when <paramref name="hasBias"/> is
    /// non-zero and the residual when <paramref name="hasResidual"/> is (either buffer may then be any one-element buffer).
    /// </summary>
    /// <param name="y">The product, rows × columns, overwritten.</param>
    /// <param name="bias">Bias, columns.</param>
    /// <param name="residual">Residual, rows × columns.</param>
    /// <param name="rows">Rows of y.</param>
    /// <param name="columns">Columns of y.</param>
    /// <param name="hasBias">Non-zero to add the bias.</param>
    /// <param name="activation">Activation code (<see cref="ActivationNone"/> … <see cref="ActivationSigmoid"/>).</param>
    /// <param name="hasResidual">Non-zero to add the residual after the activation.</param>
    [Kernel(LocalSizeX = 64)]
    public static void BiasActivation(
        GlobalBuffer<float> y, ReadOnlyGlobalBuffer<float> bias, ReadOnlyGlobalBuffer<float> residual, int rows, int columns, int hasBias, int activation, int hasResidual)
    {
        int i = WorkItem.GlobalId(0);
        if (i < rows * columns)
        {
            float v = y[i];
            if (hasBias != 0)
            {
                v += bias[i % columns];
            }

            v = ApplyActivation(v, activation);
            if (hasResidual != 0)
            {
                v += residual[i];
            }

            y[i] = v;
        }
    }

    /// <summary>The activation named by <paramref name="activation"/>; the identity for an unknown code.</summary>
    private static float ApplyActivation(float v, int activation)
    {
        float result = v;
        if (activation == ActivationGelu)
        {
            result = 0.5f * v * (1f + DeviceMath.Erf(v * InverseSqrt2));
        }
        else if (activation == ActivationGeluTanh)
        {
            result = 0.5f * v * (1f + MathF.Tanh(SqrtTwoOverPi * (v + (0.044715f * v * v * v))));
        }
        else if (activation == ActivationRelu)
        {
            result = MathF.Max(v, 0f);
        }
        else if (activation == ActivationTanh)
        {
            result = MathF.Tanh(v);
        }
        else if (activation == ActivationSigmoid)
        {
            result = 1f / (1f + MathF.Exp(-v));
        }

        return result;
    }

    private const float InverseSqrt2 = 0.70710678118654752f;

    private const float SqrtTwoOverPi = 0.79788456080286536f;
}
