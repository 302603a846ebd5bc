// ClsPooling: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void ClsPooling(__global const float* x, __global float* pooled, int sentences, int sequence, int hidden)
{
    int h = (int)get_global_id(0);
    int s = (int)get_global_id(1);
    if (h < hidden && s < sentences)
    {
        pooled[s * hidden + h] = x[s * sequence * hidden + h];
    }
}
