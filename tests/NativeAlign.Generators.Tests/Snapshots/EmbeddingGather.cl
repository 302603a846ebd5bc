// EmbeddingGather: translated from C# by NativeAlign.Generators; edit the C# kernel, not this text.
__kernel void EmbeddingGather(__global const int* ids, __global const float* table, __global float* y, int tokens, int hidden, int vocabulary)
{
    int h = (int)get_global_id(0);
    int t = (int)get_global_id(1);
    if (h < hidden && t < tokens)
    {
        int id = ids[t];
        y[t * hidden + h] = id >= 0 && id < vocabulary ? table[id * hidden + h] : 0.0f;
    }
}
