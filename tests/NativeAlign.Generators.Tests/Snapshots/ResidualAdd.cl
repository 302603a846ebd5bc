// ResidualAdd: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void ResidualAdd(__global float* x, __global const float* residual, int n)
{
    int i = (int)get_global_id(0);
    if (i < n)
    {
        x[i] += residual[i];
    }
}
