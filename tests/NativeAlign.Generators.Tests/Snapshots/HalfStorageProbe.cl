// HalfStorageProbe: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void HalfStorageProbe(__global const half* input, __global half* scaled, __global float* widened, __global half* mirrored, int n)
{
    __local ushort tile_storage[8];
    __local half* tile = (__local half*)tile_storage;
    int i = (int)get_global_id(0);
    int l = (int)get_local_id(0);
    vstore_half(i < n ? vload_half(i, input) : -1.0f, l, tile);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (i < n)
    {
        float x = vload_half(i, input);
        widened[i] = x;
        vstore_half(x * 0.3f, i, scaled);
        vstore_half(vload_half(7 - l, tile), i, mirrored);
    }
}
