// VectorAdd: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void VectorAdd(__global const float* a, __global const float* b, __global float* c, int n)
{
    int i = (int)get_global_id(0);
    if (i < n)
    {
        c[i] = a[i] + b[i];
    }
}
