// LocalReverseProbe: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void LocalReverseProbe(__global const float* input, __global float* output, __local float* scratch, int n)
{
    int i = (int)get_global_id(0);
    int l = (int)get_local_id(0);
    int size = (int)get_local_size(0);
    scratch[l] = i < n ? input[i] : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
    int source = size - 1 - l;
    if (i < n)
    {
        output[i] = scratch[source] + (float)(int)get_group_id(0);
    }
}
