// Activate: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
// MathF.Max/Min semantics: NaN when either operand is NaN, +0 above -0 (fmax/fmin would drop the NaN).
float na_max(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? y : x) : fmax(x, y); }
float na_min(float x, float y) { return isnan(x) || isnan(y) ? x + y : x == y ? (signbit(x) ? x : y) : fmin(x, y); }
float ElementwiseKernels_ApplyActivation(float v, int activation)
{
    float result = v;
    if (activation == 1)
    {
        result = 0.5f * v * (1.0f + erf(v * 0.70710677f));
    }
    else if (activation == 2)
    {
        result = 0.5f * v * (1.0f + tanh(0.7978846f * (v + 0.044715f * v * v * v)));
    }
    else if (activation == 3)
    {
        result = na_max(v, 0.0f);
    }
    else if (activation == 4)
    {
        result = tanh(v);
    }
    else if (activation == 5)
    {
        result = 1.0f / (1.0f + exp(-v));
    }
    return result;
}

__kernel void Activate(__global const float* x, __global float* y, int n, int activation)
{
    int i = (int)get_global_id(0);
    if (i < n)
    {
        y[i] = ElementwiseKernels_ApplyActivation(x[i], activation);
    }
}
