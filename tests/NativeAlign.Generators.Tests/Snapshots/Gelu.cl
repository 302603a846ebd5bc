// Gelu: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void Gelu(__global const float* x, __global float* y, int n)
{
    int i = (int)get_global_id(0);
    if (i < n)
    {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + erf(v * 0.70710677f));
    }
}
