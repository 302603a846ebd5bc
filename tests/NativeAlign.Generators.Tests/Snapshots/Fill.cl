// Fill: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void Fill(__global float* y, int n, float value)
{
    int i = (int)get_global_id(0);
    if (i < n)
    {
        y[i] = value;
    }
}
